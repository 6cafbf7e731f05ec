import json, os, struct, sys, functools
import numpy as np, torch
from torchvision.models.vision_transformer import VisionTransformer
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../models/src/test/resources/vision'))
from torchvision_vit import hf_state_dict
torch.manual_seed(1)
def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode(); h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h)
        for b in blobs: f.write(b)
def rnd(*s, sc=0.1): return torch.randn(*s) * sc
def make_vit(d, image, patch, hidden, layers, heads, mlp, classes, eps, pre, labels=True):
    os.makedirs(d, exist_ok=True)
    ref = VisionTransformer(image_size=image, patch_size=patch, num_layers=layers, num_heads=heads, hidden_dim=hidden,
                            mlp_dim=mlp, num_classes=classes, norm_layer=functools.partial(torch.nn.LayerNorm, eps=eps)).eval()
    sd = {}
    for k, v in ref.state_dict().items():
        sd[k] = rnd(*v.shape, sc=0.2) if v.dim() > 1 else (1 + rnd(*v.shape) if 'ln' in k and k.endswith('weight') else rnd(*v.shape))
    ref.load_state_dict(sd)
    hf = hf_state_dict(sd, layers, hidden)
    write_safetensors(os.path.join(d, 'model.safetensors'), hf)
    cfg = {"model_type": "vit", "architectures": ["ViTForImageClassification"], "hidden_size": hidden,
           "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": mlp, "image_size": image,
           "patch_size": patch, "num_channels": 3, "layer_norm_eps": eps, "hidden_act": "gelu", "qkv_bias": True}
    if not labels:
        cfg["num_labels"] = classes
    if labels:
        cfg["id2label"] = {str(i): "lbl_%d" % i for i in range(classes)}
        cfg["label2id"] = {"lbl_%d" % i: i for i in range(classes)}
    json.dump(cfg, open(os.path.join(d, 'config.json'), 'w'), indent=1)
    if pre is not None:
        json.dump(pre, open(os.path.join(d, 'preprocessor_config.json'), 'w'), indent=1)
    torch.save(ref, os.path.join(d, 'ref.pt'))
make_vit('vit-c', 96, 8, 48, 2, 3, 100, 10, 1e-12, {"image_processor_type": "ViTImageProcessor", "do_resize": True,
         "size": {"height": 96, "width": 96}, "resample": 2, "do_rescale": True, "rescale_factor": 1/255, "do_normalize": True,
         "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]})
make_vit('vit-d', 64, 16, 64, 3, 4, 256, 4, 1e-6, {"image_processor_type": "ViTImageProcessor", "do_resize": True,
         "size": {"shortest_edge": 72}, "resample": 3, "do_center_crop": True, "crop_size": {"height": 64, "width": 64},
         "do_normalize": True, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]})
make_vit('vit-e', 40, 10, 30, 1, 5, 37, 3, 1e-5, {"feature_extractor_type": "ViTFeatureExtractor", "do_resize": True,
         "size": 40, "resample": 1, "do_normalize": False}, labels=False)
make_vit('vit-f', 32, 4, 24, 2, 2, 50, 6, 1e-6, None)
make_vit('vit-g', 56, 7, 42, 2, 6, 64, 5, 1e-6, {"image_processor_type": "ViTImageProcessor", "do_resize": True,
         "size": {"height": 56, "width": 56}, "resample": 0, "do_center_crop": False, "crop_size": {"height": 20, "width": 20}, "image_mean": [0.3,0.4,0.5], "image_std":[0.2,0.25,0.3]})
