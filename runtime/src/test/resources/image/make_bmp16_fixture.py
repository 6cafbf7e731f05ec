"""16-bit BMPs (5-5-5 as BI_RGB, 5-6-5 and 5-5-5 as BI_BITFIELDS), written here byte by byte (Pillow does not write
them), and Pillow's decode of each (bmp16_*_rgb.npy), for ImageTest.decodesAsPillowWhereOpenCvDiffers: Pillow widens a
5-bit value v to v * 255 // 31 (6-bit: v * 255 // 63), OpenCV to v << 3 (v << 2).

Run from this folder:  /usr/bin/python3 make_bmp16_fixture.py   (Pillow 9.4, Debian python3-pil)"""
import struct
import numpy as np
from PIL import Image

rng = np.random.default_rng(16)
h, w = 5, 7
pixels = rng.integers(0, 1 << 16, (h, w)).astype(np.uint16)
pixels[0, :4] = [0x0000, 0xFFFF, 0x7FFF, 0x8421]


def bmp(name, compression, masks):
    row = (w * 2 + 3) // 4 * 4
    data = b''.join(pixels[y].astype('<u2').tobytes().ljust(row, b'\0') for y in range(h - 1, -1, -1))  # bottom-up
    extra = b''.join(struct.pack('<I', m) for m in masks)
    off = 14 + 40 + len(extra)
    header = b'BM' + struct.pack('<IHHI', off + len(data), 0, 0, off)
    info = struct.pack('<IiiHHIIiiII', 40, w, h, 1, 16, compression, len(data), 2835, 2835, 0, 0)
    open(name, 'wb').write(header + info + extra + data)
    np.save(name.replace('.bmp', '_rgb.npy'), np.asarray(Image.open(name).convert('RGB')).astype(np.int32))
    print(name, Image.open(name).mode)


bmp('bmp16_555.bmp', 0, [])
bmp('bmp16_565_bitfields.bmp', 3, [0xF800, 0x07E0, 0x001F])
bmp('bmp16_555_bitfields.bmp', 3, [0x7C00, 0x03E0, 0x001F])
