"""Run-length encoded BMPs (BI_RLE8, BI_RLE4) and OS/2 1.x BMPs, written here byte by byte, and Pillow's decode of
each (<name>_rgb.npy), for ImageTest.rleAndOs2BmpsDecodeAsPillow. OpenCV 4.13 refuses or misplaces the runs of RLE
BMPs with an odd width (ImageMagick's own output among them); it read OS/2 1.x headers (16-bit width and height) as
Windows ones, so Tessera refused those files as billions of pixels.

Cases: rows encoded as a typical encoder does (repeats as encoded runs, the rest as absolute runs padded to 16 bits,
end of line, end of bitmap), 8- and 4-bit with odd widths; deltas, an end of line in mid-row and an encoded run
longer than its row; identity gray ramps (Pillow reads the indices as gray values); a palette shorter than the
indices (black past its end); top-down (negative height); a pixel-data offset that says "right after the header";
a stream that ends before the image is full (rle8_truncated.bmp, which Pillow refuses: "not enough image data").

Needs a current Pillow (12.3, transformers 5's environment): Debian's 9.4 reads a delta's two offsets from the two
bytes after them. Run from this folder:  /tmp/hfenv/bin/python make_bmp_rle_fixture.py"""
import struct
import numpy as np
from PIL import Image

rng = np.random.default_rng(31)


def write(name, w, h, bits, compression, palette, data, header=40, offset=None, os2=False):
    """palette: (r, g, b) tuples; data: the pixel bytes as stored."""
    if os2:
        info = struct.pack('<IHHHH', 12, w, h, 1, bits)
        pal = b''.join(bytes([b, g, r]) for r, g, b in palette)
    else:
        info = struct.pack('<IiiHHIIiiII', header, w, h, 1, bits, compression, len(data), 2835, 2835, len(palette), 0)
        info += b'\0' * (header - 40)
        pal = b''.join(bytes([b, g, r, 0]) for r, g, b in palette)
    off = 14 + len(info) + len(pal) if offset is None else offset
    open(name, 'wb').write(b'BM' + struct.pack('<IHHI', 14 + len(info) + len(pal) + len(data), 0, 0, off)
                           + info + pal + data)
    if name.endswith('_truncated.bmp'):
        try:
            Image.open(name).load()
            raise AssertionError(name + ': Pillow decoded it')
        except ValueError as e:
            print(name, 'refused by Pillow:', e)
        return
    img = Image.open(name)
    np.save(name.replace('.bmp', '_rgb.npy'), np.asarray(img.convert('RGB')).astype(np.int32))
    print(name, img.mode, img.size)


def encode(rows, rle4, pad=True):
    """Rows of indices (stored order) as an encoder writes them: runs of 3+ equal pixels encoded, others absolute;
    with pad, each row first padded with index 0 to a multiple of 4 pixels, as ImageMagick writes them (the last run
    then passes the row's end, which Pillow cuts and OpenCV carried into the next row)."""
    out = bytearray()
    for row in rows:
        row = [int(v) for v in row] + [0] * (-len(row) % 4 if pad else 0)
        i, n = 0, len(row)
        while i < n:
            j = i
            while j < n and row[j] == row[i] and j - i < 255:
                j += 1
            if j - i >= 3 or n - i < 3:
                k = j - i
                out += bytes([k, row[i] * 17 if rle4 else row[i]])
                i = j
                continue
            j = i  # absolute run up to the next repeat
            while j < n and j - i < 255 and not (j + 2 < n and row[j] == row[j + 1] == row[j + 2]):
                j += 1
            k = j - i
            if k < 3:
                k = min(3, n - i)
            px = row[i:i + k]
            if rle4:
                px = list(px) + [0] * (len(px) % 2)
                body = bytes(px[t] << 4 | px[t + 1] for t in range(0, len(px), 2))
            else:
                body = bytes(px)
            out += bytes([0, k]) + body + b'\0' * (len(body) % 2)
            i += k
        out += b'\0\0'
    return bytes(out[:-2]) + b'\0\1'


def blocky(h, w, colors):
    """Indices with horizontal repeats (for encoded runs) and noise (for absolute runs)."""
    a = rng.integers(0, colors, (h, w))
    a[:, : w // 3] = rng.integers(0, colors, (h, 1))
    return a


def colours(n):
    return [tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(n)]


rows = blocky(7, 13, 200)
write('rle8_odd.bmp', 13, 7, 8, 1, colours(200), encode(rows[::-1], False))
rows = blocky(9, 11, 16)
write('rle4_odd.bmp', 11, 9, 4, 2, colours(16), encode(rows[::-1], True))
write('rle8_topdown.bmp', 13, -7, 8, 1, colours(200), encode(blocky(7, 13, 200), False, pad=False))
gray = [(v, v, v) for v in range(256)]
write('rle8_gray.bmp', 9, 5, 8, 1, gray, encode(blocky(5, 9, 256)[::-1], False), header=124)
write('rle4_gray.bmp', 9, 5, 4, 2, [(v, v, v) for v in range(16)], encode(blocky(5, 9, 16)[::-1], True))
write('rle8_short_palette.bmp', 9, 5, 8, 1, colours(5), encode(blocky(5, 9, 12)[::-1], False))
# deltas, an end of line in mid-row, an encoded run past the row's end, odd absolute runs, end of bitmap
edge = bytes([4, 7, 0, 2, 3, 1, 2, 9, 0, 0, 20, 5, 0, 3, 1, 2, 3, 0, 0, 0, 0, 5, 4, 4, 4, 4, 4, 0,
              2, 8, 6, 3, 0, 0, 9, 9, 0, 0, 0, 1])
write('rle8_edges.bmp', 10, 6, 8, 1, colours(12), edge)
write('rle4_edges.bmp', 10, 6, 4, 2, colours(16), bytes([4, 0x7A, 0, 2, 3, 1, 3, 0x9C, 0, 0, 20, 0x5F, 0, 5, 0x12,
                                                        0x34, 0x50, 0, 0, 0, 0, 2, 8, 5, 0, 0, 9, 0x99, 0, 1]))
write('rle8_offset_after_header.bmp', 9, 5, 8, 1, colours(6), encode(blocky(5, 9, 6)[::-1], False), offset=14 + 40)
write('rle8_truncated.bmp', 13, 7, 8, 1, colours(200), encode(blocky(7, 13, 200)[::-1], False)[:40])
# OS/2 1.x: 16-bit width and height, 3-byte palette entries, rows padded to 4 bytes, bottom-up
px = rng.integers(0, 256, (5, 7, 3)).astype(np.uint8)
write('os2_24.bmp', 7, 5, 24, 0, [], b''.join(px[y, :, ::-1].tobytes().ljust(24, b'\0') for y in range(4, -1, -1)),
      os2=True)
idx = rng.integers(0, 40, (5, 7)).astype(np.uint8)
write('os2_pal8.bmp', 7, 5, 8, 0, colours(256), b''.join(idx[y].tobytes().ljust(8, b'\0') for y in range(4, -1, -1)),
      os2=True)
