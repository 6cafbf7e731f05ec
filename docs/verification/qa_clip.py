#!/usr/bin/env python3
"""QA cases for `tessera embed --image/--text` and `tessera clip` on random-weight CLIP checkpoints of several
shapes, against a float64 PyTorch reference written here from the published CLIP architecture (pre-LN ViT with
pre_layrnorm, causal text transformer, pooling as transformers 4.31-5.x pools: each text's largest id when eos_token_id is
the legacy 2, else its first eos_token_id (49407 when the config has none; position 0 when the text has none: the
eos_absent_wide case pools there); projections without bias; logit_scale.exp() * cosine).
transformers is not used.

Usage (from the repository root, after the CLI is built):
    /usr/bin/python3 docs/verification/qa_clip.py make OUT && sh OUT/run.sh && /usr/bin/python3 docs/verification/qa_clip.py check OUT
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qa_vit import write_safetensors  # noqa: E402

WORDS = ['a', 'photo', 'of', 'cat', 'dog', 'car', 'the', 'red', 'blue', 'big', 'small', 'tree', 'house', 'on', 'in']


def act_fn(name):
    return {'quick_gelu': lambda x: x * torch.sigmoid(1.702 * x), 'gelu': F.gelu,
            'gelu_new': lambda x: F.gelu(x, approximate='tanh')}[name]


def layer(x, p, pre, heads, act, eps, causal):
    n, s, d = x.shape
    hd = d // heads
    h = F.layer_norm(x, (d,), p[pre + 'layer_norm1.weight'], p[pre + 'layer_norm1.bias'], eps)
    qkv = [F.linear(h, p[pre + 'self_attn.%s_proj.weight' % t], p[pre + 'self_attn.%s_proj.bias' % t])
           .view(n, s, heads, hd).transpose(1, 2) for t in 'qkv']
    a = (qkv[0] @ qkv[1].transpose(-1, -2)) / hd ** 0.5
    if causal:
        a = a + torch.triu(torch.full((s, s), float('-inf'), dtype=x.dtype), 1)
    o = (a.softmax(-1) @ qkv[2]).transpose(1, 2).reshape(n, s, d)
    x = x + F.linear(o, p[pre + 'self_attn.out_proj.weight'], p[pre + 'self_attn.out_proj.bias'])
    h = F.layer_norm(x, (d,), p[pre + 'layer_norm2.weight'], p[pre + 'layer_norm2.bias'], eps)
    h = F.linear(act_fn(act)(F.linear(h, p[pre + 'mlp.fc1.weight'], p[pre + 'mlp.fc1.bias'])),
                 p[pre + 'mlp.fc2.weight'], p[pre + 'mlp.fc2.bias'])
    return x + h


def layer_params(p, pre, d, m):
    for n in ['q_proj', 'k_proj', 'v_proj', 'out_proj']:
        p[pre + 'self_attn.%s.weight' % n] = torch.randn(d, d) / d ** 0.5
        p[pre + 'self_attn.%s.bias' % n] = 0.1 * torch.randn(d)
    for n in ['layer_norm1', 'layer_norm2']:
        p[pre + n + '.weight'] = 1 + 0.1 * torch.randn(d)
        p[pre + n + '.bias'] = 0.1 * torch.randn(d)
    p[pre + 'mlp.fc1.weight'] = torch.randn(m, d) / d ** 0.5
    p[pre + 'mlp.fc1.bias'] = 0.1 * torch.randn(m)
    p[pre + 'mlp.fc2.weight'] = torch.randn(d, m) / m ** 0.5
    p[pre + 'mlp.fc2.bias'] = 0.1 * torch.randn(d)


def write_tokenizer(path, vocab_size, bos, eos):
    """A word-level tokenizer.json: words at ids 1.., <unk> 0, start/end tokens at `bos`/`eos`."""
    vocab, i = {'<unk>': 0}, 1
    for w in WORDS + ['w%d' % k for k in range(vocab_size)]:
        while i in (bos, eos):
            i += 1
        if i >= vocab_size:
            break
        vocab[w] = i
        i += 1
    vocab['<|startoftext|>'] = bos
    vocab['<|endoftext|>'] = eos
    added = [dict(id=i, content=c, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
             for i, c in [(bos, '<|startoftext|>'), (eos, '<|endoftext|>')]]
    st = lambda t: {"SpecialToken": {"id": t, "type_id": 0}}
    seq = lambda a: {"Sequence": {"id": a, "type_id": 0}}
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
           "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
           "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"},
           "post_processor": {"type": "TemplateProcessing", "single": [st('<|startoftext|>'), seq('A'), st('<|endoftext|>')],
                              "pair": [st('<|startoftext|>'), seq('A'), st('<|endoftext|>'), seq('B'), st('<|endoftext|>')],
                              "special_tokens": {t: {"id": t, "ids": [i], "tokens": [t]}
                                                 for t, i in [('<|startoftext|>', bos), ('<|endoftext|>', eos)]}},
           "decoder": None}
    json.dump(tok, open(path, 'w'))
    return vocab


def encode(vocab, text, bos, eos, maxlen):
    ids = [vocab.get(w, 0) for w in text.lower().split()]
    ids = ids[:maxlen - 2]
    return [bos] + ids + [eos]


def make_case(out, name, v, t, proj, bos, eos, eos_cfg, texts, n_img=3):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    p = {}
    dv, pv, sv, c = v['hidden_size'], v['patch_size'], v['image_size'], v.get('num_channels', 3)
    npatch = (sv // pv) ** 2
    p['vision_model.embeddings.patch_embedding.weight'] = torch.randn(dv, c, pv, pv) / (c * pv * pv) ** 0.5
    p['vision_model.embeddings.class_embedding'] = torch.randn(dv)
    p['vision_model.embeddings.position_embedding.weight'] = 0.5 * torch.randn(npatch + 1, dv)
    for n in ['pre_layrnorm', 'post_layernorm']:
        p['vision_model.%s.weight' % n] = 1 + 0.1 * torch.randn(dv)
        p['vision_model.%s.bias' % n] = 0.1 * torch.randn(dv)
    for i in range(v['num_hidden_layers']):
        layer_params(p, 'vision_model.encoder.layers.%d.' % i, dv, v['intermediate_size'])
    dt = t['hidden_size']
    p['text_model.embeddings.token_embedding.weight'] = torch.randn(t['vocab_size'], dt)
    p['text_model.embeddings.position_embedding.weight'] = 0.5 * torch.randn(t['max_position_embeddings'], dt)
    p['text_model.final_layer_norm.weight'] = 1 + 0.1 * torch.randn(dt)
    p['text_model.final_layer_norm.bias'] = 0.1 * torch.randn(dt)
    for i in range(t['num_hidden_layers']):
        layer_params(p, 'text_model.encoder.layers.%d.' % i, dt, t['intermediate_size'])
    p['visual_projection.weight'] = torch.randn(proj, dv) / dv ** 0.5
    p['text_projection.weight'] = torch.randn(proj, dt) / dt ** 0.5
    p['logit_scale'] = torch.tensor(2.6592)
    write_safetensors(os.path.join(d, 'model.safetensors'), p)
    tc = dict(t)
    if eos_cfg is not None:
        tc['eos_token_id'] = eos_cfg
    tc['bos_token_id'] = bos
    cfg = {"model_type": "clip", "architectures": ["CLIPModel"], "projection_dim": proj,
           "logit_scale_init_value": 2.6592, "vision_config": v, "text_config": tc}
    json.dump(cfg, open(os.path.join(d, 'config.json'), 'w'), indent=1)
    vocab = write_tokenizer(os.path.join(d, 'tokenizer.json'), t['vocab_size'], bos, eos)
    json.dump({"crop_size": sv, "do_center_crop": True, "size": sv, "resample": 3,
               "feature_extractor_type": "CLIPFeatureExtractor"}, open(os.path.join(d, 'preprocessor_config.json'), 'w'))

    pd = {k: x.double() for k, x in p.items()}
    px = torch.randn(n_img, c, sv, sv)
    veps, teps = v.get('layer_norm_eps', 1e-5), t.get('layer_norm_eps', 1e-5)
    with torch.no_grad():
        x = F.conv2d(px.double(), pd['vision_model.embeddings.patch_embedding.weight'], stride=pv).flatten(2).transpose(1, 2)
        x = torch.cat([pd['vision_model.embeddings.class_embedding'].expand(n_img, 1, dv), x], 1)
        x = x + pd['vision_model.embeddings.position_embedding.weight']
        x = F.layer_norm(x, (dv,), pd['vision_model.pre_layrnorm.weight'], pd['vision_model.pre_layrnorm.bias'], veps)
        for i in range(v['num_hidden_layers']):
            x = layer(x, pd, 'vision_model.encoder.layers.%d.' % i, v['num_attention_heads'], v.get('hidden_act', 'quick_gelu'), veps, False)
        pooled = F.layer_norm(x[:, 0], (dv,), pd['vision_model.post_layernorm.weight'], pd['vision_model.post_layernorm.bias'], veps)
        img = F.linear(pooled, pd['visual_projection.weight'])
        txt = []
        all_ids = [encode(vocab, text, bos, eos, t['max_position_embeddings']) for text in texts]
        cfg_eos = eos_cfg if eos_cfg is not None else 49407
        for ids in all_ids:
            h = pd['text_model.embeddings.token_embedding.weight'][torch.tensor([ids])] + \
                pd['text_model.embeddings.position_embedding.weight'][:len(ids)]
            for i in range(t['num_hidden_layers']):
                h = layer(h, pd, 'text_model.encoder.layers.%d.' % i, t['num_attention_heads'], t.get('hidden_act', 'quick_gelu'), teps, True)
            h = F.layer_norm(h, (dt,), pd['text_model.final_layer_norm.weight'], pd['text_model.final_layer_norm.bias'], teps)
            pos = int(np.argmax(ids)) if cfg_eos == 2 else (ids.index(cfg_eos) if cfg_eos in ids else 0)
            txt.append(F.linear(h[0, pos], pd['text_projection.weight']))
        txt = torch.stack(txt)
        ni, nt = img / img.norm(dim=-1, keepdim=True), txt / txt.norm(dim=-1, keepdim=True)
        probs = (pd['logit_scale'].exp() * ni @ nt.T).softmax(-1)
    np.save(os.path.join(d, 'pixels.npy'), px.numpy().astype(np.float32))
    np.save(os.path.join(d, 'ref_image.npy'), img.numpy())
    np.save(os.path.join(d, 'ref_text.npy'), txt.numpy())
    np.save(os.path.join(d, 'ref_probs.npy'), probs.numpy())
    targs = ' '.join('--text "%s"' % s for s in texts)
    return ['$T embed --model $O/{n} --image $O/{n}/pixels.npy --out $O/{n}/out_image.npy > $O/{n}/stdout_i.txt 2> $O/{n}/stderr_i.txt; echo "{n} image rc=$?"'.format(n=name),
            '$T embed --model $O/{n} {t} --out $O/{n}/out_text.npy > $O/{n}/stdout_t.txt 2> $O/{n}/stderr_t.txt; echo "{n} text rc=$?"'.format(n=name, t=targs),
            '$T clip $O/{n}/pixels.npy --model $O/{n} --labels "{l}" --json > $O/{n}/stdout_c.txt 2> $O/{n}/stderr_c.txt; echo "{n} clip rc=$?"'.format(n=name, l=','.join(texts))]


LONG = ' '.join(WORDS * 4)
CASES = [
    # name, vision, text, proj, bos, eos (tokenizer), eos_token_id in config (None: absent)
    ('legacy_eos2', dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
                         patch_size=8, hidden_act='quick_gelu'),
     dict(vocab_size=60, hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
          max_position_embeddings=16, hidden_act='quick_gelu'), 24, 58, 59, 2),
    ('eos_absent_wide', dict(hidden_size=96, intermediate_size=160, num_hidden_layers=1, num_attention_heads=3, image_size=56,
                             patch_size=14, hidden_act='gelu', layer_norm_eps=1e-6),
     dict(vocab_size=80, hidden_size=64, intermediate_size=100, num_hidden_layers=3, num_attention_heads=8,
          max_position_embeddings=77, hidden_act='gelu'), 40, 78, 79, None),
    ('eos_first_not_max', dict(hidden_size=40, intermediate_size=48, num_hidden_layers=2, num_attention_heads=5, image_size=64,
                               patch_size=32),
     dict(vocab_size=70, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
          max_position_embeddings=10, hidden_act='quick_gelu'), 16, 1, 3, 3),
    ('eos_max_new', dict(hidden_size=24, intermediate_size=48, num_hidden_layers=3, num_attention_heads=2, image_size=24,
                         patch_size=4, hidden_act='quick_gelu'),
     dict(vocab_size=50, hidden_size=24, intermediate_size=30, num_hidden_layers=1, num_attention_heads=3,
          max_position_embeddings=20, hidden_act='gelu_new'), 64, 48, 49, 49),
]
CASES.append(('patch7_i30_floor', dict(hidden_size=28, intermediate_size=40, num_hidden_layers=2, num_attention_heads=4,
                                       image_size=30, patch_size=7, hidden_act='quick_gelu'),
              dict(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                   max_position_embeddings=12), 12, 38, 39, 39))
TEXTS = ['a photo of a cat', 'the red car', 'dog', 'a big blue house on the tree in the small car', LONG, 'unknownword cat']


def make(out):
    torch.manual_seed(3)
    run = ['#!/bin/sh', 'T=${TESSERA:-./tessera}', 'O=%s' % os.path.abspath(out)]
    for name, v, t, proj, bos, eos, eos_cfg in CASES:
        run += make_case(out, name, v, t, proj, bos, eos, eos_cfg, TEXTS)
    open(os.path.join(out, 'run.sh'), 'w').write('\n'.join(run) + '\n')


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def check(out):
    for name, *_ in CASES:
        d = os.path.join(out, name)
        for kind, f, ref in [('image', 'out_image.npy', 'ref_image.npy'), ('text', 'out_text.npy', 'ref_text.npy')]:
            r = np.load(os.path.join(d, ref))
            try:
                g = np.load(os.path.join(d, f)).astype(np.float64)
                rows = max(rel(g[i], r[i]) for i in range(len(r)))
                print('%-18s %-5s rel %.2e max row rel %.2e' % (name, kind, rel(g, r), rows))
            except Exception as e:
                err = open(os.path.join(d, 'stderr_%s.txt' % kind[0])).read().strip().splitlines()
                print('%-18s %-5s FAILED: %s' % (name, kind, err[-1] if err else e))
        try:
            js = json.load(open(os.path.join(d, 'stdout_c.txt')))
            g = np.array([[o['probs'][s.strip()] for s in TEXTS] for o in js])
            r = np.load(os.path.join(d, 'ref_probs.npy'))
            print('%-18s probs max abs diff %.2e' % (name, np.abs(g - r).max()))
        except Exception as e:
            err = open(os.path.join(d, 'stderr_c.txt')).read().strip().splitlines()
            print('%-18s clip FAILED: %s %s' % (name, err[-1] if err else '', e))


if __name__ == '__main__':
    {'make': make, 'check': check}[sys.argv[1]](sys.argv[2])
