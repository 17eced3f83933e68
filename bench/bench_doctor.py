#!/usr/bin/env python3
"""How long the doctor (check_root.py) takes on a root of the paper's size.

    python -m bench.bench_doctor            # the paper's collections and BigFiles; Chinese word2vec 200,000 words
    python -m bench.bench_doctor --full     # Chinese word2vec 1,000,000 words (2 GB of .npy)

Generates, in --workdir (deleted afterwards unless --keep), a root with the published counts:
the six collections (121,286 images / 606,757 sentences, 18,341 / 20,021, 1,000 / 1,000 each),
the feature BigFile of all images (2048-d) and the English word2vec BigFile (1,700,000 words,
500-d) -- their feature.bin are sparse files of the right size, which is all the doctor looks at
-- and a Chinese gensim KeyedVectors model (500-d, random vectors, arrays saved beside it as
large models are). Then runs check_root.py in a fresh process, --repeats times, and prints
  doctor_s        s   wall time of check_root.py (median), including Python's start and imports
  doctor_status   -   its exit status (0: the root passed)
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from w2vv import layout

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EN_WORDS = 1_700_000
DIM_FEATURE, DIM_W2V = 2048, 500


def report(name, value, unit):
    print(f"{name}: {value} {unit}", flush=True)


def write_lines(path, lines):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def sparse_bigfile(folder, ids, dim):
    os.makedirs(folder, exist_ok=True)
    write_lines(os.path.join(folder, "id.txt"), [" ".join(ids)])
    write_lines(os.path.join(folder, "shape.txt"), [f"{len(ids)} {dim}"])
    with open(os.path.join(folder, "feature.bin"), "wb") as f:
        f.truncate(len(ids) * dim * 4)


def make_root(root, zh_words, rng):
    train = [f"COCO_train2014_{i:012d}" for i in range(121_286)]
    val = [f"COCO_val2014_{i:012d}" for i in range(1_000)]
    test = [f"COCO_val2014_{i:012d}" for i in range(1_000, 2_000)]
    zh_train = sorted(rng.choice(train, 18_341, replace=False).tolist())
    plan = {"mscoco2014dev-train": (train, 606_757, "a dog runs on the grass ."),
            "mscoco2014dev-val": (val, 1_000, "a dog runs on the grass ."),
            "mscoco2014dev-test": (test, 1_000, "a dog runs on the grass ."),
            "cococntrain": (zh_train, 20_021, "一只 狗 在 草地 上 跑"),
            "cococnval": (val, 1_000, "一只 狗 在 草地 上 跑"),
            "cococntest": (test, 1_000, "一只 狗 在 草地 上 跑")}
    for coll, (images, n_sentences, sentence) in plan.items():
        write_lines(layout.imageset_file(root, coll), images)
        owners = [images[i % len(images)] for i in range(n_sentences)]
        write_lines(layout.caption_file(root, coll), [f"{img}#{k} {sentence}" for k, img in enumerate(owners)])
    sparse_bigfile(layout.feature_dir(root, layout.PAPER_FEATURE), train + val + test, DIM_FEATURE)
    sparse_bigfile(layout.en_word2vec_dir(root), [f"w{i:07d}" for i in range(EN_WORDS)], DIM_W2V)
    from gensim.models import KeyedVectors
    kv = KeyedVectors(DIM_W2V, count=zh_words)
    kv.add_vectors([f"词{i}" for i in range(zh_words)], rng.normal(0, 0.1, (zh_words, DIM_W2V)).astype(np.float32))
    os.makedirs(os.path.dirname(layout.zh_word2vec_file(root)), exist_ok=True)
    kv.save(layout.zh_word2vec_file(root))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="a Chinese word2vec of 1,000,000 words")
    p.add_argument("--zh_words", type=int, default=None, help="Chinese word2vec size (200,000; --full 1,000,000)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workdir", default=None, help="where to generate the root (a temporary folder)")
    p.add_argument("--keep", action="store_true", help="keep the generated root")
    args = p.parse_args()
    zh_words = args.zh_words or (1_000_000 if args.full else 200_000)
    work = args.workdir or tempfile.mkdtemp(prefix="bench_doctor.")
    root = os.path.join(work, "VisualSearch")
    try:
        print(f"# generating {root} (Chinese word2vec: {zh_words:,} words)", flush=True)
        t0 = time.time()
        make_root(root, zh_words, np.random.default_rng(0))
        print(f"# generated in {time.time() - t0:.1f} s", flush=True)
        times, status = [], None
        for _ in range(args.repeats):
            t0 = time.time()
            result = subprocess.run([sys.executable, os.path.join(REPO, "check_root.py"), "--rootpath", root,
                                     "--config", "w2vv_attention_ctl"], capture_output=True, text=True)
            times.append(time.time() - t0)
            status = result.returncode
        print("# " + result.stdout.replace("\n", "\n# ").rstrip("# "), flush=True)
        report("doctor_s", f"{np.median(times):.2f}", "s")
        report("doctor_status", status, "-")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
