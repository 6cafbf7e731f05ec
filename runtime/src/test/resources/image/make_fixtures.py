"""Image decoding / preprocessing fixtures for runtime/src/test/java/dev/tessera/runtime/image/ImageTest.java.

Run from this folder:  /usr/bin/python3 make_fixtures.py
chelsea.png is scikit-image's sample photo (skimage/data/chelsea.png, "Chelsea the cat" by Stefan van der Walt,
public domain / CC0 per scikit-image's data README). References are made with Pillow (+ numpy) the way
transformers' image processors do it: convert("RGB"), resize with the given filter, center crop, rescale, normalise.
"""
import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps


def pre(img, shortest=None, hw=None, resample=Image.BICUBIC, crop=None, mean=(0.5,) * 3, std=(0.5,) * 3):
    img = img.convert("RGB")
    w, h = img.size
    if shortest:
        if h <= w:
            nh, nw = shortest, int(shortest * w / h)
        else:
            nw, nh = shortest, int(shortest * h / w)
    else:
        nh, nw = hw
    img = img.resize((nw, nh), resample)
    a = np.asarray(img).astype(np.float64)
    if crop:
        top, left = (nh - crop[0]) // 2, (nw - crop[1]) // 2
        a = a[top:top + crop[0], left:left + crop[1]]
    a = (a / 255.0 - np.array(mean)) / np.array(std)
    return a.transpose(2, 0, 1)[None].astype(np.float32)


cat = Image.open("chelsea.png")
np.save("chelsea_s64_bicubic_c56.npy", pre(cat, shortest=64, crop=(56, 56)))
np.save("chelsea_40x48_bilinear.npy", pre(cat, hw=(40, 48), resample=Image.BILINEAR))
np.save("chelsea_30x20_nearest.npy", pre(cat, hw=(30, 20), resample=Image.NEAREST))

small = cat.convert("RGB").resize((24, 16), Image.BICUBIC)
small.save("small.png")
small.save("small.bmp")
small.save("small.tiff")
small.save("small.webp", lossless=True)
np.save("small_rgb.npy", np.asarray(small).astype(np.int32))
# EXIF orientation 6 (rotate 90 CW to display): the decoder must return the displayed (transposed) image
ex = Image.Exif()
ex[0x0112] = 6
small.save("exif6.jpg", quality=95, exif=ex.tobytes())
np.save("exif6_rgb.npy", np.asarray(ImageOps.exif_transpose(Image.open("exif6.jpg")).convert("RGB")).astype(np.int32))
small.convert("L").save("gray.png")
np.save("gray_rgb.npy", np.asarray(Image.open("gray.png").convert("RGB")).astype(np.int32))
rgba = small.convert("RGBA")
rgba.putalpha(Image.linear_gradient("L").resize((24, 16)))
rgba.save("rgba.png")
np.save("rgba_rgb.npy", np.asarray(Image.open("rgba.png").convert("RGB")).astype(np.int32))
Image.new("RGB", (1, 1), (10, 200, 30)).save("one.png")
data = open("small.png", "rb").read()
open("truncated.png", "wb").write(data[:len(data) // 2])
open("empty.png", "wb").write(b"")
# a valid TIFF of 32-bit float samples (Pillow mode "F"), which OpenCV's 8-bit colour decoding cannot read
Image.fromarray(np.asarray(small.convert("L")).astype(np.float32) / 255, "F").save("float.tiff")
open("text.png", "w").write("this is not an image\n")


def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)


# header claims 20000 x 20000 (400 MP): must be refused before decoding
open("huge.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
                             + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
print("ok")


# Photos from Debian packages (not copied): CLIP-style preprocessing at 224 (shortest edge, bicubic, center crop),
# stored as the 8-bit result [224, 224, 3] so the test can count level differences. The test skips a photo
# whose package file is absent.
PHOTOS = {"astronaut": "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
          "coffee": "/usr/lib/python3/dist-packages/skimage/data/coffee.png",
          "china": "/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg"}
for name, path in PHOTOS.items():
    img = Image.open(path).convert("RGB")
    w, h = img.size
    nh, nw = (224, int(224 * w / h)) if h <= w else (int(224 * h / w), 224)
    r = img.resize((nw, nh), Image.BICUBIC)
    top, left = (nh - 224) // 2, (nw - 224) // 2
    np.save("photo_%s_224.npy" % name, np.asarray(r)[top:top + 224, left:left + 224].astype(np.uint8))
