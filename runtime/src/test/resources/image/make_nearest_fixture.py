"""Pillow NEAREST resize source indices for a few (in, out) lengths (nearest_index.json), and every Pillow filter
on one small plane (resample_cases.json), for ImageEdgeCasesTest.

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

# every Pillow filter (0 nearest .. 5 hamming) on one random 8-bit 13x17 plane, down- and upscaled
rng = np.random.default_rng(3)
plane = rng.integers(0, 256, (13, 17)).astype(np.uint8)
cases = []
for resample in range(6):
    for h, w in [(7, 11), (29, 23), (13, 5), (4, 40)]:
        outp = np.asarray(Image.fromarray(plane).resize((w, h), resample))
        cases.append({"resample": resample, "height": h, "width": w, "out": outp.astype(int).tolist()})
json.dump({"plane": plane.astype(int).tolist(), "cases": cases}, open("resample_cases.json", "w"))

# three more planes: hamming_plane.png holds side by side the three channels (45 rows x 31 columns each, 8-bit) of
# a synthetic test image from an audit sweep, where Pillow's hamming window with the float constants 0.54f / 0.46f
# moves the rounding of a few 22-bit coefficients of the 31x45 -> 28x28 resize against the double 0.54 / 0.46
three = np.asarray(Image.open("hamming_plane.png"))
sets = []
for k in range(3):
    plane = np.ascontiguousarray(three[:, 31 * k:31 * (k + 1)])
    cases = []
    for resample in range(6):
        for h, w in [(28, 28), (20, 13), (64, 40)]:
            outp = np.asarray(Image.fromarray(plane).resize((w, h), resample))
            cases.append({"resample": resample, "height": h, "width": w, "out": outp.astype(int).tolist()})
    sets.append({"plane": plane.astype(int).tolist(), "cases": cases})
json.dump(sets, open("resample_cases_45.json", "w"))
