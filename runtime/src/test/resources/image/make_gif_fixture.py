"""GIFs and Pillow's decode of each (gif_*_rgb.npy, Image.open(f).convert("RGB") of the first frame), for
ImageTest.gifsDecodeAsPillow. OpenCV (4.13) decodes GIFs as Pillow does but for one thing: a pixel of the first
frame's transparent index (and the screen around a frame smaller than it, which both fill with that index) is the
index's palette colour in Pillow and the background colour in OpenCV.

Cases: an adaptive palette (interlaced, as Pillow writes images of 16 rows or more), 15 rows (not interlaced), a
grayscale palette (also with a transparent index), a 1-bit image, two frames (the first is read), GIF87a, a transparent index, a frame placed at an
offset inside a larger screen with and without a transparent index, a local colour table in place of the global one.
The pictures are scikit-image's chelsea (skimage/data/chelsea.png from Debian python3-skimage, "Chelsea the cat" by
Stefan van der Walt, public domain / CC0 per scikit-image's data README) shrunk to 23x17, and seeded noise.

Run from this folder:  /usr/bin/python3 make_gif_fixture.py   (Pillow 9.4, Debian python3-pil; Pillow 12.3 gives the
same pixels)"""
import struct

import numpy as np
import skimage.data
from PIL import Image

rng = np.random.default_rng(22)
cat = Image.fromarray(skimage.data.chelsea()).resize((23, 17), Image.BILINEAR)
noise = Image.fromarray(rng.integers(0, 256, (17, 23, 3), dtype=np.uint8))


def blocks(b):
    """Offset of the first image descriptor (0x2C) after the header, the global table and any extensions."""
    flags = b[10]
    i = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    while b[i] != 0x2C:
        assert b[i] == 0x21
        i += 2
        while b[i]:
            i += b[i] + 1
        i += 1
    return i


def offset_frame(b, screen, at):
    b = bytearray(b)
    b[6:10] = struct.pack('<HH', *screen)
    i = blocks(b)
    b[i + 1:i + 5] = struct.pack('<HH', *at)
    return bytes(b)


def local_table(b):
    """The global colour table moved to the first frame as its local table."""
    b = bytearray(b)
    flags = b[10]
    assert flags & 0x80
    size = 3 * 2 ** ((flags & 7) + 1)
    table = bytes(b[13:13 + size])
    del b[13:13 + size]
    b[10] = flags & 0x70  # no global table
    i = blocks(b)
    b[i + 9] = (b[i + 9] & 0x40) | 0x80 | (flags & 7)  # keep interlace, local table of the same size
    b[i + 10:i + 10] = table
    return bytes(b)


def save(name, img, **kw):
    img.save(name, **kw)
    return open(name, 'rb').read()


cases = {}
pal = cat.convert('P', palette=Image.ADAPTIVE, colors=200)
cases['gif_palette.gif'] = save('gif_palette.gif', pal)
cases['gif_15rows.gif'] = save('gif_15rows.gif', cat.crop((0, 0, 23, 15)).convert('P', palette=Image.ADAPTIVE, colors=30))
cases['gif_gray.gif'] = save('gif_gray.gif', cat.convert('L'))
cases['gif_1bit.gif'] = save('gif_1bit.gif', cat.convert('1'))
cases['gif_frames.gif'] = save('gif_frames.gif', cat, save_all=True, append_images=[noise])
b87 = bytearray(save('gif_87a.gif', noise.convert('P', palette=Image.ADAPTIVE, colors=16)))
if b87[:6] == b'GIF89a':
    b87[:6] = b'GIF87a'
    open('gif_87a.gif', 'wb').write(b87)
idx = np.asarray(pal)
t = int(idx[8, 11])  # an index the picture uses
cases['gif_transparent.gif'] = save('gif_transparent.gif', pal, transparency=t)
cases['gif_gray_transparent.gif'] = save('gif_gray_transparent.gif', cat.convert('L'), transparency=int(np.asarray(cat.convert('L'))[3, 4]))
open('gif_offset.gif', 'wb').write(offset_frame(cases['gif_palette.gif'], (31, 24), (5, 4)))
open('gif_offset_transparent.gif', 'wb').write(offset_frame(cases['gif_transparent.gif'], (31, 24), (5, 4)))
open('gif_local_table.gif', 'wb').write(local_table(cases['gif_transparent.gif']))

for name in ['gif_palette.gif', 'gif_15rows.gif', 'gif_gray.gif', 'gif_1bit.gif', 'gif_frames.gif', 'gif_87a.gif',
             'gif_transparent.gif', 'gif_gray_transparent.gif', 'gif_offset.gif', 'gif_offset_transparent.gif', 'gif_local_table.gif']:
    im = Image.open(name)
    rgb = np.asarray(im.convert('RGB')).astype(np.int32)
    np.save(name.replace('.gif', '_rgb.npy'), rgb)
    print(name, open(name, 'rb').read()[:6], im.mode, im.size, im.info.get('transparency'))
