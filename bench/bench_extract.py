#!/usr/bin/env python3
"""Feature extraction benchmark: images/s of extract_features (w2vv.features) on generated photos.

    python -m bench.bench_extract                                   # resnet152 and mobilenetv3small, 128 images
    python -m bench.bench_extract --cnns resnet50 --images 256 --batch_size 16

The photos are generated JPEGs of 640x480 (smooth colour fields with noise, about the size of an
MS-COCO image), so decoding, resizing and thumbnailing cost what they cost for real photos. The
networks run with random weights (--weights none): the same computation as the ImageNet weights,
without a download. One warm-up run on a few images builds the network first; the timed run is
the whole of extract_features (reading, thumbnails, CNN, chunks, BigFile). Printed as
'name: value unit':
  extract_<cnn>_images_per_s   images/s   images of the timed run / its wall time
"""
import argparse
import os
import shutil
import tempfile
import time

import numpy as np

from w2vv.features import extract_features


def report(name, value, unit):
    print(f"{name}: {value} {unit}", flush=True)


def make_photos(folder, n, seed=0):
    from PIL import Image
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    for i in range(n):
        a, b, c = rng.random(3) * 0.05
        field = np.stack([np.sin(a * x + b * y), np.cos(b * x - c * y), np.sin(c * x + a * y + i)], axis=-1)
        pixels = 127.5 * (field + 1) + rng.normal(0, 12, field.shape)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(os.path.join(folder, f"photo{i:05d}.jpg"),
                                                                       quality=90)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cnns", default="resnet152,mobilenetv3small", help="networks of keras.applications")
    p.add_argument("--images", type=int, default=128, help="photos in the timed run")
    p.add_argument("--batch_size", type=int, default=32)
    args = p.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    workdir = tempfile.mkdtemp(prefix="bench_extract_")
    try:
        report("machine_cores", os.cpu_count(), "cores")
        report("load_average_start", os.getloadavg()[0], "")
        make_photos(os.path.join(workdir, "photos"), args.images)
        make_photos(os.path.join(workdir, "warmup"), 4, seed=1)
        for cnn in args.cnns.split(","):
            def run(photos, collection):
                return extract_features(os.path.join(workdir, photos), os.path.join(workdir, "root"), collection,
                                        cnn=cnn, weights="none", batch_size=args.batch_size, progress=False,
                                        log=lambda message: None)
            run("warmup", f"warmup_{cnn}")
            started = time.perf_counter()
            summary = run("photos", f"photos_{cnn}")
            seconds = time.perf_counter() - started
            report(f"extract_{cnn}_images_per_s", f"{summary['images'] / seconds:.1f}", "images/s")
        report("load_average_end", os.getloadavg()[0], "")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
