"""torchvision VisionTransformer parameters under Hugging Face ViTForImageClassification names.

Shared by the scripts that write ViT checkpoints from a torchvision reference: make_fixtures.py (here),
bench/python/vit_export.py, docs/verification/qa_vit.py and docs/verification/audit5/vit_make.py (those add this
folder to sys.path). torchvision keeps q, k and v in one in_proj matrix; HF splits them.
"""


# (HF name, torchvision name) of the tensors outside the encoder layers
_TOP_LEVEL = [
    ('vit.embeddings.cls_token', 'class_token'),
    ('vit.embeddings.position_embeddings', 'encoder.pos_embedding'),
    ('vit.embeddings.patch_embeddings.projection.weight', 'conv_proj.weight'),
    ('vit.embeddings.patch_embeddings.projection.bias', 'conv_proj.bias'),
    ('vit.layernorm.weight', 'encoder.ln.weight'), ('vit.layernorm.bias', 'encoder.ln.bias'),
    ('classifier.weight', 'heads.head.weight'), ('classifier.bias', 'heads.head.bias'),
]


def hf_state_dict(sd, layers, hidden, qkv_bias=True):
    """The HF-named tensors of torchvision state dict `sd` (q/k/v biases left out when `qkv_bias` is false)."""
    hf = {h: sd[t] for h, t in _TOP_LEVEL}
    mlp = sorted({k.split('.mlp.')[1].split('.')[0] for k in sd if '.mlp.' in k})  # e.g. ['0', '3']
    for i in range(layers):
        t, h = 'encoder.layers.encoder_layer_%d.' % i, 'vit.encoder.layer.%d.' % i
        w, b = sd[t + 'self_attention.in_proj_weight'], sd[t + 'self_attention.in_proj_bias']
        for j, n in enumerate(['query', 'key', 'value']):
            hf[h + 'attention.attention.%s.weight' % n] = w[j * hidden:(j + 1) * hidden]
            if qkv_bias:
                hf[h + 'attention.attention.%s.bias' % n] = b[j * hidden:(j + 1) * hidden]
        hf[h + 'attention.output.dense.weight'] = sd[t + 'self_attention.out_proj.weight']
        hf[h + 'attention.output.dense.bias'] = sd[t + 'self_attention.out_proj.bias']
        for a, c in [('layernorm_before', 'ln_1'), ('layernorm_after', 'ln_2')]:
            hf[h + a + '.weight'], hf[h + a + '.bias'] = sd[t + c + '.weight'], sd[t + c + '.bias']
        for a, c in [('intermediate.dense', mlp[0]), ('output.dense', mlp[1])]:
            hf[h + a + '.weight'], hf[h + a + '.bias'] = sd[t + 'mlp.%s.weight' % c], sd[t + 'mlp.%s.bias' % c]
    return hf


def torchvision_state_dict(hf, layers, hidden, mlp=('1', '4')):
    """The inverse of hf_state_dict: torchvision names from HF-named tensors `hf` (q/k/v joined into in_proj).
    `mlp` names torchvision's two MLP linear layers (('1', '4') for torchvision 0.14's MLPBlock; the keys of the
    target model's state dict tell, see bf16_reference.py)."""
    sd = {t: hf[h] for h, t in _TOP_LEVEL}
    import torch
    for i in range(layers):
        t, h = 'encoder.layers.encoder_layer_%d.' % i, 'vit.encoder.layer.%d.' % i
        names = ['query', 'key', 'value']
        sd[t + 'self_attention.in_proj_weight'] = torch.cat([hf[h + 'attention.attention.%s.weight' % n] for n in names])
        sd[t + 'self_attention.in_proj_bias'] = torch.cat([hf[h + 'attention.attention.%s.bias' % n] for n in names])
        sd[t + 'self_attention.out_proj.weight'] = hf[h + 'attention.output.dense.weight']
        sd[t + 'self_attention.out_proj.bias'] = hf[h + 'attention.output.dense.bias']
        for a, c in [('layernorm_before', 'ln_1'), ('layernorm_after', 'ln_2')]:
            sd[t + c + '.weight'], sd[t + c + '.bias'] = hf[h + a + '.weight'], hf[h + a + '.bias']
        for a, c in [('intermediate.dense', mlp[0]), ('output.dense', mlp[1])]:
            sd[t + 'mlp.%s.weight' % c], sd[t + 'mlp.%s.bias' % c] = hf[h + a + '.weight'], hf[h + a + '.bias']
    return sd
