#!/usr/bin/env python3
"""Gallery index benchmark: build time and queries per second of the exact numpy search, the exact
FAISS index (IndexFlatIP) and the approximate one (IndexIVFFlat), on generated galleries.

    python -m bench.bench_search                    # quick: 20,000 and 100,000 images, 512-d
    python -m bench.bench_search --full             # 121,286 (MS-COCO train) and 1,000,000 images, 2048-d

Galleries are generated like CNN features (non-negative, clustered) and written as BigFiles in
--workdir (default: a temporary folder), each deleted once measured; queries are gallery vectors
plus noise, like predicted sentence vectors. Every figure is printed as 'name: value unit', one a line:
  <size>_<kind>_build          s         open_gallery: read, normalise, build (and save, for FAISS)
  <size>_<kind>_load           s         open_gallery again: the saved FAISS index loaded
  <size>_<kind>_qps_batch      queries/s --queries queries searched at once, top 10
  <size>_<kind>_qps_single     queries/s one query at a time, top 10
  <size>_<kind>_same_top10     fraction  top-10 id lists equal to numpy's (faiss; _set: as sets)
  <size>_<kind>_max_score_diff cosine    largest difference to numpy's score at the same rank (faiss)
  <size>_<kind>_recall10       fraction  share of numpy's top 10 found (faiss-ivf)
The 1,000,000 x 2048 gallery needs about 23 GiB of free disk (its features and both saved FAISS
indexes, 7.6 GiB each) and 10.2 GiB of memory at its peak (measured on 2026-12-06, --full).
"""
import argparse
import gc
import os
import shutil
import sys
import tempfile
import time

import numpy as np

from w2vv.retrieval.gallery import default_nlist, default_nprobe, open_gallery

QUICK_SIZES, QUICK_DIM = (20_000, 100_000), 512
FULL_SIZES, FULL_DIM = (121_286, 1_000_000), 2048
CHUNK = 16_384


def report(name, value, unit):
    print(f"{name}: {value} {unit}", flush=True)


def make_gallery(folder, n, dim, seed=0, n_concepts=1000):
    """A BigFile of n clustered non-negative vectors, written chunk by chunk (any n fits on disk)."""
    rng = np.random.default_rng(seed)
    centres = np.abs(rng.normal(0, 1, (n_concepts, dim))).astype(np.float32) * (rng.random((n_concepts, dim)) < 0.3)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "feature.bin"), "wb") as f:
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            block = centres[rng.integers(n_concepts, size=m)] + rng.normal(0, 0.5, (m, dim)).astype(np.float32)
            np.maximum(block, 0, out=block).astype("<f4").tofile(f)
    with open(os.path.join(folder, "id.txt"), "w") as f:
        f.write(" ".join(f"img{i:07d}" for i in range(n)))
    with open(os.path.join(folder, "shape.txt"), "w") as f:
        f.write(f"{n} {dim}\n")


def make_queries(folder, n, dim, count, seed=1):
    rng = np.random.default_rng(seed)
    vectors = np.memmap(os.path.join(folder, "feature.bin"), dtype="<f4", mode="r", shape=(n, dim))
    rows = np.sort(rng.choice(n, size=count, replace=False))
    return np.asarray(vectors[rows]) + rng.normal(0, 0.5, (count, dim)).astype(np.float32)


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def bench_size(workdir, n, dim, kinds, n_queries, n_single, nprobe_factors):
    name = f"{n}x{dim}"
    folder = os.path.join(workdir, f"gallery_{name}")
    _, seconds = timed(make_gallery, folder, n, dim)
    report(f"{name}_generate", f"{seconds:.1f}", "s")
    queries = make_queries(folder, n, dim, n_queries)
    exact_ids = exact_scores = None
    for kind in kinds:
        gallery, seconds = timed(open_gallery, folder, kind=kind, save=kind != "numpy", rebuild=True)
        report(f"{name}_{kind}_build", f"{seconds:.2f}", "s")
        if kind != "numpy":
            del gallery
            gc.collect()
            gallery, seconds = timed(open_gallery, folder, kind=kind)
            report(f"{name}_{kind}_load", f"{seconds:.2f}", "s")
        settings = [(None, "")]
        if kind == "faiss-ivf":
            base = default_nprobe(default_nlist(n))
            settings = [(base * f, f"_nprobe{base * f}") for f in nprobe_factors]
            report(f"{name}_{kind}_nlist", default_nlist(n), "clusters")
        for nprobe, suffix in settings:
            if nprobe:
                gallery.index.index.nprobe = nprobe
            gallery.search(queries[:2], 10)  # warm-up
            (scores, ids), seconds = timed(gallery.search, queries, 10)
            report(f"{name}_{kind}{suffix}_qps_batch", f"{len(queries) / seconds:.1f}", "queries/s")
            started = time.perf_counter()
            for q in queries[:n_single]:
                gallery.search(q[None, :], 10)
            report(f"{name}_{kind}{suffix}_qps_single", f"{n_single / (time.perf_counter() - started):.1f}",
                   "queries/s")
            if kind == "numpy":
                exact_ids, exact_scores = ids, scores
            elif exact_ids is not None and kind == "faiss":
                report(f"{name}_{kind}_same_top10", f"{np.mean((ids == exact_ids).all(axis=1)):.3f}", "fraction")
                same_sets = np.mean([set(a) == set(b) for a, b in zip(ids, exact_ids)])
                report(f"{name}_{kind}_same_top10_set", f"{same_sets:.3f}", "fraction")
                # where the lists differ, only by the order of (near) ties: the scores rank by rank agree
                report(f"{name}_{kind}_max_score_diff", f"{np.abs(scores - exact_scores).max():.1e}", "cosine")
            elif exact_ids is not None:
                recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, exact_ids)])
                report(f"{name}_{kind}{suffix}_recall10", f"{recall:.3f}", "fraction")
        del gallery
        gc.collect()
    index_dir = os.path.join(folder, "search_index")
    if os.path.isdir(index_dir):
        for entry in sorted(os.listdir(index_dir)):
            if entry.endswith(".index"):
                size = os.path.getsize(os.path.join(index_dir, entry))
                report(f"{name}_{entry[len('all.'):-len('.index')]}_index_file", f"{size / 2**20:.0f}", "MiB")
    shutil.rmtree(folder)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="121,286 and 1,000,000 images of 2048-d")
    p.add_argument("--sizes", default=None, help="comma-separated gallery sizes (default: quick or --full)")
    p.add_argument("--dim", type=int, default=None, help="vector dimension (512 quick, 2048 --full)")
    p.add_argument("--kinds", default="numpy,faiss,faiss-ivf", help="index kinds, comma-separated")
    p.add_argument("--queries", type=int, default=100, help="queries of the batch figure (100)")
    p.add_argument("--single", type=int, default=20, help="queries of the one-at-a-time figure (20)")
    p.add_argument("--nprobe_factors", default="1,4", help="faiss-ivf: nprobe as multiples of nlist/16")
    p.add_argument("--workdir", default=None, help="where the galleries are written (default: a temporary folder)")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(FULL_SIZES if args.full else QUICK_SIZES)
    dim = args.dim or (FULL_DIM if args.full else QUICK_DIM)
    kinds = args.kinds.split(",")
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench_search_")
    report("machine_cores", os.cpu_count(), "cores")
    try:
        for n in sizes:
            bench_size(workdir, n, dim, kinds, min(args.queries, n), min(args.single, n),
                       [int(f) for f in args.nprobe_factors.split(",")])
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
