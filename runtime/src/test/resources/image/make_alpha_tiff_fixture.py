"""TIFFs with an unassociated alpha channel (what Pillow writes for RGBA / LA images) and what transformers'
load_image makes of them (Pillow: alpha dropped by convert("RGB"), no compositing),
for ImageTest.decodesAsPillowWhereOpenCvDiffers. OpenCV's TIFF decoding goes through libtiff's RGBA interface, which
premultiplies such colours by their alpha.

Then RGBA TIFFs with an associated (premultiplied) alpha: Pillow does not write them, so Pillow's RGBA files with their
ExtraSamples value patched from 2 to 1 (alpha_rgba_assoc*.tiff; raw and LZW). Pillow reads them as
"RGBa" and divides each colour back by alpha; OpenCV keeps the premultiplied colours.

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


def associated(src, dst):
    """src with its first IFD's ExtraSamples (tag 338) value 2 (unassociated) changed to 1 (associated)."""
    b = bytearray(open(src, "rb").read())
    assert b[:2] == b"II"
    ifd = int.from_bytes(b[4:8], "little")
    for k in range(int.from_bytes(b[ifd:ifd + 2], "little")):
        e = ifd + 2 + 12 * k
        if int.from_bytes(b[e:e + 2], "little") == 338:
            assert b[e + 8] == 2
            b[e + 8] = 1
            open(dst, "wb").write(bytes(b))
            return
    raise ValueError("no ExtraSamples in " + src)


rgba[2, :4, 3] = [1, 2, 128, 254]  # alphas where the division clips, rounds down, or nearly keeps the colour
Image.fromarray(rgba, "RGBA").save("alpha_rgba_assoc.tiff")
associated("alpha_rgba_assoc.tiff", "alpha_rgba_assoc.tiff")
Image.fromarray(rgba, "RGBA").save("alpha_rgba_assoc_lzw.tiff", compression="tiff_lzw")
associated("alpha_rgba_assoc_lzw.tiff", "alpha_rgba_assoc_lzw.tiff")
for name in ["alpha_rgba_assoc.tiff", "alpha_rgba_assoc_lzw.tiff"]:
    img = Image.open(name)
    assert img.tile[0][3][0] == "RGBa", img.tile
    ref = np.asarray(img.convert("RGB"))
    np.save(name.replace(".tiff", "_rgb.npy"), ref.astype(np.int32))
    print(name, img.mode, ref.shape)
