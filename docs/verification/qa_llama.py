#!/usr/bin/env python3
"""QA cases for `tessera chat --raw --json` on random-weight Llama / Qwen2 checkpoints of many shapes (explicit
head_dim, GQA ratios 1/2/4/8, tied and untied heads, rope_scaling llama3 / linear / none, rope_theta, q/k/v bias,
rms_norm_eps, vocab sizes not a multiple of 8), against the float64 PyTorch reference of
models/src/test/resources/llama/make_fixtures.py (written from the published Llama architecture; not transformers).
The CLI prints the prompt's token ids and the greedy continuation; the reference recomputes the continuation from
the same prompt ids, stopping at eos_token_id as transformers' generate does, and reports its top-2 margin where the
two differ (a near-tie is not a bug).

Usage (from the repository root, after the CLI is built):
    /usr/bin/python3 docs/verification/qa_llama.py make OUT && sh OUT/run.sh && /usr/bin/python3 docs/verification/qa_llama.py check OUT
"""
import json
import os
import shutil
import sys

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
LL = os.path.join(ROOT, 'models', 'src', 'test', 'resources', 'llama')
sys.path.insert(0, LL)
import make_fixtures as L  # noqa: E402

BASE = dict(model_type="llama", vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=4, rms_norm_eps=1e-5, rope_theta=10000.0,
            max_position_embeddings=256, tie_word_embeddings=False, hidden_act="silu", bos_token_id=298,
            eos_token_id=297)
CASES = [
    ('mha_untied', {}),
    ('gqa2_headdim32', dict(num_attention_heads=4, num_key_value_heads=2, head_dim=32)),
    ('gqa4_tied', dict(num_attention_heads=8, num_key_value_heads=2, hidden_size=64, tie_word_embeddings=True)),
    ('gqa8_llama3', dict(num_attention_heads=8, num_key_value_heads=1, hidden_size=128, head_dim=16, rope_theta=500000.0,
                         rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0, "original_max_position_embeddings": 16})),
    ('linear_rope', dict(rope_scaling={"type": "linear", "factor": 4.0}, rms_norm_eps=1e-6)),
    ('qwen2_bias_odd_vocab', dict(model_type="qwen2", vocab_size=301, num_attention_heads=6, num_key_value_heads=2,
                                  hidden_size=96, intermediate_size=200, rope_theta=1000000.0, rms_norm_eps=1e-6,
                                  tie_word_embeddings=True)),
    ('llama_attention_bias', dict(attention_bias=True, vocab_size=333, num_hidden_layers=3)),
    ('odd_widths', dict(hidden_size=60, num_attention_heads=5, num_key_value_heads=5, intermediate_size=173,
                        vocab_size=317, num_hidden_layers=1, rope_theta=123.0)),
    ('headdim_lt_hidden', dict(num_attention_heads=2, num_key_value_heads=1, hidden_size=48, head_dim=64,
                               eos_token_id=[297, 296])),
]
PROMPT = "the quick brown fox jumps over the lazy dog. a picture of a cat on the mat"
N_NEW = 24
# Decoding options whose result the greedy reference can predict: the repetition penalty (Hugging Face's rule: over
# every token id of the prompt and of the output so far, a positive logit divided by it, a negative one multiplied),
# and sampling cut down to the single most likely token (top-k 1; top-p below any token's probability).
REP = 1.3
SAMPLING_MODES = [
    ('rep', '--repetition-penalty %g' % REP),
    ('topk1', '--temperature 0.8 --top-k 1 --seed 7'),
    ('topp_tiny', '--temperature 1.5 --top-p 0.000001 --seed 7'),
]


def rand_llama_any(cfg):
    W = L.rand_llama(cfg)
    if cfg.get("attention_bias") and cfg.get("model_type") == "llama":  # Llama attention_bias: o_proj too
        for i in range(cfg["num_hidden_layers"]):
            W["model.layers.%d.self_attn.o_proj.bias" % i] = 0.1 * torch.randn(cfg["hidden_size"])
    return W


def make(out):
    torch.manual_seed(11)
    run = ['#!/bin/sh', 'T=${TESSERA:-./tessera}', 'O=%s' % os.path.abspath(out)]
    for name, over in CASES:
        cfg = dict(BASE, **over)
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        W = rand_llama_any(cfg)
        L.write_safetensors(os.path.join(d, 'model.safetensors'), W)
        json.dump(dict(cfg, architectures=["Qwen2ForCausalLM" if cfg["model_type"] == "qwen2" else "LlamaForCausalLM"]),
                  open(os.path.join(d, 'config.json'), 'w'), indent=1)
        for f in ('tokenizer.json', 'tokenizer_config.json'):
            shutil.copy(os.path.join(LL, f), os.path.join(d, f))
        run.append('$T chat --model $O/{n} --raw --json --max-tokens {k} "{p}" > $O/{n}/out.json 2> $O/{n}/stderr.txt; '
                   'echo "{n} rc=$?"'.format(n=name, k=N_NEW, p=PROMPT))
        for mode, opts in SAMPLING_MODES:
            run.append('$T chat --model $O/{n} --raw --json --max-tokens {k} {o} "{p}" > $O/{n}/out_{m}.json '
                       '2> $O/{n}/stderr_{m}.txt; echo "{n} {m} rc=$?"'.format(n=name, k=N_NEW, o=opts, m=mode, p=PROMPT))
    # a prompt longer than the context must be refused with one clear line
    cfg = dict(BASE, max_position_embeddings=8)
    d = os.path.join(out, 'short_context')
    os.makedirs(d, exist_ok=True)
    L.write_safetensors(os.path.join(d, 'model.safetensors'), L.rand_llama(cfg))
    json.dump(cfg, open(os.path.join(d, 'config.json'), 'w'), indent=1)
    for f in ('tokenizer.json', 'tokenizer_config.json'):
        shutil.copy(os.path.join(LL, f), os.path.join(d, f))
    run.append('$T chat --model $O/short_context --raw --json --max-tokens 4 "{p}" > $O/short_context/out.json '
               '2> $O/short_context/stderr.txt; echo "short_context (prompt > context) rc=$? (want non-zero)"'.format(p=PROMPT))
    run.append('$T chat --model $O/short_context --raw --json --max-tokens 20 "the cat" > $O/short_context/out2.json '
               '2> $O/short_context/stderr2.txt; echo "short_context (prompt + max-tokens > context) rc=$?"')
    open(os.path.join(out, 'run.sh'), 'w').write('\n'.join(run) + '\n')


def reference_greedy(cfg, W64, prompt, n, penalty=1.0):
    eos = cfg.get("eos_token_id")
    eos = set(eos if isinstance(eos, list) else [eos])
    ids, outs, margins = list(prompt), [], []
    for _ in range(n):
        lg = L.llama_logits(cfg, W64, ids)[-1]
        if penalty != 1.0:
            seen = torch.tensor(sorted(set(ids)))
            lg = lg.clone()
            lg[seen] = torch.where(lg[seen] > 0, lg[seen] / penalty, lg[seen] * penalty)
        top = torch.topk(lg, 2).values
        margins.append(float((top[0] - top[1]) / lg.abs().max()))
        t = int(lg.argmax())
        outs.append(t)
        ids.append(t)
        if t in eos:
            break
    return outs, margins


def load_weights(d):
    import struct
    raw = open(os.path.join(d, 'model.safetensors'), 'rb').read()
    hl = struct.unpack('<Q', raw[:8])[0]
    h = json.loads(raw[8:8 + hl])
    W = {}
    for k, v in h.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        W[k] = torch.tensor(np.frombuffer(raw[8 + hl + a:8 + hl + b], dtype='<f4').reshape(v['shape']).astype(np.float64))
    return W


def check(out):
    for name, over in CASES:
        cfg = dict(BASE, **over)
        d = os.path.join(out, name)
        try:
            o = json.load(open(os.path.join(d, 'out.json')))
        except Exception:
            err = open(os.path.join(d, 'stderr.txt')).read().strip().splitlines()
            print('%-22s FAILED: %s' % (name, err[-1] if err else '?'))
            continue
        W64 = load_weights(d)
        ref, margins = reference_greedy(cfg, W64, o['prompt_tokens'], N_NEW)
        got = o['tokens']
        same = next((i for i in range(min(len(got), len(ref))) if got[i] != ref[i]), None)
        logits = L.llama_logits(cfg, W64, o['prompt_tokens'])
        if same is None and len(got) == len(ref):
            print('%-22s greedy %d/%d tokens identical (prompt %d tokens, min ref margin %.3g, finish %s)'
                  % (name, len(got), len(ref), len(o['prompt_tokens']), min(margins), o.get('finish')))
        else:
            i = same if same is not None else min(len(got), len(ref))
            print('%-22s DIFFERS at token %d: got %s ref %s (ref margin there %.3g)'
                  % (name, i, got[i:i + 4], ref[i:i + 4], margins[i] if i < len(margins) else -1))
        for mode, _ in SAMPLING_MODES:
            try:
                om = json.load(open(os.path.join(d, 'out_%s.json' % mode)))
            except Exception:
                err = open(os.path.join(d, 'stderr_%s.txt' % mode)).read().strip().splitlines()
                print('%-22s %-9s FAILED: %s' % (name, mode, err[-1] if err else '?'))
                continue
            if mode == 'rep':
                want, mm = reference_greedy(cfg, W64, om['prompt_tokens'], N_NEW, REP)
            else:
                want, mm = ref, margins
            print('%-22s %-9s %s' % (name, mode, '%d/%d tokens identical (min ref margin %.3g)'
                                     % (len(want), len(want), min(mm)) if om['tokens'] == want
                                     else 'DIFFERS: got %s ref %s' % (om['tokens'][:8], want[:8])))
    for f in ('stderr.txt', 'stderr2.txt', 'out2.json'):
        p = os.path.join(out, 'short_context', f)
        if os.path.exists(p):
            print('short_context %s: %s' % (f, open(p).read().strip().splitlines()[-1:] or ''))


if __name__ == '__main__':
    {'make': make, 'check': check}[sys.argv[1]](sys.argv[2])
