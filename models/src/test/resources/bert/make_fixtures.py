"""Golden fixtures for the BERT tests: a small random BERT written from the published architecture in
PyTorch (no `transformers`), saved as a Hugging Face checkpoint (config.json + model.safetensors, plus a
copy with the "bert." prefix and an unused pooler), exported to ONNX by torch.onnx (dynamic batch and
sequence), and its last hidden states for a padded batch.

Run from the repository root:
    /usr/bin/python3 models/src/test/resources/bert/make_fixtures.py
    /usr/bin/python3 models/src/test/resources/bert/make_fixtures.py --variants   # tiny/activations/ only
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny")
CFG = dict(model_type="bert", vocab_size=103, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
           intermediate_size=80, max_position_embeddings=40, type_vocab_size=2, layer_norm_eps=1e-12,
           hidden_act="gelu")


# the FFN activations as their definitions (HF names): erf GELU, tanh GELU (gelu_new), ReLU
ACTS = {
    "gelu": lambda f: 0.5 * f * (1.0 + torch.erf(f / 2 ** 0.5)),
    "gelu_new": lambda f: 0.5 * f * (1.0 + torch.tanh((2.0 / torch.pi) ** 0.5 * (f + 0.044715 * torch.pow(f, 3.0)))),
    "relu": lambda f: torch.relu(f),
}


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.heads = c["num_attention_heads"]
        self.act = c["hidden_act"]
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ln1 = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.up, self.down = nn.Linear(h, i), nn.Linear(i, h)
        self.ln2 = nn.LayerNorm(h, eps=c["layer_norm_eps"])

    def forward(self, x, mask):
        b, s, h = x.shape
        d = h // self.heads
        split = lambda t: t.view(b, s, self.heads, d).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / (d ** 0.5)
        scores = scores + (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, h)
        a = self.ln1(self.o(ctx) + x)
        f = self.up(a)
        f = ACTS[self.act](f)
        return self.ln2(self.down(f) + a)


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.word = nn.Embedding(c["vocab_size"], h)
        self.pos = nn.Embedding(c["max_position_embeddings"], h)
        self.tok_type = nn.Embedding(c["type_vocab_size"], h)
        self.ln = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))

    def forward(self, ids, mask, types):
        pos = torch.arange(ids.shape[1])[None, :].expand_as(ids)
        x = self.ln(self.word(ids) + self.pos(pos) + self.tok_type(types))
        for l in self.layers:
            x = l(x, mask)
        return x

    def hf_state(self):
        sd = {"embeddings.word_embeddings.weight": self.word.weight,
              "embeddings.position_embeddings.weight": self.pos.weight,
              "embeddings.token_type_embeddings.weight": self.tok_type.weight,
              "embeddings.LayerNorm.weight": self.ln.weight, "embeddings.LayerNorm.bias": self.ln.bias}
        for i, l in enumerate(self.layers):
            p = f"encoder.layer.{i}."
            for name, mod in [("attention.self.query", l.q), ("attention.self.key", l.k),
                              ("attention.self.value", l.v), ("attention.output.dense", l.o),
                              ("attention.output.LayerNorm", l.ln1), ("intermediate.dense", l.up),
                              ("output.dense", l.down), ("output.LayerNorm", l.ln2)]:
                sd[p + name + ".weight"] = mod.weight
                sd[p + name + ".bias"] = mod.bias
        return {k: v.detach().float().contiguous() for k, v in sd.items()}


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name].numpy().astype("<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def variants():
    """tiny/activations/: the same sizes with other FFN activations, on tiny's ids: a ReLU checkpoint (config.json +
    model.safetensors + hidden.npy in relu/) and a tanh-GELU model exported to ONNX opset 14 (gelu_new/model.onnx +
    hidden.npy), whose graph has the 0.5 * u branch shorter than the one through Tanh. Run with --variants; leaves
    the other fixtures alone."""
    ids, mask, types = (torch.from_numpy(np.load(os.path.join(OUT, n)).astype(np.int64))
                        for n in ("ids.npy", "mask.npy", "types.npy"))
    for act, seed in (("relu", 11), ("gelu_new", 12)):
        cfg = dict(CFG, hidden_act=act)
        torch.manual_seed(seed)
        m = Bert(cfg).eval()
        random_layer_norms(m)  # (all-ones LayerNorm weights also lose their initializers in torch 1.13's export)
        d = os.path.join(OUT, "activations", act)
        os.makedirs(d, exist_ok=True)
        with torch.no_grad():
            out = m(ids, mask, types)
        np.save(os.path.join(d, "hidden.npy"), out.numpy().astype(np.float32))
        if act == "relu":
            write_safetensors(os.path.join(d, "model.safetensors"), m.hf_state())
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(cfg, f, indent=2)
        else:
            torch.onnx.export(m, (ids, mask, types), os.path.join(d, "model.onnx"),
                              input_names=["input_ids", "attention_mask", "token_type_ids"],
                              output_names=["last_hidden_state"], opset_version=14,
                              dynamic_axes={n: {0: "batch", 1: "seq"} for n in
                                            ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]})
        print("wrote", d)


def random_layer_norms(m):
    with torch.no_grad():  # LayerNorm params away from 1/0 so a swapped gamma/beta shows
        for mod in m.modules():
            if isinstance(mod, nn.LayerNorm):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)


def main():
    torch.manual_seed(5)
    m = Bert(CFG).eval()
    random_layer_norms(m)
    os.makedirs(OUT, exist_ok=True)
    sd = m.hf_state()
    write_safetensors(os.path.join(OUT, "model.safetensors"), sd)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(CFG, f, indent=2)
    # the same weights under "bert." with a pooler (ignored by the encoder)
    pre = {"bert." + k: v for k, v in sd.items()}
    pre["bert.pooler.dense.weight"] = torch.randn(48, 48)
    pre["bert.pooler.dense.bias"] = torch.randn(48)
    os.makedirs(os.path.join(OUT, "prefixed"), exist_ok=True)
    write_safetensors(os.path.join(OUT, "prefixed", "model.safetensors"), pre)
    with open(os.path.join(OUT, "prefixed", "config.json"), "w") as f:
        json.dump(CFG, f, indent=2)

    g = torch.Generator().manual_seed(7)
    lengths = [9, 3, 17, 1]
    b, s = len(lengths), max(lengths)
    ids = torch.zeros(b, s, dtype=torch.long)
    mask = torch.zeros(b, s, dtype=torch.long)
    types = torch.zeros(b, s, dtype=torch.long)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(1, CFG["vocab_size"], (n,), generator=g)
        mask[i, :n] = 1
        types[i, n // 2:n] = 1
    with torch.no_grad():
        out = m(ids, mask, types)
    np.save(os.path.join(OUT, "ids.npy"), ids.numpy().astype(np.int32))
    np.save(os.path.join(OUT, "mask.npy"), mask.numpy().astype(np.int32))
    np.save(os.path.join(OUT, "types.npy"), types.numpy().astype(np.int32))
    np.save(os.path.join(OUT, "hidden.npy"), out.numpy().astype(np.float32))

    # ONNX export of the same model (weights renamed and MatMul weights transposed by the exporter)
    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    torch.onnx.export(m, (ids, mask, types), os.path.join(OUT, "onnx", "model.onnx"),
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], opset_version=14,
                      dynamic_axes={n: {0: "batch", 1: "seq"} for n in
                                    ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]})
    # opset 17: LayerNorm exported as one LayerNormalization node
    os.makedirs(os.path.join(OUT, "onnx17"), exist_ok=True)
    torch.onnx.export(m, (ids, mask, types), os.path.join(OUT, "onnx17", "model.onnx"),
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], opset_version=17,
                      dynamic_axes={n: {0: "batch", 1: "seq"} for n in
                                    ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]})
    print("wrote", OUT)


if __name__ == "__main__":
    import sys
    variants() if "--variants" in sys.argv[1:] else main()
