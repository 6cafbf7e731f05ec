"""`tessera classify --image-backend transforms|pil` against the issue's own reference stack: torchvision 0.14's
VisionTransformer (random weights) after a torchvision.transforms pipeline on PIL images (Resize, CenterCrop,
ToTensor, Normalize), on the Debian Python (session 21, docs/verification.md):
    /usr/bin/python3 docs/verification/check_transforms_backend.py [TESSERA] [OUT]
Random PNGs of random sizes (so that about a quarter of the crop offsets end in .5 with an odd floor, where
CenterCrop rounds up and transformers down) and chelsea.png, three resize / crop settings; prints, per setting,
each backend's worst relative logit error against the reference and how many images the pil backend misses by
more than 1e-4.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.models.vision_transformer import VisionTransformer

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '../../models/src/test/resources/vision'))
from torchvision_vit import hf_state_dict  # noqa: E402

tessera = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else './tessera')
out = sys.argv[2] if len(sys.argv) > 2 else '/tmp/tessera-transforms-check'
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2121)
images = [os.path.join(here, '../../runtime/src/test/resources/image/chelsea.png')]
for i in range(11):
    h, w = rng.integers(40, 300, 2)
    p = os.path.join(out, f'img{i}.png')
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
    images.append(p)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        b = v.contiguous().numpy().astype('<f4').tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


MEAN, STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
torch.manual_seed(21)
for k, (image, shortest, resample) in enumerate([(32, 37, 3), (32, 45, 2), (48, 53, 3)]):
    ref = VisionTransformer(image_size=image, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128,
                            num_classes=5).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(0, 0.2)
    d = os.path.join(out, f'vit{k}')
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, 'model.safetensors'), hf_state_dict(ref.state_dict(), 2, 64))
    json.dump({"model_type": "vit", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
               "intermediate_size": 128, "image_size": image, "patch_size": 8, "num_channels": 3,
               "layer_norm_eps": 1e-6, "hidden_act": "gelu", "qkv_bias": True,
               "id2label": {str(i): f"c{i}" for i in range(5)}}, open(os.path.join(d, 'config.json'), 'w'))
    json.dump({"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": shortest},
               "do_center_crop": True, "crop_size": image, "resample": resample, "image_mean": MEAN,
               "image_std": STD}, open(os.path.join(d, 'preprocessor_config.json'), 'w'))
    pipe = T.Compose([T.Resize(shortest, interpolation={2: T.InterpolationMode.BILINEAR,
                                                        3: T.InterpolationMode.BICUBIC}[resample]),
                      T.CenterCrop(image), T.ToTensor(), T.Normalize(MEAN, STD)])
    with torch.no_grad():
        want = ref(torch.stack([pipe(Image.open(p).convert('RGB')) for p in images])).numpy()
    row = {"setting": f"shortest {shortest}, crop {image}, resample {resample}"}
    for backend in ['transforms', 'pil']:
        lo = os.path.join(d, backend + '.npy')
        subprocess.run([tessera, 'classify', *images, '--model', d, '--image-backend', backend, '--logits-out', lo],
                       check=True, capture_output=True)
        got = np.load(lo)
        rel = np.abs(got - want).max(axis=1) / np.abs(want).max(axis=1)
        row[backend] = float(rel.max())
        row[backend + '_images_over_1e-4'] = int((rel > 1e-4).sum())
        row[backend + '_worst_of_the_rest'] = float(rel[rel <= 1e-4].max()) if (rel <= 1e-4).any() else None
    print(json.dumps(row))
