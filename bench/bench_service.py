#!/usr/bin/env python3
"""Search service benchmark: serve.py on the demo root (make demo) with its Chinese and English
models, on the demo gallery (1,770 images) and on a generated gallery of 121,286 images, loaded by
keep-alive clients on loopback; optionally beside another checkout's serve.py (today's code) on
exactly the same data, one after the other, in the same run.

    python -m bench.bench_service                                   # demo root, sizes demo,121286
    python -m bench.bench_service --compare /path/to/old/checkout   # both, side by side
    python -m bench.bench_service --sizes demo --clients 1,8 --requests 100

The 121,286-image gallery is a collection of the demo root (bench_gallery121286, removed at the
end): the 1,770 demo images' features, then generated rows near them (the English sentences still
describe the demo images, so the default CLM route runs). Clients are threads of this process,
each with its own keep-alive connection (``--client``: the standard library's http.client, by
default, or httpx.Client, which costs the benchmark itself 0.6-1.2 ms more CPU a request, taken
from the cores it shares with the service), sending Chinese queries in turn (top 10, the default
route) after one warm-up request each. Every figure is 'name: value unit', the name
<label>_<size>_...; label 'new' is this checkout, 'old' the --compare one:
  _ready_s                  s          started until /api/health answers 200 (models loaded, warm)
  _rss_mb / _peak_rss_mb    MB         resident memory when ready / its peak
  _health_keepalive_p50     ms         /api/health on one kept-alive connection (Nagle's delay shows here)
  _c<n>_p50 / _p95          ms         one search as a client sees it, n clients at once
  _c<n>_qps                 queries/s  all clients together
  _c<n>_errors              requests   answered other than 200 (or not at all)
  _under_load_health_p95 / _under_load_image_p95  ms  /api/health and /images/<id> while the most clients search
  new_<size>_threads<t>_c8_qps  queries/s  this checkout with --search_threads t (--threads)
"""
import argparse
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode, urlsplit

import numpy as np

from w2vv import layout
from w2vv.bigfile import BigFile, write_bigfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

QUERIES = ["一只狗在草地上跑", "一架飞机在天空中飞", "海滩上有一只风筝", "一头大象在田野里", "一只猫在房间里",
           "一辆公共汽车在街上", "两个人在海滩上", "一只红色的鸟", "桌子上有一个披萨", "一匹马在田野里"]
CONFIG = "w2vv_attention_ctl"


def report(name, value, unit):
    print(f"{name}: {value} {unit}", flush=True)


def demo_models(root):
    """The demo's Chinese and English checkpoint folders of CONFIG."""
    found = []
    for train, val in (("cococntrain", "cococnval"), ("mscoco2014dev-train", "mscoco2014dev-val")):
        parent = os.path.join(root, train, "cv_keras", val, layout.TRAIN_STYLE)
        runs = sorted(n for n in os.listdir(parent) if n.startswith(CONFIG)) if os.path.isdir(parent) else []
        if not runs:
            print(f"# skipped: {parent} has no {CONFIG} run (make demo first)")
            sys.exit(0)
        found.append(os.path.join(parent, runs[0]))
    return found


def make_big_gallery(root, feature, size):
    """A collection of ``size`` images: the demo's features, then generated rows near them."""
    collection = f"bench_gallery{size}"
    folder = layout.feature_dir(root, feature, collection)
    if os.path.isfile(os.path.join(folder, "shape.txt")):
        return collection
    demo = BigFile(layout.feature_dir(root, feature))
    ids = list(demo.names)
    base = np.asarray(demo.read_rows(np.arange(len(ids))), np.float32)
    rng = np.random.default_rng(0)
    extra = size - len(ids)
    rows = base[rng.integers(len(ids), size=extra)]
    rows = np.maximum(rows + rng.normal(0, 0.3 * float(base.std()), rows.shape).astype(np.float32), 0)
    write_bigfile(folder, ids + [f"bench{i:07d}" for i in range(extra)], np.concatenate([base, rows]))
    from w2vv.retrieval.gallery import open_gallery
    open_gallery(folder)  # FAISS from 100,000 images: the index built and saved now, not in a server's start
    return collection


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StdlibClient:
    """One keep-alive connection (http.client): ``get(path, params)`` answers the status; an error
    raises ``OSError`` or ``http.client.HTTPException``, and the next request connects again."""
    errors = (OSError, http.client.HTTPException)

    def __init__(self, base, timeout=120):
        address = urlsplit(base)
        self.connection = http.client.HTTPConnection(address.hostname, address.port, timeout=timeout)

    def get(self, path, params=None):
        try:
            self.connection.request("GET", path + (f"?{urlencode(params)}" if params else ""))
            response = self.connection.getresponse()
            response.read()
            return response.status
        except self.errors:
            self.connection.close()
            raise

    def close(self):
        self.connection.close()


class HttpxClient:
    """The same over httpx.Client (what the benchmark used before ``--client``)."""

    def __init__(self, base):
        import httpx
        self.errors = (httpx.HTTPError,)
        self.session = httpx.Client(base_url=base, timeout=120)

    def get(self, path, params=None):
        return self.session.get(path, params=params).status_code

    def close(self):
        self.session.close()


CLIENTS = {"http.client": StdlibClient, "httpx": HttpxClient}


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        text = f.read()
    return (int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024,
            int(re.search(r"VmHWM:\s+(\d+)", text).group(1)) / 1024)


class Server:
    def __init__(self, checkout, models, collection, log, extra=()):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, os.path.join(checkout, "serve.py")]
        for model in models:
            args += ["--model_path", model]
        if collection:
            args += ["--collection", collection]
        started = time.perf_counter()
        self.process = subprocess.Popen(args + ["--port", str(self.port), *extra], cwd=checkout, stdout=log,
                                        stderr=subprocess.STDOUT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        while True:
            if self.process.poll() is not None:
                sys.exit(f"serve.py exited (see {log.name})")
            probe = StdlibClient(self.base, timeout=5)
            try:
                if probe.get("/api/health") == 200:
                    break
            except probe.errors:
                pass
            finally:
                probe.close()
            time.sleep(0.05)
        self.ready_s = time.perf_counter() - started

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)


def load(base, n_clients, n_requests, side=None, http=StdlibClient):
    """(latencies of searches (s), errors, wall time, side latencies {name: [s]}) of n_requests
    searches split over n_clients threads, each with an ``http`` connection; ``side``: {name: path}
    requested in a loop meanwhile."""
    latencies, errors, side_times = [], [0], {name: [] for name in side or {}}
    lock = threading.Lock()
    done = threading.Event()

    def client(c):
        session = http(base)
        try:
            session.get("/api/search", dict(q=QUERIES[c % len(QUERIES)], k=10))
            barrier.wait()
            for i in range(c, n_requests, n_clients):
                t0 = time.perf_counter()
                try:
                    ok = session.get("/api/search", dict(q=QUERIES[i % len(QUERIES)], k=10)) == 200
                except session.errors:
                    ok = False
                elapsed = time.perf_counter() - t0
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors[0] += 1
        finally:
            session.close()

    def prober(name, path):
        session = http(base)
        barrier.wait()
        while not done.is_set():
            t0 = time.perf_counter()
            session.get(path)
            side_times[name].append(time.perf_counter() - t0)
            time.sleep(0.02)
        session.close()

    probes = [threading.Thread(target=prober, args=item) for item in (side or {}).items()]
    barrier = threading.Barrier(n_clients + len(probes) + 1)
    threads = [threading.Thread(target=client, args=(c,)) for c in range(n_clients)]
    for t in threads + probes:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    done.set()
    for t in probes:
        t.join()
    return np.array(latencies), errors[0], wall, side_times


def keepalive_health(base, http, n=50):
    session = http(base)
    session.get("/api/health")
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        session.get("/api/health")
        times.append(time.perf_counter() - t0)
    session.close()
    return float(np.median(times))


def ms(seconds):
    return f"{1000 * seconds:.1f}"


def measure(label, server, size, clients, n_requests, picture_id, http):
    name = f"{label}_{size}"
    report(f"{name}_ready_s", f"{server.ready_s:.1f}", "s")
    rss, peak = rss_mb(server.process.pid)
    report(f"{name}_rss_mb", f"{rss:.0f}", "MB")
    report(f"{name}_peak_rss_mb", f"{peak:.0f}", "MB")
    report(f"{name}_health_keepalive_p50", ms(keepalive_health(server.base, http)), "ms")
    for n in clients:
        side = {"health": "/api/health", "image": f"/images/{picture_id}"} if n == max(clients) else None
        latencies, errors, wall, side_times = load(server.base, n, max(n_requests, 4 * n), side, http)
        report(f"{name}_c{n}_p50", ms(np.percentile(latencies, 50)) if len(latencies) else "-", "ms")
        report(f"{name}_c{n}_p95", ms(np.percentile(latencies, 95)) if len(latencies) else "-", "ms")
        report(f"{name}_c{n}_qps", f"{len(latencies) / wall:.1f}", "queries/s")
        report(f"{name}_c{n}_errors", errors, "requests")
        for what, times in side_times.items():
            report(f"{name}_under_load_{what}_p95", ms(np.percentile(times, 95)) if times else "-", "ms")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=os.path.join(REPO, "demo_root"), help="the demo root (make demo)")
    p.add_argument("--sizes", default="demo,121286", help="galleries: 'demo' (1,770 images) and/or a size")
    p.add_argument("--clients", default="1,8,32", help="concurrent clients")
    p.add_argument("--requests", type=int, default=1000,
                   help="searches per measurement (at 32 clients 1,000 last a few seconds: enough for a stable p95)")
    p.add_argument("--threads", default="1,2,4", help="--search_threads of this checkout, 8 clients, demo gallery "
                                                      "('' : skip)")
    p.add_argument("--compare", default=None, help="another checkout whose serve.py is measured the same way")
    p.add_argument("--client", choices=CLIENTS, default="http.client", help="the clients' HTTP library")
    p.add_argument("--keep", action="store_true", help="keep the generated gallery")
    args = p.parse_args()
    root = os.path.abspath(args.root)
    models = demo_models(root)
    from w2vv.checkpoint import load_model_config
    feature = load_model_config(models[0])[0].img_feature
    clients = [int(c) for c in args.clients.split(",")]
    checkouts = [("new", REPO)] + ([("old", os.path.abspath(args.compare))] if args.compare else [])
    picture_id = next(f[:-4] for f in sorted(os.listdir(layout.image_dir(root, "cococntest"))) if f.endswith(".jpg"))
    http = CLIENTS[args.client]
    report("machine_cores", os.cpu_count(), "cores")
    report("client", args.client, "")
    report("load_average_start", f"{os.getloadavg()[0]:.2f}", "")
    made = []
    log_path = os.path.join(REPO, "bench_out", "bench_service.log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    try:
        with open(log_path, "a") as log:
            for size in args.sizes.split(","):
                collection = None
                if size != "demo":
                    print(f"# generating a gallery of {size} images ...", flush=True)
                    collection = make_big_gallery(root, feature, int(size))
                    made.append(collection)
                for label, checkout in checkouts:
                    print(f"# {label}: {checkout}, gallery {size}", flush=True)
                    server = Server(checkout, models, collection, log)
                    try:
                        measure(label, server, size, clients, args.requests, picture_id, http)
                    finally:
                        server.stop()
                if size == "demo":
                    for threads in [int(t) for t in args.threads.split(",") if t]:
                        server = Server(REPO, models, None, log, ["--search_threads", str(threads)])
                        try:
                            latencies, errors, wall, _ = load(server.base, 8, args.requests, http=http)
                            report(f"new_demo_threads{threads}_c8_qps", f"{len(latencies) / wall:.1f}", "queries/s")
                        finally:
                            server.stop()
    finally:
        report("load_average_end", f"{os.getloadavg()[0]:.2f}", "")
        if not args.keep:
            for collection in made:
                shutil.rmtree(layout.collection_dir(root, collection), ignore_errors=True)


if __name__ == "__main__":
    main()
