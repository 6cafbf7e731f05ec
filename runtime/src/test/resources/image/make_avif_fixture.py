"""AVIF files and what transformers' load_image makes of them with Pillow 12.3 (Image.open, exif_transpose,
convert("RGB"): its bundled libavif converts YUV to RGB through libyuv), <name>_rgb.npy, for
ImageTest.avifDecodesAsPillow. OpenCV's build has no AVIF codec (Tessera refused AVIF as an unknown format); FFmpeg's
own YUV-to-RGB conversion is up to 16 levels off libavif's on colour pictures.

Cases, all 23x17 (odd width and height) crops of chelsea.png: Pillow's encoder at 4:2:0 full and limited range,
4:2:2 full, 4:4:4 limited, 4:0:0 limited, and RGBA (the alpha plane dropped); avifenc (Debian libavif-bin) with BT.709
4:2:0 limited, BT.2020 4:2:2 full, an irot (90 degrees) and an imir (mirror) property; refused: a 10-bit file and one cut
short.

Needs Pillow with AVIF (12.3, transformers 5's environment) and avifenc. Run from this folder:
    /tmp/hfenv/bin/python make_avif_fixture.py"""
import subprocess
import numpy as np
from PIL import Image, ImageOps

src = Image.open('chelsea.png').convert('RGB').crop((200, 150, 223, 167))
src.save('/tmp/avif_src.png')


def ref(name):
    img = Image.open(name)
    np.save(name.replace('.avif', '_rgb.npy'), np.asarray(ImageOps.exif_transpose(img).convert('RGB')).astype(np.int32))
    print(name, img.mode, img.size, 'orientation', img.getexif().get(274))


for ss, rg in [('4:2:0', 'full'), ('4:2:0', 'limited'), ('4:2:2', 'full'), ('4:4:4', 'limited'), ('4:0:0', 'limited')]:
    name = f'avif_{ss.replace(":", "")}_{rg}.avif'
    src.save(name, quality=80, subsampling=ss, range=rg)
    ref(name)
rgba = np.asarray(src.convert('RGBA')).copy()
rgba[..., 3] = np.random.default_rng(3).integers(0, 256, rgba.shape[:2])
Image.fromarray(rgba, 'RGBA').save('avif_alpha.avif', quality=80)
ref('avif_alpha.avif')


def avifenc(name, *args):
    subprocess.run(['avifenc', *args, '-s', '8', '--min', '12', '--max', '12', '/tmp/avif_src.png', name], check=True,
                   capture_output=True)


avifenc('avif_709_420_limited.avif', '--cicp', '1/13/1', '-r', 'limited', '-y', '420')
avifenc('avif_2020_422_full.avif', '--cicp', '9/16/9', '-r', 'full', '-y', '422')
avifenc('avif_irot1.avif', '--irot', '1')
avifenc('avif_imir0.avif', '--imir', '0')
for name in ['avif_709_420_limited.avif', 'avif_2020_422_full.avif', 'avif_irot1.avif', 'avif_imir0.avif']:
    ref(name)
avifenc('avif_10bit.avif', '-d', '10')
data = open('avif_420_full.avif', 'rb').read()
open('avif_truncated.avif', 'wb').write(data[:len(data) * 2 // 3])
