"""BigTIFF files (version 43: 8-byte offsets and counts, 20-byte directory entries), written here byte by byte, for
ImageTest.bigTiffsDecode: uncompressed 8-bit RGB, little-endian plain and with Orientation 6, and big-endian. Their
references are the stored pixels (turned 90 degrees clockwise for Orientation 6, as transformers' load_image turns
them), which Pillow 12.3 gives too for the little-endian ones (checked below when run; Debian's 9.4 turns the
Orientation 6 one twice, as it does any TIFF's); both refuse the big-endian one ("cannot identify image file"), which libtiff's tiffinfo reads. Tessera refused BigTIFF as "not a ...
TIFF ... file".

Run from this folder:  /usr/bin/python3 make_bigtiff_fixture.py   (or with transformers' Python, to see Pillow 12.3 agree)"""
import struct
import numpy as np
import PIL
from PIL import Image, ImageOps

rng = np.random.default_rng(43)
h, w = 6, 11
rgb = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)


def bigtiff(name, order, orientation=None):
    e = '<' if order == b'II' else '>'
    tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 3, None), (259, 3, 1, 1), (262, 3, 1, 2), (273, 16, 1, None),
            (277, 3, 1, 3), (278, 3, 1, h), (279, 16, 1, rgb.nbytes), (284, 3, 1, 1)]
    if orientation:
        tags.append((274, 3, 1, orientation))
    tags.sort()
    ifd_at = 16
    extra_at = ifd_at + 8 + 20 * len(tags) + 8
    data_at = extra_at + 8
    ifd = struct.pack(e + 'Q', len(tags))
    for tag, typ, count, value in tags:
        if tag == 258:  # three SHORTs fit the 8-byte value field
            field = struct.pack(e + 'HHHH', 8, 8, 8, 0)
        elif tag == 273:
            field = struct.pack(e + 'Q', data_at)
        elif typ == 16:
            field = struct.pack(e + 'Q', value)
        else:
            field = struct.pack(e + 'H', value) + b'\0' * 6
        ifd += struct.pack(e + 'HHQ', tag, typ, count) + field
    ifd += struct.pack(e + 'Q', 0)
    head = order + struct.pack(e + 'HHHQ', 43, 8, 0, ifd_at)
    body = head + ifd
    body += b'\0' * (data_at - len(body))
    open(name, 'wb').write(body + rgb.tobytes())


bigtiff('bigtiff_rgb.tiff', b'II')
bigtiff('bigtiff_o6.tiff', b'II', orientation=6)
bigtiff('bigtiff_be.tiff', b'MM')
np.save('bigtiff_rgb.npy', rgb.astype(np.int32))
np.save('bigtiff_o6_rgb.npy', np.rot90(rgb, k=-1).astype(np.int32))  # Orientation 6: turned 90 degrees clockwise
for name in ['bigtiff_rgb.tiff', 'bigtiff_o6.tiff']:
    got = np.asarray(ImageOps.exif_transpose(Image.open(name)).convert('RGB')).astype(np.int32)
    ref = np.load('bigtiff_o6_rgb.npy' if 'o6' in name else 'bigtiff_rgb.npy')
    same = got.shape == ref.shape and (got == ref).all()
    print(f'{name}: Pillow {PIL.__version__}', 'gives these pixels' if same else 'gives other pixels')
