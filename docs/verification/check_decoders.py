"""`tessera classify` on the image files whose decode sessions 22 and 23 aligned with Pillow (GIF, CMYK / YCCK JPEG, 16-bit
grayscale PNG / TIFF, RGBA TIFF with associated alpha; RLE and OS/2 BMP, CMYK TIFF, 2- / 4-bit grayscale TIFF, 16-bit RGBA with a predictor,
BigTIFF, Netpbm, AVIF: the
fixtures of runtime/src/test/resources/image) against transformers 5: a random
ViTForImageClassification, each file opened as transformers' load_image opens a path (Image.open, exif_transpose,
convert("RGB")), ViTImageProcessorPil (the CLI's default backend), the model's logits. Needs torch and transformers 5
(not the Debian Python):
    python check_decoders.py [TESSERA] [OUT]      (defaults: ./tessera, /tmp/tessera-decoders)
Prints each file's max |logit difference| / max |logit| and the worst."""
import glob, json, os, shutil, subprocess, sys
import numpy as np, torch
from PIL import Image, ImageOps
from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessorPil
tessera = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else './tessera')
out = sys.argv[2] if len(sys.argv) > 2 else '/tmp/tessera-decoders'; shutil.rmtree(out, ignore_errors=True); os.makedirs(out)
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../runtime/src/test/resources/image')
files = sorted(f for p in ('gif_*.gif', 'cmyk*.jpg', 'ycck*.jpg', 'gray16*.png', 'gray16*.tiff', 'alpha_rgba_assoc*.tiff',
                        'chelsea.png', 'exif6.jpg', 'rle*.bmp', 'os2_*.bmp', 'cmyk*.tiff', 'gray2*.tiff', 'gray4*.tiff', 'rgba16*.tiff',
                        'bigtiff_rgb.tiff', 'bigtiff_o6.tiff', 'pnm_*.p?m', 'avif_*.avif')
               for f in glob.glob(os.path.join(here, p)) if not any(k in f for k in ('truncated', 'stray', 'above', '10bit')))
torch.manual_seed(22)
cfg = ViTConfig(image_size=32, patch_size=8, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=96, num_labels=7)
m = ViTForImageClassification(cfg).eval()
pc = {'image_processor_type': 'ViTImageProcessor', 'resample': 3, 'do_center_crop': True,
      'size': {'shortest_edge': 37}, 'crop_size': {'height': 32, 'width': 32},
      'image_mean': [0.48, 0.45, 0.4], 'image_std': [0.27, 0.26, 0.28]}
d = f'{out}/vit'; m.save_pretrained(d); json.dump(pc, open(f'{d}/preprocessor_config.json', 'w'))
proc = ViTImageProcessorPil.from_pretrained(d)
imgs = [ImageOps.exif_transpose(Image.open(f)).convert('RGB') for f in files]
with torch.no_grad():
    ref = m(**proc(images=imgs, return_tensors='pt')).logits.numpy()
r = subprocess.run([tessera, 'classify', *files, '--model', d, '--logits-out', f'{out}/logits.npy'],
                   capture_output=True, text=True)
if r.returncode: sys.exit(r.stderr)
got = np.load(f'{out}/logits.npy')
worst = 0
for f, a, b in zip(files, got, ref):
    e = float(np.abs(a - b).max() / np.abs(b).max()); worst = max(worst, e)
    print(f'{os.path.basename(f):28s} {e:.2e}')
print(f'{len(files)} files, worst {worst:.2e}')
