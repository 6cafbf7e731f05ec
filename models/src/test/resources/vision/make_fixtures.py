"""Random-weight ViT and CLIP checkpoints with reference outputs for models/src/test/java/.../vit and .../clip.

Run from this folder:  /usr/bin/python3 make_fixtures.py
ViT reference: torchvision.models.VisionTransformer (0.14) loaded with the same weights (HF -> torchvision name
mapping below). CLIP reference: the architecture written here in torch from the published description
(transformers is not used). Checkpoints are written as safetensors by hand (8-byte LE header size, JSON header,
raw little-endian data).
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.vision_transformer import VisionTransformer

import clip_reference
from torchvision_vit import hf_state_dict

torch.manual_seed(0)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().to(torch.float32).contiguous().numpy().astype('<f4')
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def rnd(*shape, s=0.1):
    return torch.randn(*shape) * s


# ---------------------------------------------------------------------------------------------------- ViT
def make_vit(name, image, patch, hidden, layers, heads, mlp, classes, batch, wscale=0.2, bscale=0.1):
    d = os.path.join(name)
    os.makedirs(d, exist_ok=True)
    ref = VisionTransformer(image_size=image, patch_size=patch, num_layers=layers, num_heads=heads,
                            hidden_dim=hidden, mlp_dim=mlp, num_classes=classes).eval()
    sd = {}
    for k, v in ref.state_dict().items():
        sd[k] = rnd(*v.shape, s=wscale) if v.dim() > 1 else (1 + rnd(*v.shape) if 'ln' in k and k.endswith('weight')
                                                             else rnd(*v.shape, s=bscale))
    ref.load_state_dict(sd)
    hf = hf_state_dict(sd, layers, hidden)
    write_safetensors(os.path.join(d, 'model.safetensors'), hf)
    cfg = {"model_type": "vit", "architectures": ["ViTForImageClassification"], "hidden_size": hidden,
           "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": mlp, "image_size": image,
           "patch_size": patch, "num_channels": 3, "layer_norm_eps": 1e-6, "hidden_act": "gelu", "qkv_bias": True,
           "id2label": {str(i): "class_%d" % i for i in range(classes)}}
    json.dump(cfg, open(os.path.join(d, 'config.json'), 'w'), indent=1)
    px = torch.randn(batch, 3, image, image)
    with torch.no_grad():
        logits = ref(px)
    np.save(os.path.join(d, 'pixels.npy'), px.numpy().astype(np.float32))
    np.save(os.path.join(d, 'logits.npy'), logits.numpy().astype(np.float32))
    if name == 'vit-a':
        # the real photo through the ViTImageProcessor defaults (resize to image x image, bilinear, mean/std 0.5)
        from PIL import Image
        img = Image.open('../../../../../runtime/src/test/resources/image/chelsea.png').convert('RGB')
        a = np.asarray(img.resize((image, image), Image.BILINEAR)).astype(np.float64) / 255.0
        x = torch.tensor(((a - 0.5) / 0.5).transpose(2, 0, 1)[None], dtype=torch.float32)
        with torch.no_grad():
            np.save(os.path.join(d, 'chelsea_logits.npy'), ref(x).numpy().astype(np.float32))


# ---------------------------------------------------------------------------------------------------- CLIP
def layer_params(p, pre, d, m, s):
    for n in ['q_proj', 'k_proj', 'v_proj', 'out_proj']:
        p[pre + 'self_attn.%s.weight' % n] = rnd(d, d, s=s['out' if n == 'out_proj' else 'qkv'])
        p[pre + 'self_attn.%s.bias' % n] = rnd(d, s=s['bias'])
    for n in ['layer_norm1', 'layer_norm2']:
        p[pre + n + '.weight'] = 1 + rnd(d, s=s['ln'])
        p[pre + n + '.bias'] = rnd(d, s=s['ln'])
    p[pre + 'mlp.fc1.weight'] = rnd(m, d, s=s['fc1'])
    p[pre + 'mlp.fc1.bias'] = rnd(m, s=s['bias'])
    p[pre + 'mlp.fc2.weight'] = rnd(d, m, s=s['fc2'])
    p[pre + 'mlp.fc2.bias'] = rnd(d, s=s['bias'])


# standard deviations of the random weights: 'wide' (clip-a, clip-b) magnifies rounding through the layers; 'hf' is
# the scale of a Hugging Face-initialised CLIPModel (initializer_range 0.02, factor 1: its _init_weights), where bf16
# stays close (as vit-c for ViT)
def wide_scales(d, layers):
    return dict(qkv=0.2, out=0.2, fc1=0.2, fc2=0.2, bias=0.1, ln=0.1, patch=0.2, cls=0.5, pos=0.5, tok=0.5, proj=0.2)


def hf_scales(d, layers):
    attn = d ** -0.5 * (2 * layers) ** -0.5
    return dict(qkv=attn, out=d ** -0.5, fc1=(2 * d) ** -0.5, fc2=attn, bias=0.02, ln=0.02, patch=0.02, cls=d ** -0.5,
                pos=0.02, tok=0.02, proj=d ** -0.5)


def make_clip(name, v, t, proj, eos_token_id, texts, scales=wide_scales):
    os.makedirs(name, exist_ok=True)
    p = {}
    dv, pv, sv = v['hidden_size'], v['patch_size'], v['image_size']
    npatch = (sv // pv) ** 2
    sv_ = scales(dv, v['num_hidden_layers'])
    p['vision_model.embeddings.patch_embedding.weight'] = rnd(dv, 3, pv, pv, s=sv_['patch'])
    p['vision_model.embeddings.class_embedding'] = rnd(dv, s=sv_['cls'])
    p['vision_model.embeddings.position_embedding.weight'] = rnd(npatch + 1, dv, s=sv_['pos'])
    for n in ['pre_layrnorm', 'post_layernorm']:
        p['vision_model.%s.weight' % n] = 1 + rnd(dv, s=sv_['ln'])
        p['vision_model.%s.bias' % n] = rnd(dv, s=sv_['ln'])
    for i in range(v['num_hidden_layers']):
        layer_params(p, 'vision_model.encoder.layers.%d.' % i, dv, v['intermediate_size'], sv_)
    dt = t['hidden_size']
    st = scales(dt, t['num_hidden_layers'])
    p['text_model.embeddings.token_embedding.weight'] = rnd(t['vocab_size'], dt, s=st['tok'])
    p['text_model.embeddings.position_embedding.weight'] = rnd(t['max_position_embeddings'], dt, s=st['pos'])
    p['text_model.final_layer_norm.weight'] = 1 + rnd(dt, s=st['ln'])
    p['text_model.final_layer_norm.bias'] = rnd(dt, s=st['ln'])
    for i in range(t['num_hidden_layers']):
        layer_params(p, 'text_model.encoder.layers.%d.' % i, dt, t['intermediate_size'], st)
    p['visual_projection.weight'] = rnd(proj, dv, s=sv_['proj'])
    p['text_projection.weight'] = rnd(proj, dt, s=st['proj'])
    p['logit_scale'] = torch.tensor(2.6592)
    write_safetensors(os.path.join(name, 'model.safetensors'), p)
    t = dict(t, eos_token_id=eos_token_id)
    cfg = {"model_type": "clip", "architectures": ["CLIPModel"], "projection_dim": proj,
           "logit_scale_init_value": 2.6592, "vision_config": v, "text_config": t}
    json.dump(cfg, open(os.path.join(name, 'config.json'), 'w'), indent=1)

    pd = {k: x.double() for k, x in p.items()}
    px = torch.randn(2, 3, sv, sv)
    with torch.no_grad():
        img, states = clip_reference.image_embeds(pd, v, px.double())
        txt = clip_reference.text_embeds(pd, t, texts, eos_token_id)
        ni, nt = img / img.norm(dim=-1, keepdim=True), txt / txt.norm(dim=-1, keepdim=True)
        logits = pd['logit_scale'].exp() * ni @ nt.T
    maxlen = max(len(i) for i in texts)
    ids_arr = np.full((len(texts), maxlen), -1, dtype=np.int32)
    for i, ids in enumerate(texts):
        ids_arr[i, :len(ids)] = ids
    np.save(os.path.join(name, 'pixels.npy'), px.numpy().astype(np.float32))
    np.save(os.path.join(name, 'text_ids.npy'), ids_arr)
    np.save(os.path.join(name, 'image_embeds.npy'), img.numpy().astype(np.float32))
    np.save(os.path.join(name, 'text_embeds.npy'), txt.numpy().astype(np.float32))
    np.save(os.path.join(name, 'logits_per_image.npy'), logits.numpy().astype(np.float32))
    np.save(os.path.join(name, 'hidden_m2.npy'), states[-2].numpy().astype(np.float32))


make_vit('vit-a', image=32, patch=16, hidden=64, layers=2, heads=4, mlp=128, classes=5, batch=2)
make_vit('vit-b', image=48, patch=8, hidden=96, layers=3, heads=3, mlp=200, classes=7, batch=3)
make_clip('clip-a',
          dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
               patch_size=8, num_channels=3, layer_norm_eps=1e-5, hidden_act='quick_gelu'),
          dict(vocab_size=99, hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
               max_position_embeddings=16, layer_norm_eps=1e-5, hidden_act='quick_gelu'),
          proj=24, eos_token_id=2, texts=[[97, 5, 6, 7, 98], [97, 40, 2, 98], [97, 3, 4, 5, 2, 7, 8, 9, 98, 0, 0]])
make_clip('clip-b',
          dict(hidden_size=48, intermediate_size=80, num_hidden_layers=3, num_attention_heads=3, image_size=30,
               patch_size=6, num_channels=3, layer_norm_eps=1e-5, hidden_act='gelu'),
          dict(vocab_size=120, hidden_size=40, intermediate_size=72, num_hidden_layers=1, num_attention_heads=5,
               max_position_embeddings=12, layer_norm_eps=1e-5, hidden_act='quick_gelu'),
          proj=20, eos_token_id=7, texts=[[1, 110, 115, 7], [1, 7, 119, 119], [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 7]])
# weights at the scale of a trained / HF-initialised ViT (std 0.02): where bf16's rounding stays small (vit-a and
# vit-b's std 0.2 magnify it through the layers, for PyTorch's bf16 as for ours); made last so that the fixtures
# above keep their random streams
make_vit('vit-c', image=32, patch=8, hidden=48, layers=2, heads=4, mlp=96, classes=10, batch=3, wscale=0.02,
         bscale=0.02)
# CLIP at a Hugging Face-initialised scale (the bf16 bound of CudaClipTest applies here as given; clip-a and clip-b's
# wide weights magnify bf16 rounding for PyTorch's autocast too: bf16_reference.json)
make_clip('clip-c',
          dict(hidden_size=64, intermediate_size=160, num_hidden_layers=3, num_attention_heads=4, image_size=28,
               patch_size=7, num_channels=3, layer_norm_eps=1e-5, hidden_act='quick_gelu'),
          dict(vocab_size=77, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
               max_position_embeddings=9, layer_norm_eps=1e-5, hidden_act='gelu'),
          proj=16, eos_token_id=76, texts=[[75, 3, 4, 76], [75, 76], [75, 10, 20, 30, 40, 50, 60, 70, 76]],
          scales=hf_scales)
print('ok')


# a word-level tokenizer.json for clip-a (vocab 99: 0 <unk>, 1..96 words, 97 start, 98 end), for the CLI tests
def write_tokenizer(path):
    words = ['<unk>', 'a', 'photo', 'of', 'cat', 'dog', 'car', 'the', 'red', 'blue'] + ['w%d' % i for i in range(10, 97)]
    vocab = {w: i for i, w in enumerate(words)}
    vocab['<|startoftext|>'] = 97
    vocab['<|endoftext|>'] = 98
    added = [dict(id=i, content=c, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
             for i, c in [(97, '<|startoftext|>'), (98, '<|endoftext|>')]]
    st = lambda t: {"SpecialToken": {"id": t, "type_id": 0}}
    seq = lambda a: {"Sequence": {"id": a, "type_id": 0}}
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
           "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
           "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"},
           "post_processor": {"type": "TemplateProcessing",
                              "single": [st('<|startoftext|>'), seq('A'), st('<|endoftext|>')],
                              "pair": [st('<|startoftext|>'), seq('A'), st('<|endoftext|>'), seq('B'), st('<|endoftext|>')],
                              "special_tokens": {t: {"id": t, "ids": [i], "tokens": [t]}
                                                 for t, i in [('<|startoftext|>', 97), ('<|endoftext|>', 98)]}},
           "decoder": None}
    json.dump(tok, open(path, 'w'))


write_tokenizer('clip-a/tokenizer.json')
