"""A small random RoBERTa-type encoder (model_type "roberta": position ids start at padding_idx + 1 = 2) for
BertRobertaTest, written with the PyTorch BERT of make_fixtures.py (published architecture, no transformers).

Run from the repository root:  /usr/bin/python3 models/src/test/resources/bert/make_roberta_fixture.py
Writes roberta/: config.json, model.safetensors, ids.npy [2, 9] (row 1 right-padded after 5 tokens with pad id 1),
mask.npy, hidden.npy (the last hidden states; only the real tokens are compared: transformers gives padding rows
position padding_idx, which no real token sees), and onnx/model.onnx: the same model exported as transformers'
RobertaModel computes it (inputs input_ids and attention_mask only; position ids from the ids: cumulative count of
non-padding tokens + padding_idx; token types from a buffer of zeros).
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


class RobertaExport(torch.nn.Module):
    """RobertaModel's forward for the export: positions and token types computed in the graph."""

    def __init__(self, bert, pad):
        super().__init__()
        self.bert, self.pad = bert, pad
        self.register_buffer("token_type_ids", torch.zeros(1, CFG["max_position_embeddings"], dtype=torch.long))

    def forward(self, input_ids, attention_mask):
        m = input_ids.ne(self.pad).int()
        pos = (torch.cumsum(m, dim=1).type_as(m) * m).long() + self.pad
        types = self.token_type_ids[:, :input_ids.shape[1]].expand(input_ids.shape[0], input_ids.shape[1])
        b = self.bert
        x = b.ln(b.word(input_ids) + b.pos(pos) + b.tok_type(types))
        for layer in b.layers:
            x = layer(x, attention_mask)
        return x


os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
with torch.no_grad():
    torch.onnx.export(RobertaExport(m, CFG["pad_token_id"]).eval(), (ids, mask), os.path.join(OUT, "onnx", "model.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"], opset_version=14,
                      dynamic_axes={n: {0: "batch", 1: "seq"} for n in ["input_ids", "attention_mask", "last_hidden_state"]})
print("ok", pos.tolist())
