#!/usr/bin/env python3
"""QA cases for `tessera classify` (ViT): random-weight checkpoints of many shapes, checked against torchvision's
VisionTransformer (0.14) loaded with the same weights, and image files through preprocessor_config.json variants
checked against a reference preprocessing written here with Pillow (as transformers' ViTImageProcessor does it:
convert("RGB"), PIL resize with the configured resample, rescale, normalise) followed by the same torchvision model.

Usage (from the repository root, after `mvn -q -B -o package -DskipTests -Dtessera.cuda=OFF`):
    /usr/bin/python3 docs/verification/qa_vit.py make OUT      # checkpoints, inputs, reference logits under OUT/
    sh OUT/run.sh                                              # runs ./tessera classify for each case
    /usr/bin/python3 docs/verification/qa_vit.py check OUT     # prints max relative error per case
"""
import functools
import json
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image
from torchvision.models.vision_transformer import VisionTransformer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../models/src/test/resources/vision'))
from torchvision_vit import hf_state_dict  # noqa: E402


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_vit(d, image, patch, hidden, layers, heads, mlp, classes, channels=3, eps=1e-12, qkv_bias=True,
             labels='full', act='gelu'):
    """A ViTForImageClassification checkpoint in d/ and its torchvision twin (returned)."""
    os.makedirs(d, exist_ok=True)
    seen = image // patch * patch  # transformers' stride-p convolution ignores the last image % patch rows/columns
    ref = VisionTransformer(image_size=seen, patch_size=patch, num_layers=layers, num_heads=heads, hidden_dim=hidden,
                            mlp_dim=mlp, num_classes=classes,
                            norm_layer=functools.partial(torch.nn.LayerNorm, eps=eps)).eval()
    if channels != 3:
        ref.conv_proj = torch.nn.Conv2d(channels, hidden, kernel_size=patch, stride=patch)
    if act == 'gelu_new':
        for blk in ref.encoder.layers:
            blk.mlp[1] = torch.nn.GELU(approximate='tanh')
    sd = {}
    for k, v in ref.state_dict().items():
        if v.dim() > 1:
            sd[k] = torch.randn(*v.shape) * 0.2
        elif 'ln' in k and k.endswith('weight'):
            sd[k] = 1 + 0.1 * torch.randn(*v.shape)
        else:
            sd[k] = 0.1 * torch.randn(*v.shape)
    if not qkv_bias:
        for k in sd:
            if k.endswith('in_proj_bias'):
                sd[k] = torch.zeros_like(sd[k])
    ref.load_state_dict(sd)
    hf = hf_state_dict(sd, layers, hidden, qkv_bias)
    write_safetensors(os.path.join(d, 'model.safetensors'), hf)
    cfg = {"model_type": "vit", "architectures": ["ViTForImageClassification"], "hidden_size": hidden,
           "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": mlp, "image_size": image,
           "patch_size": patch, "num_channels": channels, "layer_norm_eps": eps, "hidden_act": act, "qkv_bias": qkv_bias}
    if labels == 'full':
        cfg["id2label"] = {str(i): "class_%d" % i for i in range(classes)}
    elif labels == 'partial':  # keys for some classes only
        cfg["id2label"] = {str(i): "class_%d" % i for i in range(0, classes, 2)}
        cfg["id2label"][str(classes - 1)] = "last"
    else:  # absent: num_labels only
        cfg["num_labels"] = classes
    json.dump(cfg, open(os.path.join(d, 'config.json'), 'w'), indent=1)
    return ref if seen == image else (lambda x: ref(x[:, :, :seen, :seen]))


def hf_preprocess(path, pp, image):
    """transformers' ViTImageProcessor / CLIPImageProcessor on one file, written from their published behaviour."""
    img = Image.open(path)
    img = img.convert('RGB')
    size = pp.get('size', image)
    square = pp.get('image_processor_type', 'ViTImageProcessor').startswith('ViT')
    if pp.get('do_resize', True):
        if isinstance(size, int):
            size = {'height': size, 'width': size} if square else {'shortest_edge': size}
        if 'shortest_edge' in size:
            s = size['shortest_edge']
            w, h = img.size
            short, long = (w, h) if w <= h else (h, w)
            ns, nl = s, int(s * long / short)
            nw, nh = (ns, nl) if w <= h else (nl, ns)
        else:
            nh, nw = size['height'], size['width']
        img = img.resize((nw, nh), resample=pp.get('resample', 2))
    a = np.asarray(img).astype(np.float64)
    if pp.get('do_center_crop', False):
        c = pp.get('crop_size', image)
        ch, cw = (c, c) if isinstance(c, int) else (c['height'], c['width'])
        top, left = (a.shape[0] - ch) // 2, (a.shape[1] - cw) // 2
        a = a[top:top + ch, left:left + cw]
    if pp.get('do_rescale', True):
        a = a * pp.get('rescale_factor', 1 / 255)
    if pp.get('do_normalize', True):
        a = (a - np.array(pp.get('image_mean', [0.5] * 3))) / np.array(pp.get('image_std', [0.5] * 3))
    return a.transpose(2, 0, 1)


def write_images(d):
    rng = np.random.default_rng(7)
    os.makedirs(d, exist_ok=True)
    smooth = lambda h, w, c: (np.clip(np.cumsum(np.cumsum(rng.normal(0, 6, (h, w, c)), 0), 1) / 20 + 128, 0, 255)).astype(np.uint8)
    Image.fromarray(smooth(61, 83, 3)).save(os.path.join(d, 'a_rgb_wide.png'))
    Image.fromarray(smooth(90, 47, 3)).save(os.path.join(d, 'b_rgb_tall.png'))
    Image.fromarray(smooth(50, 50, 1)[:, :, 0], 'L').save(os.path.join(d, 'c_gray.png'))
    Image.fromarray(smooth(40, 70, 4), 'RGBA').save(os.path.join(d, 'd_rgba.png'))
    Image.fromarray(smooth(64, 64, 3)).save(os.path.join(d, 'e_rgb.jpg'), quality=95)
    Image.fromarray(smooth(33, 31, 3)).save(os.path.join(d, 'f_small.bmp'))


CASES = [
    # name, model kwargs
    ('p14_i56', dict(image=56, patch=14, hidden=64, layers=2, heads=4, mlp=256, classes=10)),
    ('p32_i96', dict(image=96, patch=32, hidden=32, layers=1, heads=1, mlp=37, classes=3, eps=1e-6)),
    ('p8_i160', dict(image=160, patch=8, hidden=48, layers=2, heads=6, mlp=96, classes=1000, labels='none')),
    ('p32_i384', dict(image=384, patch=32, hidden=64, layers=2, heads=8, mlp=128, classes=21, labels='partial')),
    ('p8_i96_noqkvbias', dict(image=96, patch=8, hidden=40, layers=3, heads=5, mlp=80, classes=4, qkv_bias=False)),
    ('p16_i32_c1', dict(image=32, patch=16, hidden=24, layers=1, heads=3, mlp=48, classes=2, channels=1, eps=1e-5)),
    ('p14_i160_floor', dict(image=160, patch=14, hidden=32, layers=1, heads=4, mlp=64, classes=5)),
    ('p4_i20_gelunew', dict(image=20, patch=4, hidden=16, layers=4, heads=2, mlp=64, classes=6, act='gelu_new')),
]

# preprocessor_config.json variants for image-file cases (model 'p14_i56' is 56 px, 'p32_i96' is 96 px)
PREPROC = [
    ('pp_default', 'p14_i56', None),
    ('pp_size_int', 'p14_i56', {"do_resize": True, "size": 56, "resample": 2, "do_normalize": True,
                                "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                                "feature_extractor_type": "ViTFeatureExtractor"}),
    ('pp_hw_bicubic', 'p14_i56', {"do_resize": True, "size": {"height": 56, "width": 56}, "resample": 3,
                                  "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
                                  "rescale_factor": 0.00392156862745098, "image_processor_type": "ViTImageProcessor"}),
    ('pp_shortest_crop', 'p32_i96', {"do_resize": True, "size": {"shortest_edge": 110}, "resample": 3,
                                     "do_center_crop": True, "crop_size": {"height": 96, "width": 96},
                                     "image_mean": [0.48145466, 0.4578275, 0.40821073],
                                     "image_std": [0.26862954, 0.26130258, 0.27577711],
                                     "image_processor_type": "CLIPImageProcessor"}),
    ('pp_crop_int_nearest', 'p32_i96', {"do_resize": True, "size": {"shortest_edge": 96}, "resample": 0,
                                        "do_center_crop": True, "crop_size": 96, "rescale_factor": 0.004,
                                        "image_mean": 0.4, "image_std": 0.3, "image_processor_type": "CLIPImageProcessor"}),
    ('pp_no_normalize', 'p14_i56', {"do_resize": True, "size": {"height": 56, "width": 56}, "resample": 1,
                                    "do_normalize": False, "image_processor_type": "ViTImageProcessor"}),
]


def make(out):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    run = ['set -u', 'cd "$(dirname "$0")/../.." 2>/dev/null || true']
    run = ['#!/bin/sh', 'T=${TESSERA:-./tessera}', 'O=%s' % os.path.abspath(out)]
    refs = {}
    for name, kw in CASES:
        d = os.path.join(out, name)
        ref = make_vit(d, **kw)
        refs[name] = ref
        n = 5
        px = torch.randn(n, kw.get('channels', 3), kw['image'], kw['image'])
        np.save(os.path.join(d, 'pixels.npy'), px.numpy().astype(np.float32))
        with torch.no_grad():
            np.save(os.path.join(d, 'ref_logits.npy'), ref(px.double() if False else px).numpy())
        run.append('$T classify $O/%s/pixels.npy --model $O/%s --batch 2 --top 3 --logits-out $O/%s/out_logits.npy '
                   '> $O/%s/stdout.txt 2> $O/%s/stderr.txt; echo "%s rc=$?"' % (name, name, name, name, name, name))
    imgs = os.path.join(out, 'images')
    write_images(imgs)
    files = sorted(os.listdir(imgs))
    for name, model, pp in PREPROC:
        d = os.path.join(out, name)
        src = os.path.join(out, model)
        os.makedirs(d, exist_ok=True)
        for f in ('config.json', 'model.safetensors'):
            if not os.path.exists(os.path.join(d, f)):
                os.symlink(os.path.abspath(os.path.join(src, f)), os.path.join(d, f))
        image = dict(CASES)[model]['image']
        if pp is not None:
            json.dump(pp, open(os.path.join(d, 'preprocessor_config.json'), 'w'), indent=1)
        ppc = pp if pp is not None else {"size": {"height": image, "width": image}}
        px = np.stack([hf_preprocess(os.path.join(imgs, f), ppc, image) for f in files])
        np.save(os.path.join(d, 'ref_pixels.npy'), px.astype(np.float32))
        with torch.no_grad():
            np.save(os.path.join(d, 'ref_logits.npy'), refs[model](torch.tensor(px, dtype=torch.float32)).numpy())
        run.append('$T classify $O/images --model $O/%s --batch 4 --json --logits-out $O/%s/out_logits.npy '
                   '> $O/%s/stdout.txt 2> $O/%s/stderr.txt; echo "%s rc=$?"' % (name, name, name, name, name))
    open(os.path.join(out, 'run.sh'), 'w').write('\n'.join(run) + '\n')


def check(out):
    names = [c[0] for c in CASES] + [p[0] for p in PREPROC]
    for name in names:
        d = os.path.join(out, name)
        ref = np.load(os.path.join(d, 'ref_logits.npy')).astype(np.float64)
        try:
            got = np.load(os.path.join(d, 'out_logits.npy')).astype(np.float64)
        except Exception as e:
            err = open(os.path.join(d, 'stderr.txt')).read().strip().splitlines()
            print('%-22s FAILED: %s' % (name, err[-1] if err else e))
            continue
        if got.shape != ref.shape:
            print('%-22s shape %s vs %s' % (name, got.shape, ref.shape))
            continue
        rel = np.linalg.norm(got - ref) / np.linalg.norm(ref)
        rows = max(np.linalg.norm(got[i] - ref[i]) / np.linalg.norm(ref[i]) for i in range(len(ref)))
        top = (got.argmax(1) == ref.argmax(1)).all()
        print('%-22s rel %.2e  max row rel %.2e  argmax same %s' % (name, rel, rows, top))


if __name__ == '__main__':
    {'make': make, 'check': check}[sys.argv[1]](sys.argv[2])
