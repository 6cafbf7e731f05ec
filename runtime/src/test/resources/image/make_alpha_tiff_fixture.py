"""TIFFs with an unassociated alpha channel (what Pillow writes for RGBA / LA images) and what transformers'
load_image makes of them (Pillow: alpha dropped by convert("RGB"), no compositing),
for ImageTest.decodesAsPillowWhereOpenCvDiffers. OpenCV's TIFF decoding goes through libtiff's RGBA interface, which
premultiplies such colours by their alpha.

Run from this folder:  /usr/bin/python3 make_alpha_tiff_fixture.py   (Pillow 9.4, Debian python3-pil)"""
import numpy as np
from PIL import Image

rng = np.random.default_rng(7)
rgba = rng.integers(0, 256, (9, 13, 4)).astype(np.uint8)
rgba[0, :, 3] = 0      # a fully transparent row
rgba[1, :, 3] = 255    # and an opaque one
cases = {
    "alpha_rgba.tiff": (Image.fromarray(rgba, "RGBA"), dict()),
    "alpha_rgba_lzw.tiff": (Image.fromarray(rgba, "RGBA"), dict(compression="tiff_lzw")),
    "alpha_la.tiff": (Image.fromarray(rgba[:, :, [0, 3]].copy(), "LA"), dict()),
}
for name, (img, kw) in cases.items():
    img.save(name, **kw)
    ref = np.asarray(Image.open(name).convert("RGB"))
    np.save(name.replace(".tiff", "_rgb.npy"), ref.astype(np.int32))
    print(name, ref.shape)
