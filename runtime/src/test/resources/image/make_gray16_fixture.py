"""16-bit PNGs and TIFFs and Pillow's decode of each (gray16_*_rgb.npy: Image.open(f).convert("RGB")), for
ImageTest.sixteenBitImagesDecodeAsPillow. Pillow opens 16-bit grayscale (PNG colour type 0, a one-sample TIFF) as
"I;16" ("I" in Pillow 9.4's PNG reader) and clips each sample to 255 on the way to RGB; OpenCV scales it to its high
byte. 16-bit RGB, RGBA and gray + alpha keep their high byte in both. The PNGs are written byte by byte here (Pillow
does not write 16-bit RGB PNGs); the samples are seeded noise with 0, 100, 255, 256 and 65535 in the first row.

Run from this folder:  /usr/bin/python3 make_gray16_fixture.py   (Pillow 9.4, Debian python3-pil; Pillow 12.3 gives
the same pixels)"""
import struct
import zlib

import numpy as np
from PIL import Image

rng = np.random.default_rng(16)
H, W = 13, 17
EDGE = [0, 100, 255, 256, 65535]


def png(name, a, colour_type):
    rows = b''.join(b'\0' + a[y].astype('>u2').tobytes() for y in range(a.shape[0]))

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack('>IIBBBBB', a.shape[1], a.shape[0], 16, colour_type, 0, 0, 0)
    open(name, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(rows))
                           + chunk(b'IEND', b''))


def noise(*shape):
    a = rng.integers(0, 65536, (H, W) + shape)
    a[0, :5] = np.array(EDGE).reshape((5,) + (1,) * len(shape))
    return a


gray = noise()
low = rng.integers(0, 300, (H, W))  # mostly below 256: the clip and the high byte differ everywhere
png('gray16.png', gray, 0)
png('gray16_low.png', low, 0)
png('gray16_rgb.png', noise(3), 2)
png('gray16_la.png', noise(2), 4)
Image.fromarray(gray.astype(np.uint16)).save('gray16.tiff')
Image.fromarray(low.astype(np.uint16)).save('gray16_low_lzw.tiff', compression='tiff_lzw')

for name in ['gray16.png', 'gray16_low.png', 'gray16_rgb.png', 'gray16_la.png', 'gray16.tiff', 'gray16_low_lzw.tiff']:
    im = Image.open(name)
    rgb = np.asarray(im.convert('RGB')).astype(np.int32)
    np.save(name.replace('.png', '_png_rgb.npy').replace('.tiff', '_tiff_rgb.npy'), rgb)
    print(name, im.mode, rgb[0, :5, 0])
