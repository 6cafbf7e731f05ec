"""A small random DistilBERT encoder (model_type "distilbert": no token-type embedding, its own parameter and config
names) for BertDistilTest, computed with the PyTorch BERT of make_fixtures.py (published architecture, no
transformers) with the token-type term left out.

Run from the repository root:  /usr/bin/python3 models/src/test/resources/bert/make_distilbert_fixture.py
Writes distilbert/: config.json (DistilBertConfig keys: dim, n_layers, n_heads, hidden_dim, ...), model.safetensors
(transformers' DistilBertModel names under a "distilbert." prefix, plus a masked-LM head that the encoder ignores),
ids.npy [2, 7] (row 1 right-padded after 4 tokens), mask.npy, hidden.npy (the last hidden states), and
onnx/model.onnx: the encoder exported as DistilBertModel computes it (inputs input_ids and attention_mask; no
token-type embedding in the graph).
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures as B  # noqa: E402

OUT = os.path.join(HERE, "distilbert")
BERT = dict(vocab_size=40, hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=40,
            max_position_embeddings=16, type_vocab_size=1, layer_norm_eps=1e-12)
CFG = {"model_type": "distilbert", "architectures": ["DistilBertForMaskedLM"], "vocab_size": 40, "dim": 24,
       "n_layers": 2, "n_heads": 3, "hidden_dim": 40, "max_position_embeddings": 16, "activation": "gelu",
       "sinusoidal_pos_embds": False, "dropout": 0.1, "attention_dropout": 0.1, "pad_token_id": 0}

torch.manual_seed(23)
m = B.Bert(BERT).eval()
with torch.no_grad():
    m.tok_type.weight.zero_()  # DistilBERT has no token types: a zero row adds nothing
    for mod in m.modules():
        if isinstance(mod, torch.nn.LayerNorm):
            mod.weight.uniform_(0.5, 1.5)
            mod.bias.uniform_(-0.2, 0.2)
names = {"attention.self.query": "attention.q_lin", "attention.self.key": "attention.k_lin",
         "attention.self.value": "attention.v_lin", "attention.output.dense": "attention.out_lin",
         "attention.output.LayerNorm": "sa_layer_norm", "intermediate.dense": "ffn.lin1", "output.dense": "ffn.lin2",
         "output.LayerNorm": "output_layer_norm"}
sd = {}
for k, v in m.hf_state().items():
    if k.startswith("embeddings.token_type"):
        continue
    if k.startswith("encoder.layer."):
        i, rest = k[len("encoder.layer."):].split(".", 1)
        mod, kind = rest.rsplit(".", 1)
        k = "transformer.layer.%s.%s.%s" % (i, names[mod], kind)
    sd["distilbert." + k] = v
sd["vocab_transform.weight"] = torch.randn(24, 24)  # the masked-LM head of DistilBertForMaskedLM
sd["vocab_transform.bias"] = torch.randn(24)
os.makedirs(OUT, exist_ok=True)
B.write_safetensors(os.path.join(OUT, "model.safetensors"), sd)
json.dump(CFG, open(os.path.join(OUT, "config.json"), "w"), indent=1)
ids = torch.randint(1, 40, (2, 7))
ids[1, 4:] = 0
mask = (ids != 0).long()
with torch.no_grad():
    x = m(ids, mask, torch.zeros_like(ids))
np.save(os.path.join(OUT, "ids.npy"), ids.numpy().astype(np.int32))
np.save(os.path.join(OUT, "mask.npy"), mask.numpy().astype(np.int32))
np.save(os.path.join(OUT, "hidden.npy"), x.numpy().astype(np.float32))


class DistilExport(torch.nn.Module):
    """DistilBertModel's forward for the export: word + position embeddings, LayerNorm, the layers."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask):
        b = self.bert
        pos = torch.arange(input_ids.shape[1])[None, :].expand_as(input_ids)
        x = b.ln(b.word(input_ids) + b.pos(pos))
        for layer in b.layers:
            x = layer(x, attention_mask)
        return x


os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
with torch.no_grad():
    torch.onnx.export(DistilExport(m).eval(), (ids, mask), os.path.join(OUT, "onnx", "model.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"], opset_version=14,
                      dynamic_axes={n: {0: "batch", 1: "seq"} for n in ["input_ids", "attention_mask", "last_hidden_state"]})
print("ok", sorted(sd)[:4])
