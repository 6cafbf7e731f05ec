"""Randomised check of `tessera classify --image-backend pil|torchvision` against transformers 5's two image-processor
backends (session 21, docs/verification.md): 30 random ViT checkpoints with random preprocessor configs (every size
rule with a fixed output, crops larger and smaller than the resize, resample nearest / lanczos / bilinear / bicubic,
odd rescale factors, normalisation on or off) over 24 random PNGs (RGB, grey, RGBA, smooth, 1-6 px, 3 x 600) and
chelsea.png, five images per checkpoint. Needs torch, torchvision and transformers 5 (not the Debian Python):
    python sweep_image_backends.py [TESSERA] [OUT]      (defaults: ./tessera, /tmp/tessera-image-backends)
Prints one JSON line per checkpoint: each backend's max |logit difference| / max |logit| against transformers'
class of that backend, and how far transformers' two backends are from each other."""
import numpy as np, torch, json, os, subprocess, random, shutil, sys
from PIL import Image
from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor, ViTImageProcessorPil
tessera = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else './tessera')
out = sys.argv[2] if len(sys.argv) > 2 else '/tmp/tessera-image-backends'; shutil.rmtree(out, ignore_errors=True); os.makedirs(out)
rnd = random.Random(211); rng = np.random.default_rng(211)
def make_image(i):
    kind = rnd.choice(['rgb', 'rgb', 'gray', 'rgba', 'smooth', 'tiny', 'wide'])
    h, w = rnd.randint(8, 420), rnd.randint(8, 420)
    if kind == 'tiny': h, w = rnd.randint(1, 6), rnd.randint(1, 6)
    if kind == 'wide': h, w = rnd.randint(3, 20), rnd.randint(200, 600)
    if kind == 'gray':
        im = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8), 'L')
    elif kind == 'rgba':
        im = Image.fromarray(rng.integers(0, 256, (h, w, 4), dtype=np.uint8), 'RGBA')
    elif kind == 'smooth':
        y, x = np.mgrid[0:h, 0:w]
        a = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)), ((x + y) * 7) % 256], -1).astype(np.uint8)
        im = Image.fromarray(a)
    else:
        im = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    p = f'{out}/img{i}_{kind}.png'; im.save(p); return p
imgs = [make_image(i) for i in range(24)]
imgs.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../runtime/src/test/resources/image/chelsea.png'))
results = []
for k in range(30):
    S = rnd.choice([16, 24, 32, 40, 48])
    P = rnd.choice([p for p in (4, 8, 16) if S % p == 0])
    heads = rnd.choice([1, 2, 4]); hid = heads * rnd.choice([8, 16])
    cfg = ViTConfig(image_size=S, patch_size=P, hidden_size=hid, num_hidden_layers=rnd.randint(1, 2),
                    num_attention_heads=heads, intermediate_size=hid * 2, num_labels=rnd.randint(2, 6))
    torch.manual_seed(k)
    m = ViTForImageClassification(cfg).eval()
    kind = rnd.choice(['hw', 'se_crop', 'sel_crop', 'max_crop', 'hw_crop', 'se_bigcrop'])
    pc = {'image_processor_type': 'ViTImageProcessor', 'resample': rnd.choice([0, 1, 2, 3])}
    if kind == 'hw':
        pc['size'] = {'height': S, 'width': S}
    else:
        pc['do_center_crop'] = True; pc['crop_size'] = {'height': S, 'width': S}
        if kind == 'se_crop': pc['size'] = {'shortest_edge': S + rnd.randint(0, 20)}
        if kind == 'se_bigcrop': pc['size'] = {'shortest_edge': max(1, S - rnd.randint(1, 9))}
        if kind == 'sel_crop':
            se = S + rnd.randint(0, 10); pc['size'] = {'shortest_edge': se, 'longest_edge': se + rnd.randint(1, 60)}
        if kind == 'max_crop': pc['size'] = {'max_height': S + rnd.randint(-5, 30), 'max_width': S + rnd.randint(-5, 30)}
        if kind == 'hw_crop': pc['size'] = {'height': S + rnd.randint(-6, 12), 'width': S + rnd.randint(-6, 12)}
    r = rnd.random()
    if r < 0.2: pc['do_normalize'] = False
    elif r < 0.35: pc['image_mean'] = [rnd.random() for _ in range(3)]; pc['image_std'] = [0.1 + rnd.random() for _ in range(3)]
    if rnd.random() < 0.15: pc['rescale_factor'] = rnd.choice([1 / 127.5, 0.00390625, 0.01])
    d = f'{out}/vit{k}'; m.save_pretrained(d); json.dump(pc, open(f'{d}/preprocessor_config.json', 'w'))
    sel = rnd.sample(imgs, 5)
    try:
        tv = ViTImageProcessor.from_pretrained(d); assert tv.backend == 'torchvision'
        pil = ViTImageProcessorPil.from_pretrained(d)
        refs = {}
        for name, proc in [('torchvision', tv), ('pil', pil)]:
            with torch.no_grad():
                px = proc(images=[Image.open(p).convert('RGB') for p in sel], return_tensors='pt')['pixel_values']
                refs[name] = m(pixel_values=px).logits.numpy()
    except Exception as e:
        results.append({'k': k, 'kind': kind, 'pc': pc, 'transformers_error': str(e)[:120]}); continue
    row = {'k': k, 'kind': kind, 'pc': pc}
    for name in ['torchvision', 'pil']:
        cp = subprocess.run([tessera, 'classify', *sel, '--model', d, '--image-backend', name,
                             '--logits-out', f'{d}/{name}.npy'], capture_output=True, text=True)
        if cp.returncode != 0:
            row[name] = 'ERR ' + cp.stderr.strip()[:150]; continue
        got = np.load(f'{d}/{name}.npy'); ref = refs[name]
        row[name] = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))
    row['tv_vs_pil_ref'] = float(np.abs(refs['torchvision'] - refs['pil']).max() / np.abs(refs['pil']).max())
    results.append(row)
    print(json.dumps(row), flush=True)
json.dump(results, open(f'{out}/results.json', 'w'), indent=1)
ok = [r for r in results if isinstance(r.get('torchvision'), float)]
print('cases', len(results), 'ran', len(ok), 'worst tv', max(r['torchvision'] for r in ok), 'worst pil', max(r['pil'] for r in ok if isinstance(r.get('pil'), float)))
