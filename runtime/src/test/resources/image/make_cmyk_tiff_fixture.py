"""CMYK TIFFs and 2- / 4-bit grayscale TIFFs, and Pillow's decode of each (<name>_tiff_rgb.npy), for
ImageTest.tiffSamplesDecodeAsPillow. OpenCV decodes TIFF through libtiff's RGBA interface, which converts CMYK
with (255 - k) * (255 - c) / 255 truncated where Pillow's cmyk2rgb rounds (a third of the pixels one level apart),
and it refuses 2- and 4-bit grayscale.

CMYK as Pillow writes it (raw, LZW, deflate, PackBits); 16-bit CMYK, 2-bit and 4-bit grayscale (BlackIsZero and
WhiteIsZero) written here byte by byte (Pillow does not write them); a 4-bit one with Orientation 3 (its reference is
gray4.tiff's turned 180 degrees, as transformers' load_image turns it with Pillow 12.3).

Run from this folder:  /usr/bin/python3 make_cmyk_tiff_fixture.py   (Pillow 9.4, Debian python3-pil; Pillow 12.3
gives the same pixels)"""
import struct
import numpy as np
from PIL import Image

rng = np.random.default_rng(5)
h, w = 9, 13
cmyk = rng.integers(0, 256, (h, w, 4)).astype(np.uint8)
cmyk[0, :4] = [[0, 0, 0, 0], [255, 255, 255, 255], [0, 0, 0, 255], [128, 64, 32, 1]]


def save_ref(name):
    img = Image.open(name)
    np.save(name.replace('.tiff', '_tiff_rgb.npy'), np.asarray(img.convert('RGB')).astype(np.int32))
    print(name, img.mode, img.size)


for name, kw in [('cmyk.tiff', {}), ('cmyk_lzw.tiff', dict(compression='tiff_lzw')),
                 ('cmyk_deflate.tiff', dict(compression='tiff_adobe_deflate')),
                 ('cmyk_packbits.tiff', dict(compression='packbits'))]:
    Image.fromarray(cmyk, 'CMYK').save(name, **kw)
    save_ref(name)


def tiff(name, width, height, bits, samples, photometric, data, orientation=None):
    """A little-endian, uncompressed, one-strip TIFF."""
    tags = [(256, 3, 1, width), (257, 3, 1, height), (258, 3, samples, bits), (259, 3, 1, 1), (262, 3, 1, photometric),
            (273, 4, 1, 0), (277, 3, 1, samples), (278, 3, 1, height), (279, 4, 1, len(data)), (284, 3, 1, 1)]
    if orientation:
        tags.append((274, 3, 1, orientation))
    tags.sort()
    ifd_size = 2 + 12 * len(tags) + 4
    extra = b''
    bits_at = 8 + ifd_size
    if samples > 2:  # BitsPerSample values do not fit the entry
        extra = struct.pack('<%dH' % samples, *([bits] * samples))
    data_at = bits_at + len(extra)
    ifd = struct.pack('<H', len(tags))
    for tag, typ, count, value in tags:
        if tag == 258 and samples > 2:
            value = bits_at
        if tag == 273:
            value = data_at
        ifd += struct.pack('<HHI', tag, typ, count) + (struct.pack('<I', value) if typ == 4 or tag == 258 and samples > 2
                                                       else struct.pack('<HH', value, 0))
    open(name, 'wb').write(b'II*\0' + struct.pack('<I', 8) + ifd + b'\0\0\0\0' + extra + data)
    save_ref(name)


c16 = rng.integers(0, 65536, (h, w, 4)).astype('<u2')
tiff('cmyk16.tiff', w, h, 16, 4, 5, c16.tobytes())


def packed(v, bits):
    """Rows of samples packed most significant bits first, each row padded to a whole byte."""
    per = 8 // bits
    out = b''
    for row in v:
        row = list(row) + [0] * (-len(row) % per)
        out += bytes(sum(int(row[i + j]) << (8 - bits * (j + 1)) for j in range(per)) for i in range(0, len(row), per))
    return out


g2 = rng.integers(0, 4, (h, w))
g4 = rng.integers(0, 16, (h, w))
tiff('gray2.tiff', w, h, 2, 1, 1, packed(g2, 2))
tiff('gray4.tiff', w, h, 4, 1, 1, packed(g4, 4))
tiff('gray4_whiteiszero.tiff', w, h, 4, 1, 0, packed(g4, 4))
tiff('gray2_whiteiszero.tiff', w, h, 2, 1, 0, packed(g2, 2))
tiff('gray4_o3.tiff', w, h, 4, 1, 1, packed(g4, 4), orientation=3)
# transformers' load_image turns it upright (exif_transpose; Pillow 12.3 does, Debian's 9.4 turns it twice): the
# reference is gray4.tiff's, turned 180 degrees
np.save('gray4_o3_tiff_rgb.npy', np.load('gray4_tiff_rgb.npy')[::-1, ::-1].copy())
