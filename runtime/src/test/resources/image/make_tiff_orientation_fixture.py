"""Gray + alpha TIFFs with each Orientation tag 2..8 (alpha_la_o<N>.tiff) and what transformers' load_image gives for
them (alpha_la_o<N>_rgb.npy: Pillow's exif_transpose, then convert("RGB")), for
ImageTest.alphaTiffsAreTurnedUprightAsLoadImage. (RGBA TIFFs with an Orientation tag come out of Pillow scrambled, not
turned, so they are not used here.)

Run from this folder with a Python that has transformers and a current Pillow (Debian's Pillow 9.4 applies a TIFF's
orientation twice):  python make_tiff_orientation_fixture.py"""
import numpy as np
from PIL import Image
from transformers.image_utils import load_image

rng = np.random.default_rng(274)
la = rng.integers(0, 256, (5, 7, 2)).astype(np.uint8)
la[..., 1] = rng.integers(0, 256, (5, 7))
for o in range(2, 9):
    name = "alpha_la_o%d.tiff" % o
    Image.fromarray(la, "LA").save(name, tiffinfo={274: o})
    np.save(name.replace(".tiff", "_rgb.npy"), np.asarray(load_image(name)).astype(np.int32))
