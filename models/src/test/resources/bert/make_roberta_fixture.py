"""A small random RoBERTa-type encoder (model_type "roberta": position ids start at padding_idx + 1 = 2) for
BertRobertaTest, written with the PyTorch BERT of make_fixtures.py (published architecture, no transformers).

Run from the repository root:  /usr/bin/python3 models/src/test/resources/bert/make_roberta_fixture.py
Writes roberta/: config.json, model.safetensors, ids.npy [2, 9] (row 1 right-padded after 5 tokens with pad id 1),
mask.npy, hidden.npy (the last hidden states; only the real tokens are compared: transformers gives padding rows
position padding_idx, which no real token sees).
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures as B  # noqa: E402

OUT = os.path.join(HERE, "roberta")
CFG = dict(model_type="roberta", vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
           intermediate_size=48, max_position_embeddings=14, type_vocab_size=1, layer_norm_eps=1e-5,
           hidden_act="gelu", pad_token_id=1)

torch.manual_seed(17)
m = B.Bert(CFG).eval()
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.LayerNorm):
            mod.weight.uniform_(0.5, 1.5)
            mod.bias.uniform_(-0.2, 0.2)
os.makedirs(OUT, exist_ok=True)
B.write_safetensors(os.path.join(OUT, "model.safetensors"), m.hf_state())
json.dump(CFG, open(os.path.join(OUT, "config.json"), "w"), indent=1)
ids = torch.randint(3, 50, (2, 9))
ids[:, 0] = 0
ids[1, 5:] = 1
mask = (ids != 1).long()
pos = torch.cumsum(mask, 1) * mask + 1  # transformers' create_position_ids_from_input_ids (padding_idx 1)
with torch.no_grad():
    x = m.ln(m.word(ids) + m.pos(pos) + m.tok_type(torch.zeros_like(ids)))
    for layer in m.layers:
        x = layer(x, mask)
np.save(os.path.join(OUT, "ids.npy"), ids.numpy().astype(np.int32))
np.save(os.path.join(OUT, "mask.npy"), mask.numpy().astype(np.int32))
np.save(os.path.join(OUT, "hidden.npy"), x.numpy().astype(np.float32))
print("ok", pos.tolist())
