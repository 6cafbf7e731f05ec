#!/usr/bin/python3
"""CPU peer of ImagePreprocessBench: decode a JPEG and preprocess it as transformers' CLIPImageProcessor does with
Pillow (Debian python3-pil): convert("RGB"), resize the shortest edge to 224 with bicubic (Image.resize, the size
rounded as transformers' get_resize_output_image_size does), centre crop 224 (top = (h - 224) // 2), float32
x / 255, (x - mean) / std with CLIP's mean and std, HWC -> CHW. Timed in-process, one image at a time.

  /usr/bin/python3 bench/python/image_preprocess_peer.py --make DIR      writes the bench's JPEGs into DIR
  /usr/bin/python3 bench/python/image_preprocess_peer.py --time FILE [--reps 15]
prints one JSON object: best and median milliseconds per image.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import PIL
from PIL import Image

SIZES = [(640, 480), (1600, 1200), (4000, 3000)]
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def make(d):
    """Photo-like JPEGs (a smooth random colour field with fine noise, quality 90), one per size, seeded."""
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(1234)
    for w, h in SIZES:
        low = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
        field = np.asarray(low.resize((w, h), Image.BICUBIC), dtype=np.int16)
        noise = rng.integers(-12, 13, (h, w, 3), dtype=np.int16)
        img = Image.fromarray(np.clip(field + noise, 0, 255).astype(np.uint8))
        img.save(os.path.join(d, "photo_%dx%d.jpg" % (w, h)), quality=90)


def preprocess(path):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    short, long_ = (w, h) if w <= h else (h, w)
    new_short, new_long = 224, int(224 * long_ / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    img = img.resize((nw, nh), Image.BICUBIC)
    x = np.asarray(img)
    top, left = (nh - 224) // 2, (nw - 224) // 2
    x = x[top:top + 224, left:left + 224]
    x = x.astype(np.float32) * np.float32(1 / 255)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make")
    ap.add_argument("--time")
    ap.add_argument("--reps", type=int, default=15)
    a = ap.parse_args()
    if a.make:
        make(a.make)
        return
    for _ in range(3):
        out = preprocess(a.time)
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        out = preprocess(a.time)
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"peer": "Pillow decode + CLIPImageProcessor steps (bicubic shortest edge 224, crop, normalise)",
                      "pillow": PIL.__version__, "numpy": np.__version__, "shape": list(out.shape),
                      "best_ms": min(times), "median_ms": statistics.median(times), "reps": a.reps}))


if __name__ == "__main__":
    main()
