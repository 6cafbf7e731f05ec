#!/usr/bin/python3
"""PyTorch peer for WhisperBench: the same Whisper architecture (written from the published paper, float32,
eager, CPU), random weights; times one 30 s encoder pass and greedy decoder steps with a KV cache.

  /usr/bin/python3 bench/python/whisper_peer.py --size tiny --threads 2 --tokens 64 --reps 3 [--batch 4]
Prints one JSON line: encoder_ms (median), decode_tokens_per_s (median); with --batch B > 1 also encoder_batch_ms
(B windows in one call) and decode_batch_tokens_per_s (B sequences decoded as one batch, tokens/s summed).
"""
import argparse, json, math, statistics, time
import torch
import torch.nn.functional as F

SIZES = {"tiny": (384, 4, 6, 1536), "base": (512, 6, 8, 2048), "small": (768, 12, 12, 3072)}


class Attn(torch.nn.Module):
    def __init__(s, d, h):
        super().__init__()
        s.h = h
        s.q, s.k, s.v, s.o = (torch.nn.Linear(d, d, bias=(n != "k")) for n in "qkvo")

    def split(s, x):
        b, t, d = x.shape
        return x.view(b, t, s.h, d // s.h).transpose(1, 2)

    def forward(s, x, kv=None, cache=None, causal=False):
        q = s.split(s.q(x))
        if cache is not None and "k" in cache and kv is not None:
            k, v = cache["k"], cache["v"]  # cross-attention: computed once
        else:
            src = x if kv is None else kv
            k, v = s.split(s.k(src)), s.split(s.v(src))
            if cache is not None:
                if kv is None and "k" in cache:
                    k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
                cache["k"], cache["v"] = k, v
        o = F.scaled_dot_product_attention(q, k, v, is_causal=causal and q.shape[2] > 1) \
            if hasattr(F, "scaled_dot_product_attention") else \
            ((q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(-1) @ v)
        b, h, t, dh = o.shape
        return s.o(o.transpose(1, 2).reshape(b, t, h * dh))


class Block(torch.nn.Module):
    def __init__(s, d, h, ff, cross):
        super().__init__()
        s.ln1, s.att = torch.nn.LayerNorm(d), Attn(d, h)
        s.cross = cross
        if cross:
            s.ln2, s.xatt = torch.nn.LayerNorm(d), Attn(d, h)
        s.ln3, s.fc1, s.fc2 = torch.nn.LayerNorm(d), torch.nn.Linear(d, ff), torch.nn.Linear(ff, d)

    def forward(s, x, enc=None, cache=None):
        x = x + s.att(s.ln1(x), cache=None if cache is None else cache[0], causal=s.cross)
        if s.cross:
            x = x + s.xatt(s.ln2(x), kv=enc, cache=None if cache is None else cache[1])
        return x + s.fc2(F.gelu(s.fc1(s.ln3(x))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="tiny")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    d, layers, h, ff = SIZES[a.size]
    V = 51865
    torch.manual_seed(0)
    conv1, conv2 = torch.nn.Conv1d(80, d, 3, padding=1), torch.nn.Conv1d(d, d, 3, stride=2, padding=1)
    pos = torch.randn(1500, d)
    enc_blocks = torch.nn.ModuleList(Block(d, h, ff, False) for _ in range(layers))
    dec_blocks = torch.nn.ModuleList(Block(d, h, ff, True) for _ in range(layers))
    emb, dpos = torch.randn(V, d) * 0.02, torch.randn(448, d) * 0.02
    ln_e, ln_d = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
    mel1 = torch.randn(1, 80, 3000)

    def encode(mel=mel1):
        x = F.gelu(conv2(F.gelu(conv1(mel)))).transpose(1, 2) + pos
        for b in enc_blocks:
            x = b(x)
        return ln_e(x)

    def decode(enc, n):
        caches = [({}, {}) for _ in dec_blocks]
        tok = [50258, 50259, 50359, 50363]
        rows = enc.shape[0]
        ids = torch.tensor([tok] * rows)
        t0 = None
        for step in range(n + 1):
            x = emb[ids] + dpos[len(tok) - ids.shape[1]: len(tok)]
            for b, c in zip(dec_blocks, caches):
                x = b(x, enc, c)
            nxt = (ln_d(x[:, -1]) @ emb.T).argmax(-1)
            if step == 0:
                t0 = time.perf_counter()  # time the steady decode steps, not the prompt
            tok.append(0)
            ids = nxt.view(rows, 1)
        return rows * n / (time.perf_counter() - t0)

    with torch.no_grad():
        encode()
        e_ms, tps = [], []
        for _ in range(a.reps):
            t = time.perf_counter()
            enc = encode()
            e_ms.append((time.perf_counter() - t) * 1e3)
            tps.append(decode(enc, a.tokens))
        out = {"size": a.size, "torch": torch.__version__, "threads": a.threads, "encoder_ms": statistics.median(e_ms),
               "decode_tokens_per_s": statistics.median(tps), "encoder_ms_all": e_ms, "tps_all": tps}
        if a.batch > 1:
            melb = torch.randn(a.batch, 80, 3000)
            eb, tb = [], []
            for _ in range(a.reps):
                t = time.perf_counter()
                enc = encode(melb)
                eb.append((time.perf_counter() - t) * 1e3)
                tb.append(decode(enc, a.tokens))
            out.update({"batch": a.batch, "encoder_batch_ms": statistics.median(eb),
                        "decode_batch_tokens_per_s": statistics.median(tb), "encoder_batch_ms_all": eb, "tps_batch_all": tb})
    print(json.dumps(out))


main()
