"""Pillow's NEAREST resize source indices for a few (in, out) lengths, for ImageEdgeCasesTest.

Run from this folder:  /usr/bin/python3 make_nearest_fixture.py   (Pillow 9.4, Debian python3-pil)
Each entry: in, out, and the source index of each output pixel (a 1-row image of values 0..in-1 resized)."""
import json
import numpy as np
from PIL import Image

PAIRS = [(64, 96), (47, 96), (90, 183), (3, 7), (100, 30), (7, 3), (61, 130), (50, 96), (224, 336), (33, 102)]
out = []
for n_in, n_out in PAIRS:
    row = Image.fromarray(np.arange(n_in, dtype=np.uint8)[None, :])
    idx = np.asarray(row.resize((n_out, 1), Image.NEAREST))[0]
    out.append({"in": n_in, "out": n_out, "index": [int(i) for i in idx]})
json.dump(out, open("nearest_index.json", "w"))
