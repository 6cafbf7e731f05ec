"""TIFFs whose samples only a full TIFF reader hands over (the JDK's own lacks 16-bit predictors, BigTIFF, FillOrder 2
and JPEG-compressed CMYK, and OpenCV's libtiff path converts them unlike Pillow), and Pillow's decode of each
(<name>_tiff_rgb.npy), for ImageTest.tiffSamplesDecodeAsPillow: 16-bit RGBA with unassociated and with associated
alpha, deflate with the horizontal predictor; 16-bit CMYK, the same; 8-bit CMYK BigTIFF; 4-bit grayscale with
FillOrder 2 (least significant bits first); CMYK with JPEG compression (Pillow's libtiff encoder). The hand-written
ones are little-endian, one strip.

Run from this folder:  /usr/bin/python3 make_tiff_layouts_fixture.py   (Pillow 9.4, Debian python3-pil; Pillow 12.3
gives the same pixels)"""
import struct
import zlib
import numpy as np
from PIL import Image

rng = np.random.default_rng(17)
h, w = 7, 10


def save_ref(name):
    img = Image.open(name)
    np.save(name.replace('.tiff', '_tiff_rgb.npy'), np.asarray(img.convert('RGB')).astype(np.int32))
    print(name, img.mode, img.size)


def tiff(name, bits, samples, photometric, data, compression=1, predictor=None, extra=None, fill=None, big=False):
    """Little-endian TIFF (or BigTIFF), one strip; `bits` per sample."""
    tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, samples, bits), (259, 3, 1, compression),
            (262, 3, 1, photometric), (273, 4, 1, 0), (277, 3, 1, samples), (278, 3, 1, h), (279, 4, 1, len(data)),
            (284, 3, 1, 1)]
    if predictor:
        tags.append((317, 3, 1, predictor))
    if extra is not None:
        tags.append((338, 3, 1, extra))
    if fill:
        tags.append((266, 3, 1, fill))
    tags.sort()
    word, entry, count_fmt = (8, 20, 'Q') if big else (4, 12, 'H')
    ifd_at = 16 if big else 8
    ifd_len = struct.calcsize('<' + count_fmt) + entry * len(tags) + word
    bits_at = ifd_at + ifd_len
    many_bits = samples * 2 > word
    data_at = bits_at + (2 * samples if many_bits else 0)
    out = struct.pack('<' + count_fmt, len(tags))
    for tag, typ, count, value in tags:
        if tag == 258:
            field = struct.pack('<I' if not big else '<Q', bits_at) if many_bits else \
                struct.pack('<%dH' % samples, *[bits] * samples).ljust(word, b'\0')
        elif tag in (273, 279):
            value = data_at if tag == 273 else value
            field = struct.pack('<Q', value) if big else struct.pack('<I', value)
            typ = 16 if big else 4
        else:
            field = struct.pack('<H', value).ljust(word, b'\0')
        out += struct.pack('<HH', tag, typ) + struct.pack('<' + ('Q' if big else 'I'), count) + field
    out += b'\0' * word
    head = b'II' + (struct.pack('<HHHQ', 43, 8, 0, ifd_at) if big else struct.pack('<HI', 42, ifd_at))
    body = head + out + (struct.pack('<%dH' % samples, *[bits] * samples) if many_bits else b'')
    assert len(body) == data_at
    open(name, 'wb').write(body + data)
    save_ref(name)


def deflate_predicted(a):
    """Horizontal differencing (predictor 2) of each row's samples, then deflate."""
    d = a.astype(np.int64).copy()
    d[:, 1:, :] = (a[:, 1:, :].astype(np.int64) - a[:, :-1, :].astype(np.int64)) % 65536
    return zlib.compress(d.astype('<u2').tobytes())


rgba16 = rng.integers(0, 65536, (h, w, 4)).astype(np.uint16)
rgba16[0, :3, 3] = [0, 65535, 256]  # transparent, opaque, nearly transparent
tiff('rgba16_predictor.tiff', 16, 4, 2, deflate_predicted(rgba16), compression=8, predictor=2, extra=2)
prem = rgba16.copy()
prem[..., :3] = (rgba16[..., :3].astype(np.int64) * rgba16[..., 3:4] // 65535).astype(np.uint16)
tiff('rgba16_assoc_predictor.tiff', 16, 4, 2, deflate_predicted(prem), compression=8, predictor=2, extra=1)
cmyk16 = rng.integers(0, 65536, (h, w, 4)).astype(np.uint16)
tiff('cmyk16_predictor.tiff', 16, 4, 5, deflate_predicted(cmyk16), compression=8, predictor=2)
cmyk8 = rng.integers(0, 256, (h, w, 4)).astype(np.uint8)
tiff('cmyk_bigtiff.tiff', 8, 4, 5, cmyk8.tobytes(), big=True)
g4 = rng.integers(0, 16, (h, w))
packed = b''.join(bytes((int(r[i]) << 4 | int(r[i + 1])) for i in range(0, w, 2)) for r in g4)
reversed_bits = bytes(int(f'{b:08b}'[::-1], 2) for b in packed)  # FillOrder 2: least significant bit first
tiff('gray4_fillorder2.tiff', 4, 1, 1, reversed_bits, fill=2)
Image.fromarray(cmyk8, 'CMYK').save('cmyk_jpeg.tiff', compression='jpeg', quality=90)
save_ref('cmyk_jpeg.tiff')
