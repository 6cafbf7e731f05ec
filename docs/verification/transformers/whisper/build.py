#!/tmp/hfenv/bin/python
"""Random-weight WhisperForConditionalGeneration checkpoints (transformers' own save_pretrained), a word-level
tokenizer.json over a synthetic vocabulary with Whisper's special-token layout, official-style
generation_config.json, and speech-like WAVs.  Usage: /tmp/hfenv/bin/python build.py [OUT=/tmp/tessera-hf/whisper/out]"""
import json, math, os, sys
import numpy as np
import torch
import scipy.io.wavfile as wf
from transformers import WhisperConfig, WhisperForConditionalGeneration

EMB, LIN = float(os.environ.get('EMB', 0.15)), float(os.environ.get('LIN', 2.0))
OUT = sys.argv[1] if len(sys.argv) > 1 else '/tmp/tessera-hf/whisper/out'
LANGS = ['en', 'de', 'fr', 'es']
EOT, SOT = 300, 301
LANG_ID = {l: 302 + i for i, l in enumerate(LANGS)}
TRANSLATE, TRANSCRIBE, SOLM, SOPREV, NOSPEECH, NOTS = range(302 + len(LANGS), 308 + len(LANGS))
TS0 = NOTS + 1
SPECIALS = ['<|endoftext|>', '<|startoftranscript|>'] + ['<|%s|>' % l for l in LANGS] + [
    '<|translate|>', '<|transcribe|>', '<|startoflm|>', '<|startofprev|>', '<|nospeech|>', '<|notimestamps|>']

def shape(d, heads, enc, dec, effn, dffn, mels, src, tgt):
    return dict(d_model=d, encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_layers=enc,
                decoder_layers=dec, encoder_ffn_dim=effn, decoder_ffn_dim=dffn, num_mel_bins=mels,
                max_source_positions=src, max_target_positions=tgt)


# name, config, seed, EOT embedding scale (the output projection is tied to it: >1 makes windows end earlier)
SHAPES = [
    ('A_d64_h4_m80_s100', shape(64, 4, 2, 2, 128, 128, 80, 100, 64), 11, 2.0),
    ('B_d96_h6_m128_s150', shape(96, 6, 2, 2, 160, 192, 128, 150, 96), 12, 2.0),
    ('C_d48_h2_m80_s50', shape(48, 2, 1, 3, 96, 72, 80, 50, 40), 13, 2.5),
    ('D_d128_h8_m128_s100', shape(128, 8, 3, 1, 256, 256, 128, 100, 80), 14, 2.0),
    ('E_d80_h5_m80_s150', shape(80, 5, 3, 2, 120, 160, 80, 150, 48), 15, 1.0),
]


def tokenizer_json(vocab_size):
    vocab, added = {}, []
    for i in range(vocab_size):
        tok = 'w%d' % i if i < EOT else SPECIALS[i - EOT] if i < TS0 else '<|%.2f|>' % ((i - TS0) * 0.02)
        vocab[tok] = i
        if i >= EOT:
            added.append(dict(id=i, content=tok, single_word=False, lstrip=False, rstrip=False, normalized=False,
                              special=True))
    return dict(version="1.0", truncation=None, padding=None, added_tokens=added, normalizer=None,
                pre_tokenizer=dict(type="Whitespace"), post_processor=None,
                decoder=dict(type="WordPiece", prefix="##", cleanup=False),
                model=dict(type="WordLevel", vocab=vocab, unk_token="w0"))


def gen_config():
    # like openai/whisper-* generation_config.json: suppress_tokens end with the control tokens
    # (<|startoftranscript|>? no: official lists translate, transcribe, startoflm, startofprev, nospeech; we add them)
    return {"_from_model_config": False, "bos_token_id": EOT, "decoder_start_token_id": SOT, "eos_token_id": EOT,
            "pad_token_id": EOT, "begin_suppress_tokens": [220 % 300, EOT],
            "suppress_tokens": [1, 2, 7, 11, 13, 42 + 100, TRANSLATE, TRANSCRIBE, SOLM, SOPREV, NOSPEECH],
            "no_timestamps_token_id": NOTS, "max_initial_timestamp_index": 50, "prev_sot_token_id": SOPREV,
            "is_multilingual": True, "lang_to_id": {'<|%s|>' % l: i for l, i in LANG_ID.items()},
            "task_to_id": {"translate": TRANSLATE, "transcribe": TRANSCRIBE}, "max_length": 448,
            "forced_decoder_ids": None}


def make_ckpt(name, c, seed, eot_scale):
    torch.manual_seed(seed)
    cfg = WhisperConfig(vocab_size=TS0 + c['max_source_positions'] + 1, decoder_start_token_id=SOT, eos_token_id=EOT,
                        pad_token_id=EOT, bos_token_id=EOT, begin_suppress_tokens=None, suppress_tokens=None,
                        forced_decoder_ids=None, **c)
    m = WhisperForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        for n, p in m.named_parameters():
            if 'encoder.embed_positions' in n:
                continue  # sinusoids (frozen)
            if 'layer_norm' in n:
                p.copy_(1 + 0.1 * torch.randn_like(p) if n.endswith('weight') else 0.1 * torch.randn_like(p))
            elif n.endswith('bias'):
                p.copy_(0.1 * torch.randn_like(p))
            elif 'embed_tokens' in n:
                p.copy_(EMB * torch.randn_like(p))
            elif 'decoder.embed_positions' in n:
                p.copy_(1.0 * torch.randn_like(p))
            elif p.dim() == 3:  # convs
                p.copy_(torch.randn_like(p) / math.sqrt(p.shape[1] * p.shape[2]))
            else:
                p.copy_(LIN * torch.randn_like(p) / math.sqrt(p.shape[-1]))
        m.model.decoder.embed_tokens.weight[EOT] *= eot_scale
    d = os.path.join(OUT, name)
    m.save_pretrained(d)
    json.dump(gen_config(), open(os.path.join(d, 'generation_config.json'), 'w'), indent=1)
    json.dump(tokenizer_json(cfg.vocab_size), open(os.path.join(d, 'tokenizer.json'), 'w'))


def signal(n, seed, silence=None):
    """Speech-like: gliding harmonic tone with a syllable envelope, formant-ish noise bursts; optional digital silence."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    f0 = 110 + 70 * np.sin(2 * np.pi * (0.5 + 0.1 * seed % 3) * t) + 20 * rng.standard_normal() 
    phase = 2 * np.pi * np.cumsum(f0) / 16000
    tone = sum(np.sin(k * phase + rng.uniform(0, 6)) / k for k in range(1, 10))
    env = np.clip(np.sin(2 * np.pi * (2.0 + 0.3 * (seed % 4)) * t + rng.uniform(0, 6)), 0, None) ** 2
    noise = np.convolve(rng.standard_normal(n), np.ones(8) / 8, 'same')
    x = 0.3 * env * tone + 0.05 * (1 - env) * noise * (rng.uniform(size=n) > 0.5) + 0.005 * rng.standard_normal(n)
    if silence:
        a, b = silence
        x[int(a * 16000):int(b * 16000)] = 0.0
    return (np.clip(x, -1, 1) * 32767).astype(np.int16)


# name, seconds, seed, silence (s, s)
AUDIO = [('a0p7', 0.7, 1, None), ('a1p5', 1.5, 2, None), ('a2p9', 2.9, 3, None), ('a4p3_sil', 4.3, 4, (1.2, 2.6)),
         ('a7p1', 7.1, 5, None), ('a10p6', 10.6, 6, (6.0, 6.5))]

if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    for name, c, seed, s in SHAPES:
        make_ckpt(name, c, seed, s)
    for name, sec, seed, sil in AUDIO:
        wf.write(os.path.join(OUT, name + '.wav'), 16000, signal(int(round(sec * 16000)), seed, sil))
    print('built', OUT)
