#!/usr/bin/env python3
"""Search service benchmark: latency (p50, p95) and queries/s of GET /api/search on loopback, with 1
and 8 concurrent clients, for generated galleries of 1,000 and 121,286 images (2048-d).

    python -m bench.bench_service                       # sizes 1000,121286; clients 1,8
    python -m bench.bench_service --sizes 1000 --requests 100

A small Chinese model is trained on the demo data (tools/make_demo_data.py, 2048-d features,
n_layers 0-64-feat); each gallery is a collection of the same root whose features are generated
like CNN features (bench_search.make_gallery). serve.py runs in its own process (--collection),
and the clients are threads of this one, each with its own keep-alive connection, sending Chinese
queries in turn (top 10). Every figure is printed as 'name: value unit':
  service_<size>_c<clients>_p50 / _p95   ms         latency of one request, as a client sees it
  service_<size>_c<clients>_qps          queries/s  requests answered per second, all clients together
  service_<size>_startup                 s          serve.py started until /api/health answers
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from bench.bench_search import make_gallery, report

from w2vv import layout
from w2vv.runs import configured_run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIG, ZH = "w2vv_attention_ctl", ("cococntrain", "cococnval", "cococntest")
QUERIES = ["一只狗在草地上跑", "一架飞机在天空中飞", "海滩上有一只风筝", "一头大象在田野里", "一只猫在房间里",
           "一辆公共汽车在街上", "两个人在海滩上", "一只红色的鸟", "桌子上有一个披萨", "一匹马在田野里"]


def run(args, log):
    done = subprocess.run([sys.executable, *args], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if done.returncode:
        sys.exit(f"{args[0]} failed (see {log.name})")


def train_small_model(root, log):
    from tools.make_demo_data import FEATURE, make_demo_root
    make_demo_root(root, seed=0, scale=0.1, feature_dim=2048, verbose=False)
    run(["build_vocab.py", ZH[0], "--rootpath", root], log)
    run(["trainer.py", *ZH, "--rootpath", root, "--config", CONFIG, "--seed", "0", "--max_epochs", "1",
         "--batch_size", "16", "--config_overrides", "lstm_size=64,n_layers=0-64-feat"], log)
    run_name = configured_run(CONFIG, {"lstm_size": "64", "n_layers": "0-64-feat", "max_epochs": "1",
                                       "batch_size": "16"})[1]
    return layout.checkpoint_dir(root, ZH[0], ZH[1], run_name), FEATURE


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model, collection, log):
    import httpx
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "serve.py", "--model_path", model, "--collection", collection,
                                "--port", str(port)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    base = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            sys.exit(f"serve.py exited (see {log.name})")
        try:
            if httpx.get(base + "/api/health", timeout=5).status_code == 200:
                return process, base, time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.3)


def load_clients(base, n_clients, n_requests):
    """Latencies (s) of n_requests split over n_clients threads, and the wall time of it all."""
    import httpx
    latencies, errors = [], []
    lock = threading.Lock()

    def client(c):
        with httpx.Client(base_url=base, timeout=120) as session:
            session.get("/api/search", params=dict(q=QUERIES[c % len(QUERIES)], k=10))  # connect, warm up
            barrier.wait()
            for i in range(c, n_requests, n_clients):
                t0 = time.perf_counter()
                response = session.get("/api/search", params=dict(q=QUERIES[i % len(QUERIES)], k=10))
                elapsed = time.perf_counter() - t0
                with lock:
                    (latencies if response.status_code == 200 else errors).append(elapsed)

    barrier = threading.Barrier(n_clients + 1)
    threads = [threading.Thread(target=client, args=(c,)) for c in range(n_clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        sys.exit(f"{len(errors)} requests failed")
    return np.array(latencies), time.perf_counter() - started


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1000,121286", help="gallery sizes (images)")
    p.add_argument("--clients", default="1,8", help="concurrent clients")
    p.add_argument("--requests", type=int, default=200, help="requests per measurement")
    p.add_argument("--workdir", default=None, help="where to generate the data (default: a temporary folder)")
    p.add_argument("--keep", action="store_true", help="keep the generated data")
    args = p.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench_service_")
    root = os.path.join(workdir, "VisualSearch")
    report("machine_cores", os.cpu_count(), "cores")
    report("load_average_start", os.getloadavg()[0], "")
    try:
        with open(os.path.join(workdir, "bench_service.log"), "a") as log:
            print("# training a small model on the demo data ...", flush=True)
            model, feature = train_small_model(root, log)
            for size in (int(s) for s in args.sizes.split(",")):
                collection = f"gallery{size}"
                print(f"# generating {size} x 2048 features ...", flush=True)
                make_gallery(layout.feature_dir(root, feature, collection), size, 2048)
                process, base, seconds = start_server(model, collection, log)
                report(f"service_{size}_startup", f"{seconds:.1f}", "s")
                try:
                    for clients in (int(c) for c in args.clients.split(",")):
                        latencies, wall = load_clients(base, clients, args.requests)
                        name = f"service_{size}_c{clients}"
                        report(f"{name}_p50", f"{1000 * np.percentile(latencies, 50):.1f}", "ms")
                        report(f"{name}_p95", f"{1000 * np.percentile(latencies, 95):.1f}", "ms")
                        report(f"{name}_qps", f"{len(latencies) / wall:.1f}", "queries/s")
                finally:
                    process.terminate()
                    process.wait(timeout=60)
                shutil.rmtree(layout.collection_dir(root, collection))
    finally:
        report("load_average_end", os.getloadavg()[0], "")
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
