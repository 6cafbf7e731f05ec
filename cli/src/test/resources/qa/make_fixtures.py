"""Fixtures for cli/src/test/java/dev/tessera/cli/QaRegressionTest.java (bugs found by docs/verification/qa_*.py).

Run from the repository root:  /usr/bin/python3 cli/src/test/resources/qa/make_fixtures.py
Reference: torchvision 0.14 VisionTransformer with the same weights (qa_vit.make_vit), images preprocessed as
transformers' ViTImageProcessor does with Pillow 9.4 (qa_vit.hf_preprocess).
  vit-gray/      num_channels 1: pixels.npy [2, 1, 16, 16] and ref_logits.npy
  vit-int-size/  preprocessor_config.json {"size": 48, "resample": 0} (a bare int = 48x48 square for ViT, nearest),
                 wide.png (32x20) and ref_logits.npy
  vit-floor/     image_size 20, patch_size 8: transformers' convolution sees the top-left 16x16 (4 patches);
                 pixels.npy [2, 3, 20, 20] and ref_logits.npy (torchvision at 16 px on the cropped pixels)
  vit-one-label/ num_labels 1 (no id2label), patch 7 on 21 px, hidden 42 / 3 heads, 1 layer, eps 1e-5:
                 pixels.npy [3, 3, 21, 21] and ref_logits.npy [3, 1] (made last: the fixtures above are unchanged)
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', '..', '..', 'docs', 'verification'))
import qa_vit  # noqa: E402

torch.manual_seed(21)
rng = np.random.default_rng(21)

d = os.path.join(HERE, 'vit-gray')
ref = qa_vit.make_vit(d, image=16, patch=8, hidden=16, layers=1, heads=2, mlp=24, classes=3, channels=1, eps=1e-6)
px = torch.randn(2, 1, 16, 16)
np.save(os.path.join(d, 'pixels.npy'), px.numpy())
with torch.no_grad():
    np.save(os.path.join(d, 'ref_logits.npy'), ref(px).numpy())

d = os.path.join(HERE, 'vit-int-size')
ref = qa_vit.make_vit(d, image=48, patch=16, hidden=16, layers=1, heads=2, mlp=32, classes=3, eps=1e-12)
pp = {"do_resize": True, "size": 48, "resample": 0, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5],
      "image_std": [0.5, 0.5, 0.5], "feature_extractor_type": "ViTFeatureExtractor"}
json.dump(pp, open(os.path.join(d, 'preprocessor_config.json'), 'w'), indent=1)
a = np.clip(np.cumsum(np.cumsum(rng.normal(0, 10, (20, 32, 3)), 0), 1) / 8 + 128, 0, 255).astype(np.uint8)
Image.fromarray(a).save(os.path.join(d, 'wide.png'))
x = torch.tensor(qa_vit.hf_preprocess(os.path.join(d, 'wide.png'), pp, 48)[None], dtype=torch.float32)
with torch.no_grad():
    np.save(os.path.join(d, 'ref_logits.npy'), ref(x).numpy())

d = os.path.join(HERE, 'vit-floor')
ref = qa_vit.make_vit(d, image=20, patch=8, hidden=16, layers=1, heads=2, mlp=24, classes=4, eps=1e-12)
px = torch.randn(2, 3, 20, 20)
np.save(os.path.join(d, 'pixels.npy'), px.numpy())
with torch.no_grad():
    np.save(os.path.join(d, 'ref_logits.npy'), ref(px).numpy())
d = os.path.join(HERE, 'vit-one-label')
ref = qa_vit.make_vit(d, image=21, patch=7, hidden=42, layers=1, heads=3, mlp=50, classes=1, eps=1e-5, labels='none')
px = torch.randn(3, 3, 21, 21)
np.save(os.path.join(d, 'pixels.npy'), px.numpy())
with torch.no_grad():
    np.save(os.path.join(d, 'ref_logits.npy'), ref(px).numpy())
print('ok')
