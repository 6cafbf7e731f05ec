"""ViT-B/16 (224, 1000 classes) with random weights for VitBench: torchvision's vit_b_16 exported to ONNX
(vit_b16.onnx) and the same weights as HF safetensors + config.json (model.safetensors), ~350 MB each, into OUT.
Also writes pixels.npy (batch 2) and torch_logits.npy to check that both files are the same model.

    /usr/bin/python3 bench/python/vit_export.py bench/target/vit-b16
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from torchvision.models import vit_b_16

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../models/src/test/resources/vision'))
from torchvision_vit import hf_state_dict  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else 'bench/target/vit-b16'
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
m = vit_b_16(weights=None).eval()
with torch.no_grad():  # torchvision zero-initialises the head: make the logits informative
    torch.nn.init.normal_(m.heads.head.weight, std=0.02)
    torch.nn.init.normal_(m.heads.head.bias, std=0.02)
sd = m.state_dict()
hidden, layers = 768, 12
hf = hf_state_dict(sd, layers, hidden)
header, blobs, off = {}, [], 0
for k, v in hf.items():
    bts = v.detach().float().contiguous().numpy().astype('<f4').tobytes()
    header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(bts)]}
    blobs.append(bts)
    off += len(bts)
hb = json.dumps(header).encode()
hb += b' ' * ((8 - len(hb) % 8) % 8)
with open(os.path.join(out, 'model.safetensors'), 'wb') as f:
    f.write(struct.pack('<Q', len(hb)))
    f.write(hb)
    for bts in blobs:
        f.write(bts)
json.dump({"model_type": "vit", "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
           "intermediate_size": 3072, "image_size": 224, "patch_size": 16, "num_channels": 3, "layer_norm_eps": 1e-6,
           "hidden_act": "gelu", "qkv_bias": True, "num_labels": 1000}, open(os.path.join(out, 'config.json'), 'w'))
x = torch.randn(2, 3, 224, 224)
torch.onnx.export(m, x, os.path.join(out, 'vit_b16.onnx'), input_names=['pixel_values'], output_names=['logits'],
                  dynamic_axes={'pixel_values': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=14)
with torch.no_grad():
    np.save(os.path.join(out, 'torch_logits.npy'), m(x).numpy())
np.save(os.path.join(out, 'pixels.npy'), x.numpy())
print('wrote', out)
