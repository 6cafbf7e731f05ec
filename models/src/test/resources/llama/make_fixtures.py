#!/usr/bin/env python3
"""Golden fixtures for the Llama / LLaVA tests: random-weight tiny checkpoints and the outputs of an
independent PyTorch reference written here from the published Llama architecture (RMSNorm, rotate_half RoPE
with Llama-3 / linear scaling, GQA, SwiGLU, tied/untied head; Qwen2-style q/k/v bias). This is NOT Hugging
Face transformers (not installed here); bench/gpu/make_llama_fixtures_hf.py makes the same checkpoints' outputs
with transformers on the GPU host. The reference computes in float64 from the stored weights.

Run from the repository root (Debian python3-torch 1.13, numpy):
    /usr/bin/python3 models/src/test/resources/llama/make_fixtures.py
Writes, beside this script: tokenizer.json + tokenizer_config.json (a small byte-level BPE trained below),
and for each model NAME a folder NAME/ with config.json, model.safetensors, and golden .npy files.
"""
import json, math, os, shutil, struct, collections
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)
rng = np.random.default_rng(1234)

# ------------------------------------------------------------------ tokenizer (byte-level BPE, 300 ids)

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, [chr(c) for c in cs]))

B2U = bytes_to_unicode()
CORPUS = ("the quick brown fox jumps over the lazy dog. a picture of a cat on the mat. what is in the image? "
          "the image shows a red ball and a blue box. hello there, how are you today? i am fine, thank you. "
          "tell me about the weather in the city and the sea. there is a dog in the park with the children.") * 3
N_MERGES = 40
SPECIALS = ["<|im_start|>", "<|im_end|>", "<s>", "<image>"]

def train_bpe():
    words = collections.Counter()
    for w in CORPUS.split(" "):
        words[tuple(B2U[b] for b in (" " + w).encode())] += 1
    vocab = [B2U[b] for b in range(256)]
    merges = []
    for _ in range(N_MERGES):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append(a + " " + b)
        vocab.append(a + b)
        nw = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b); i += 2
                else:
                    out.append(w[i]); i += 1
            nw[tuple(out)] += c
        words = nw
    return vocab, merges

def write_tokenizer():
    vocab, merges = train_bpe()
    ids = {t: i for i, t in enumerate(vocab)}
    added = []
    for s in SPECIALS:
        ids[s] = len(ids)
        added.append({"id": ids[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True})
    assert len(ids) == 300
    bos = ids["<s>"]
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [bos], "tokens": ["<s>"]}}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": {t: i for t, i in ids.items() if t not in SPECIALS}, "merges": merges},
    }
    with open(os.path.join(HERE, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)
    template = ("{{ bos_token }}{% for message in messages %}"
                "{% if message['role'] not in ['system', 'user', 'assistant'] %}"
                "{{ raise_exception('Unknown role: ' + message['role']) }}{% endif %}"
                "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>\\n' }}"
                "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    cfg = {"bos_token": {"content": "<s>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
           "eos_token": "<|im_end|>", "add_bos_token": False, "model_max_length": 256, "chat_template": template,
           "tokenizer_class": "PreTrainedTokenizerFast"}
    with open(os.path.join(HERE, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    return ids

# ------------------------------------------------------------------ safetensors / npy

def write_safetensors(path, tensors, dtype="F32"):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        if dtype == "BF16":
            raw = t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs:
            f.write(b)

def stored(t, dtype):
    return t.to(torch.bfloat16).to(torch.float64) if dtype == "BF16" else t.to(torch.float64)

# ------------------------------------------------------------------ the reference decoder (float64)

def inv_freq(cfg):
    d = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    rs = cfg.get("rope_scaling")
    if rs:
        kind = rs.get("rope_type", rs.get("type"))
        if kind == "linear":
            inv = inv / rs["factor"]
        elif kind == "llama3":
            f, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
            wavelen = 2 * math.pi / inv
            lo_w, hi_w = old / lo, old / hi
            scaled = torch.where(wavelen > lo_w, inv / f, inv)
            smooth = (old / wavelen - lo) / (hi - lo)
            smoothed = (1 - smooth) * scaled / f + smooth * scaled
            medium = (wavelen >= hi_w) & (wavelen <= lo_w)
            inv = torch.where(medium, smoothed, scaled)
    return inv

def rms(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w

def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)

def decoder_hidden(cfg, W, embeds, pre="model."):
    """embeds [S, H] float64 -> final hidden states after the last norm [S, H]."""
    S, H = embeds.shape
    nh, nkv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    d = cfg.get("head_dim", H // nh)
    eps = cfg["rms_norm_eps"]
    ang = torch.arange(S, dtype=torch.float64)[:, None] * inv_freq(cfg)[None, :]
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
    mask = torch.full((S, S), float("-inf"), dtype=torch.float64).triu(1)
    x = embeds
    def lin(name, v):
        y = v @ W[name + ".weight"].T
        return y + W[name + ".bias"] if name + ".bias" in W else y
    for i in range(cfg["num_hidden_layers"]):
        p = f"{pre}layers.{i}."
        n = rms(x, W[p + "input_layernorm.weight"], eps)
        q = lin(p + "self_attn.q_proj", n).view(S, nh, d).transpose(0, 1)
        k = lin(p + "self_attn.k_proj", n).view(S, nkv, d).transpose(0, 1)
        v = lin(p + "self_attn.v_proj", n).view(S, nkv, d).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nh // nkv
        k, v = k.repeat_interleave(rep, 0), v.repeat_interleave(rep, 0)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(d) + mask, -1) @ v
        x = x + lin(p + "self_attn.o_proj", a.transpose(0, 1).reshape(S, nh * d))
        n = rms(x, W[p + "post_attention_layernorm.weight"], eps)
        g = lin(p + "mlp.gate_proj", n)
        x = x + lin(p + "mlp.down_proj", torch.nn.functional.silu(g) * lin(p + "mlp.up_proj", n))
    return rms(x, W[pre + "norm.weight"], eps)

def head(cfg, W, pre="model.", head_name="lm_head.weight"):
    return W[pre + "embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else W[head_name]

def llama_logits(cfg, W, ids, pre="model.", head_name="lm_head.weight"):
    e = W[pre + "embed_tokens.weight"][torch.tensor(ids)]
    return decoder_hidden(cfg, W, e, pre) @ head(cfg, W, pre, head_name).T

def greedy(fn, ids, n):
    ids, out, margins = list(ids), [], []
    for _ in range(n):
        lg = fn(ids)[-1]
        top = torch.topk(lg, 2).values
        margins.append(float((top[0] - top[1]) / lg.abs().max()))
        t = int(lg.argmax()); out.append(t); ids.append(t)
    return out, min(margins)

# ------------------------------------------------------------------ random checkpoints

def rand_llama(cfg, pre="model.", head_name="lm_head.weight", std=0.25):
    H, V, F = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    nh, nkv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    d = cfg.get("head_dim", H // nh)
    qkvb = cfg.get("attention_bias", False) or cfg.get("model_type") == "qwen2"
    emb = 0.3 if cfg.get("tie_word_embeddings", False) else 1.0  # tied: keep the residual from echoing the last token
    W = {pre + "embed_tokens.weight": emb * torch.randn(V, H), pre + "norm.weight": 1 + 0.1 * torch.randn(H)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"{pre}layers.{i}."
        W[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(H)
        W[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(H)
        for n, (o, inn) in {"q_proj": (nh * d, H), "k_proj": (nkv * d, H), "v_proj": (nkv * d, H), "o_proj": (H, nh * d)}.items():
            W[p + "self_attn." + n + ".weight"] = torch.randn(o, inn) * std / math.sqrt(inn) * 4
            if qkvb and n != "o_proj":
                W[p + "self_attn." + n + ".bias"] = 0.1 * torch.randn(o)
        for n, (o, inn) in {"gate_proj": (F, H), "up_proj": (F, H), "down_proj": (H, F)}.items():
            W[p + "mlp." + n + ".weight"] = torch.randn(o, inn) / math.sqrt(inn) * (2.0 if n == "down_proj" else 1.0)
    if not cfg.get("tie_word_embeddings", False):
        W[head_name] = torch.randn(V, H) / math.sqrt(H) * 2
    return W

def save_npy(folder, name, arr):
    np.save(os.path.join(folder, name + ".npy"), np.ascontiguousarray(arr))

LLAMAS = {
    # GQA (4 query heads over 2 KV heads), Llama-3 rope scaling that changes the mid frequencies, untied head
    "llama-gqa": dict(model_type="llama", vocab_size=300, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-5, rope_theta=10000.0,
                      rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                    "original_max_position_embeddings": 32},
                      max_position_embeddings=128, tie_word_embeddings=False, hidden_act="silu",
                      bos_token_id=298, eos_token_id=[297, 295], attention_bias=False),
    # tied embeddings, multi-query (1 KV head), head_dim != hidden/heads, Qwen2-style q/k/v bias, BF16-stored weights
    "llama-tied": dict(model_type="qwen2", vocab_size=300, hidden_size=48, intermediate_size=96, num_hidden_layers=3,
                       num_attention_heads=4, num_key_value_heads=1, head_dim=20, rms_norm_eps=1e-6, rope_theta=500.0,
                       max_position_embeddings=96, tie_word_embeddings=True, hidden_act="silu",
                       bos_token_id=298, eos_token_id=297),
}
STORAGE = {"llama-gqa": "F32", "llama-tied": "BF16"}

def main():
    write_tokenizer()
    for name, cfg in LLAMAS.items():
        folder = os.path.join(HERE, name); os.makedirs(folder, exist_ok=True)
        W = rand_llama(cfg)
        write_safetensors(os.path.join(folder, "model.safetensors"), W, STORAGE[name])
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(dict(cfg, architectures=["LlamaForCausalLM" if cfg["model_type"] == "llama" else "Qwen2ForCausalLM"],
                           torch_dtype="float32" if STORAGE[name] == "F32" else "bfloat16"), f, indent=1)
        W64 = {k: stored(v, STORAGE[name]) for k, v in W.items()}
        fn = lambda x: llama_logits(cfg, W64, x)
        # a prompt whose greedy continuation never has a near-tie (fp32 vs fp64 must pick the same tokens)
        for attempt in range(20):
            prompt = [298] + [int(x) for x in rng.integers(0, 296, 23)]
            cont, margin = greedy(fn, prompt, 32)
            if margin > 2e-3:
                break
        save_npy(folder, "prompt", np.array(prompt, dtype=np.int32))
        save_npy(folder, "logits", fn(prompt).numpy().astype(np.float32))
        save_npy(folder, "greedy", np.array(cont, dtype=np.int32))
        for f in ("tokenizer.json", "tokenizer_config.json"):  # a complete model directory for the CLI
            shutil.copy(os.path.join(HERE, f), os.path.join(folder, f))
        print(name, "greedy", cont, "min relative top-2 margin %.4g" % margin)

if __name__ == "__main__":
    main()
