"""CLIP's forward written in torch from the published architecture (transformers is not used).

Shared by make_fixtures.py (the float64 references of the clip-* fixtures) and bf16_reference.py (what PyTorch's own
bf16 autocast gives on them). `p` maps Hugging Face CLIPModel parameter names to tensors; `v` and `t` are the
vision_config and text_config dicts of config.json. Works in whatever dtype `p` and the inputs have.
"""
import numpy as np
import torch
import torch.nn.functional as F


def act_fn(name):
    return {'quick_gelu': lambda x: x * torch.sigmoid(1.702 * x), 'gelu': F.gelu}[name]


def layer(x, p, pre, heads, act, eps, causal):
    n, s, d = x.shape
    hd = d // heads
    h = F.layer_norm(x, (d,), p[pre + 'layer_norm1.weight'], p[pre + 'layer_norm1.bias'], eps)
    q = F.linear(h, p[pre + 'self_attn.q_proj.weight'], p[pre + 'self_attn.q_proj.bias']).view(n, s, heads, hd).transpose(1, 2)
    k = F.linear(h, p[pre + 'self_attn.k_proj.weight'], p[pre + 'self_attn.k_proj.bias']).view(n, s, heads, hd).transpose(1, 2)
    v = F.linear(h, p[pre + 'self_attn.v_proj.weight'], p[pre + 'self_attn.v_proj.bias']).view(n, s, heads, hd).transpose(1, 2)
    a = (q @ k.transpose(-1, -2)) / hd ** 0.5
    if causal:
        a = a + torch.triu(torch.full((s, s), float('-inf'), dtype=a.dtype), 1)
    o = (a.softmax(-1) @ v).transpose(1, 2).reshape(n, s, d)
    x = x + F.linear(o, p[pre + 'self_attn.out_proj.weight'], p[pre + 'self_attn.out_proj.bias'])
    h = F.layer_norm(x, (d,), p[pre + 'layer_norm2.weight'], p[pre + 'layer_norm2.bias'], eps)
    h = F.linear(act_fn(act)(F.linear(h, p[pre + 'mlp.fc1.weight'], p[pre + 'mlp.fc1.bias'])), p[pre + 'mlp.fc2.weight'], p[pre + 'mlp.fc2.bias'])
    return x + h


def image_embeds(p, v, px, eps=1e-5):
    """(projected image embeddings [N, proj], the hidden states before and after each vision layer)."""
    n, dv, pv = px.shape[0], v['hidden_size'], v['patch_size']
    x = F.conv2d(px, p['vision_model.embeddings.patch_embedding.weight'], stride=pv).flatten(2).transpose(1, 2)
    x = torch.cat([p['vision_model.embeddings.class_embedding'].expand(n, 1, dv), x], 1)
    x = x + p['vision_model.embeddings.position_embedding.weight']
    x = F.layer_norm(x, (dv,), p['vision_model.pre_layrnorm.weight'], p['vision_model.pre_layrnorm.bias'], eps)
    states = [x]
    for i in range(v['num_hidden_layers']):
        x = layer(x, p, 'vision_model.encoder.layers.%d.' % i, v['num_attention_heads'], v['hidden_act'], eps, False)
        states.append(x)
    pooled = F.layer_norm(x[:, 0], (dv,), p['vision_model.post_layernorm.weight'], p['vision_model.post_layernorm.bias'], eps)
    return F.linear(pooled, p['visual_projection.weight']), states


def text_embeds(p, t, texts, eos_token_id, eps=1e-5):
    """Projected text embeddings [len(texts), proj] of token-id lists, each run alone (no padding), pooled as
    transformers' CLIPTextTransformer (4.31 to 5.x) pools: at each text's largest id when `eos_token_id` is the legacy
    2, else at the first `eos_token_id` (position 0 without one)."""
    dt = t['hidden_size']
    out = []
    for ids in texts:
        s = len(ids)
        h = p['text_model.embeddings.token_embedding.weight'][torch.tensor([ids])] \
            + p['text_model.embeddings.position_embedding.weight'][:s]
        for i in range(t['num_hidden_layers']):
            h = layer(h, p, 'text_model.encoder.layers.%d.' % i, t['num_attention_heads'], t['hidden_act'], eps, True)
        h = F.layer_norm(h, (dt,), p['text_model.final_layer_norm.weight'], p['text_model.final_layer_norm.bias'], eps)
        pos = int(np.argmax(ids)) if eos_token_id == 2 else (ids.index(eos_token_id) if eos_token_id in ids else 0)
        out.append(F.linear(h[0, pos], p['text_projection.weight']))
    return torch.stack(out)
