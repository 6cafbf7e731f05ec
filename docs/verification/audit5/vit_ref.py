import json, sys, os, numpy as np, torch
from PIL import Image, ImageOps
def load_rgb(p):
    im = Image.open(p); im = ImageOps.exif_transpose(im); return im.convert('RGB')
def preprocess(p, pc, image_size, clip=False):
    im = load_rgb(p)
    size = pc.get('size'); tp = (pc.get('image_processor_type','') + pc.get('feature_extractor_type',''))
    if pc.get('do_resize', True):
        if size is None:
            size = {'shortest_edge': image_size} if clip else {'height': image_size, 'width': image_size}
        if isinstance(size, int):
            size = {'shortest_edge': size} if ('CLIP' in tp or clip) else {'height': size, 'width': size}
        w, h = im.size
        if 'shortest_edge' in size:
            s = size['shortest_edge']
            short, long = (w, h) if w <= h else (h, w)
            ns, nl = s, int(s * long / short)
            nw, nh = (ns, nl) if w <= h else (nl, ns)
        else:
            nh, nw = size['height'], size['width']
        im = im.resize((nw, nh), resample=pc.get('resample', 3 if clip else 2), reducing_gap=None)
    a = np.asarray(im).astype(np.float32)
    crop = pc.get('do_center_crop', clip or ('crop_size' in pc))
    if crop:
        cs = pc.get('crop_size', image_size)
        ch, cw = (cs, cs) if isinstance(cs, int) else (cs['height'], cs['width'])
        H, W = a.shape[:2]
        top, left = (H - ch) // 2, (W - cw) // 2
        if top < 0 or left < 0:
            raise SystemExit('crop larger than image (padding): not handled in ref')
        a = a[top:top + ch, left:left + cw]
    if pc.get('do_rescale', True):
        a = (a.astype(np.float64) * pc.get('rescale_factor', 1/255)).astype(np.float32)
    if pc.get('do_normalize', True):
        dm, ds = ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]) if clip else ([.5]*3, [.5]*3)
        m = np.array(pc.get('image_mean', dm), np.float32); s = np.array(pc.get('image_std', ds), np.float32)
        a = (a - m) / s
    return a.transpose(2, 0, 1)
def expand(args):
    exts = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
    out = []
    for a in args:
        if os.path.isdir(a):
            out += sorted(os.path.join(a, f) for f in os.listdir(a) if f.lower().endswith(exts) and os.path.isfile(os.path.join(a, f)))
        else: out.append(a)
    return out
if __name__ == '__main__':
    mdir, got_f = sys.argv[1], sys.argv[2]; imgs = sys.argv[3:]
    cfg = json.load(open(mdir + '/config.json'))
    pcf = mdir + '/preprocessor_config.json'; pc = json.load(open(pcf)) if os.path.exists(pcf) else {}
    ref = torch.load(mdir + '/ref.pt').double()
    got = np.load(got_f)
    if len(imgs) == 1 and imgs[0].endswith('.npy'):
        px = [np.load(imgs[0])[i] for i in range(got.shape[0])]; names = ['npy[%d]' % i for i in range(len(px))]
    else:
        names = expand(imgs); px = [preprocess(p, pc, cfg['image_size']) for p in names]
    with torch.no_grad():
        r = ref(torch.tensor(np.stack(px)).double()).numpy()
    assert got.shape == r.shape, (got.shape, r.shape)
    worst = 0
    for i, n in enumerate(names):
        e = np.linalg.norm(got[i] - r[i]) / np.linalg.norm(r[i]); worst = max(worst, e)
        print(f'  {os.path.basename(n)}: rel {e:.2e}' + ('  FAIL' if e > 1e-4 else ''))
    print(f'{mdir}: {len(names)} images, worst rel {worst:.2e} {"OK" if worst <= 1e-4 else "FAIL"}')
