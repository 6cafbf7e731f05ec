"""Netpbm files (PBM / PGM / PPM, plain and binary), written here byte by byte, and Pillow's decode of each
(<name>_rgb.npy), for ImageTest.pnmDecodesAsPillow. OpenCV decodes these formats but leaves binary samples of a
maxval other than 255 unscaled and takes 16-bit samples' high byte, where Pillow scales each sample to
round(v / maxval * 255) (ties to even), reads a PGM with maxval above 255 as 32-bit gray (scaled to 65535, or raw for
65535) which convert("RGB") clips to 255.

Cases: plain bitmap with comments and digits without whitespace; binary bitmap of an odd width; plain gray with
maxval 1000 and comments between samples; plain colour with maxval 15; binary gray with maxval 255, 2 (a tie rounded
to even), 100, 4095 and 65535; binary colour with maxval 255 and 65535; comments in the header. Refused as Pillow
refuses them: a binary colour file cut short, a plain bitmap with a stray character after its last pixel, a plain
colour sample above maxval.

Run from this folder:  /usr/bin/python3 make_pnm_fixture.py   (Pillow 9.4, Debian python3-pil; Pillow 12.3 gives the
same pixels and refusals)"""
import numpy as np
from PIL import Image

rng = np.random.default_rng(11)
h, w = 5, 9


def save(name, data, refused=False):
    open(name, 'wb').write(data)
    try:
        img = Image.open(name)
        rgb = np.asarray(img.convert('RGB'))
    except (OSError, ValueError) as e:
        assert refused, f'{name}: Pillow refused it: {e}'
        print(name, 'refused by Pillow:', e)
        return
    assert not refused, name + ': Pillow decoded it'
    np.save(name.rsplit('.', 1)[0] + '_rgb.npy', rgb.astype(np.int32))
    print(name, img.mode, img.size)


def plain(values, per_line=7):
    v = [str(int(x)) for x in values.ravel()]
    return '\n'.join(' '.join(v[i:i + per_line]) for i in range(0, len(v), per_line)).encode() + b'\n'


bits = rng.integers(0, 2, (h, w))
save('pnm_p1.pbm', b'P1\n# plain bitmap\n%d %d\n' % (w, h)
     + b'\n'.join(b''.join(b'%d' % x for x in row) + b' # row' for row in bits) + b'\n')
save('pnm_p4_odd.pbm', b'P4\n%d %d\n' % (w, h) + np.packbits(bits.astype(np.uint8), axis=1).tobytes())
g1000 = rng.integers(0, 1001, (h, w))
save('pnm_p2_1000.pgm', b'P2\n%d %d\n1000\n' % (w, h) + plain(g1000).replace(b'\n', b' # c\n', 2))
c15 = rng.integers(0, 16, (h, w, 3))
save('pnm_p3_15.ppm', b'P3 %d %d 15\n' % (w, h) + plain(c15))
for mv in [255, 2, 100, 4095, 65535]:
    g = rng.integers(0, mv + 1, (h, w))
    save(f'pnm_p5_{mv}.pgm', b'P5\n# a comment\n%d %d\n%d\n' % (w, h, mv) + g.astype('>u2' if mv > 255 else 'u1').tobytes())
for mv in [255, 65535]:
    c = rng.integers(0, mv + 1, (h, w, 3))
    save(f'pnm_p6_{mv}.ppm', b'P6\t%d\r\n%d %d\n' % (w, h, mv) + c.astype('>u2' if mv > 255 else 'u1').tobytes())
c = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
save('pnm_p6_truncated.ppm', b'P6\n%d %d\n255\n' % (w, h) + c.tobytes()[:-7], refused=True)
save('pnm_p1_stray.pbm', b'P1\n%d %d\n' % (w, h) + plain(bits) + b'x\n', refused=True)
above = c15.copy()
above[0, 0, 0] = 16
save('pnm_p3_above.ppm', b'P3\n%d %d\n15\n' % (w, h) + plain(above), refused=True)
