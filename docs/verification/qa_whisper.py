#!/usr/bin/env python3
"""QA cases for `tessera transcribe --features F --beam 1|3|5 --format json` on random-weight Whisper checkpoints of other
shapes (d_model, heads, head size 12-32, encoder and decoder depths apart, FFN widths, 80 / 128 mel bins, source and
target lengths), with timestamps and without, transcribe and translate, a given language and a detected one, features
shorter and longer than the window (longer: transcribed long-form as audio is, checked against the long-form loop
below, segment by segment). Reference: the float64 PyTorch Whisper of
models/src/test/resources/whisper/make_fixtures.py (written from the published architecture; not transformers), with
its greedy decoder, its beam search with openai-whisper's semantics, and its logit rules (suppress_tokens, begin
suppression, timestamp rules), the language picked as the
larger of the <|en|> / <|de|> logits at <|startoftranscript|>, and features shorter than the window padded with their
own minimum as the CLI documents. The CLI prints the decoded token ids; the check is that they equal the reference's,
with the reference's smallest top-2 margin (relative to max |logit|) printed so that a near-tie would be visible.

Usage (from the repository root, after the CLI is built):
    /usr/bin/python3 docs/verification/qa_whisper.py make OUT && sh OUT/run.sh && /usr/bin/python3 docs/verification/qa_whisper.py check OUT
"""
import json
import os
import sys

import numpy as np
import torch

import scipy.io.wavfile as wf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qa_logmel as QL  # noqa: E402  (speech-like test audio, the log-mel reference, load_module)

from qa_llama import load_weights  # noqa: E402  (a safetensors file as float64 tensors)

W = QL.load_module('whisper_fixtures', 'models/src/test/resources/whisper/make_fixtures.py')

BASE = dict(d_model=64, encoder_layers=2, encoder_attention_heads=4, decoder_layers=2, decoder_attention_heads=4,
            encoder_ffn_dim=128, decoder_ffn_dim=128, num_mel_bins=80, max_source_positions=100,
            max_target_positions=64)
# name, config overrides, feature frames relative to the window (None: exactly the window)
SHAPES = [
    ('d48_enc1_dec3', dict(d_model=48, encoder_layers=1, decoder_layers=3, encoder_attention_heads=2,
                           decoder_attention_heads=3, encoder_ffn_dim=100, decoder_ffn_dim=72), None),
    ('d80_h5_mels128', dict(d_model=80, encoder_attention_heads=5, decoder_attention_heads=5, num_mel_bins=128,
                            max_source_positions=75, max_target_positions=48, encoder_ffn_dim=136,
                            decoder_ffn_dim=96), None),
    ('d128_dh32_src150', dict(d_model=128, encoder_attention_heads=4, decoder_attention_heads=4, encoder_layers=3,
                              decoder_layers=1, max_source_positions=150, max_target_positions=96), None),
    ('d96_dh12_short_feats', dict(d_model=96, encoder_attention_heads=8, decoder_attention_heads=8,
                                  max_source_positions=60, max_target_positions=40), 0.6),
    ('d64_long_feats', dict(max_source_positions=50), 1.7),
    ('d48_long_feats', dict(d_model=48, encoder_layers=1, decoder_layers=3, encoder_attention_heads=2,
                            decoder_attention_heads=3, encoder_ffn_dim=100, decoder_ffn_dim=72,
                            max_source_positions=40), 2.65),
    # <|endoftext|>'s embedding row (the output projection is tied to it) scaled up, so that hypotheses end early and
    # beam search has finished and live ones to weigh against each other
    ('d64_eot_x2', dict(_eot_scale=2.0), None),
    ('d64_eot_x3', dict(_eot_scale=3.0, max_target_positions=40), None),
    ('d80_eot_x2p5', dict(_eot_scale=2.5, d_model=80, encoder_attention_heads=5, decoder_attention_heads=5), None),
]
# mode name, CLI options, prompt builder (language token -> prompt), timestamps, beam size
MODES = [
    ('notimestamps', ['--language', 'en', '--no-timestamps'], lambda lang: [W.SOT, lang, W.TRANSCRIBE, W.NOTS], False,
     1),
    ('timestamps', ['--language', 'en'], lambda lang: [W.SOT, lang, W.TRANSCRIBE], True, 1),
    ('translate_de', ['--language', 'de', '--task', 'translate', '--no-timestamps'],
     lambda lang: [W.SOT, lang, W.TRANSLATE, W.NOTS], False, 1),
    ('detect_language', ['--no-timestamps'], lambda lang: [W.SOT, lang, W.TRANSCRIBE, W.NOTS], False, 1),
    ('beam5_notimestamps', ['--language', 'en', '--no-timestamps'],
     lambda lang: [W.SOT, lang, W.TRANSCRIBE, W.NOTS], False, 5),
    ('beam3_timestamps', ['--language', 'en'], lambda lang: [W.SOT, lang, W.TRANSCRIBE], True, 3),
]
MAX_TOKENS = 28
# Long form: `tessera transcribe AUDIO` (greedy, no fallback, no no-speech gate) over several windows, against the
# reference's long-form loop (openai-whisper's transcribe(): a window's tokens cut into segments at consecutive
# timestamps; the next window starts at the last segment's end timestamp, or after the whole window when the tokens
# end with a single timestamp or hold no timestamp pair; the prompt carries the text since the last reset), with the
# features as transformers' long-form generate computes them (the whole file's log-mel, clamped at its max - 8, each
# window's frames from there, the last padded with 0.0). Seconds of audio a multiple of 10 ms.
# name, checkpoint (from SHAPES), seconds of audio, extra CLI options
LONGFORM = [
    ('lf_ts', 'd64_eot_x2', 7.3, []),
    ('lf_ts_uncond', 'd64_eot_x2', 7.3, ['--no-condition-on-previous-text']),
    ('lf_nots', 'd64_eot_x2', 5.1, ['--no-timestamps']),
    ('lf_nots_plain', 'd48_enc1_dec3', 6.0, ['--no-timestamps']),
    ('lf_nots_mels128', 'd80_h5_mels128', 6.2, ['--no-timestamps']),
    ('lf_ts_mels128', 'd80_h5_mels128', 6.2, []),
    ('lf_ts_eot2p5', 'd80_eot_x2p5', 9.0, []),
    ('lf_ts_plain', 'd48_enc1_dec3', 6.0, []),
    ('lf_short_ts', 'd64_eot_x2', 1.5, []),
    ('lf_short_ts_plain', 'd48_enc1_dec3', 0.7, []),
    ('lf_short_nots', 'd80_h5_mels128', 1.2, ['--no-timestamps']),
]
LF_MAX_TOKENS = 20
GEN = {"suppress_tokens": [1, 2, 7, 11, 13], "begin_suppress_tokens": [0, W.EOT], "no_timestamps_token_id": W.NOTS,
       "lang_to_id": {"<|en|>": W.EN, "<|de|>": W.DE},
       "task_to_id": {"translate": W.TRANSLATE, "transcribe": W.TRANSCRIBE}, "is_multilingual": True,
       "max_initial_timestamp_index": 50, "decoder_start_token_id": W.SOT}
SPECIALS = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|de|>", "<|translate|>", "<|transcribe|>",
            "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]


def tokenizer_json(vocab_size):
    """A word-level tokenizer.json over the synthetic vocabulary: w0..w299, the special tokens, the timestamps."""
    vocab, added = {}, []
    for i in range(vocab_size):
        tok = 'w%d' % i if i < 300 else SPECIALS[i - 300] if i < 310 else '<|%.2f|>' % ((i - 310) * 0.02)
        vocab[tok] = i
        if i >= 300:
            added.append(dict(id=i, content=tok, single_word=False, lstrip=False, rstrip=False, normalized=False,
                              special=True))
    return dict(version="1.0", truncation=None, padding=None, added_tokens=added, normalizer=None,
                pre_tokenizer=dict(type="Whitespace"), post_processor=None, decoder=None,
                model=dict(type="WordLevel", vocab=vocab, unk_token="w0"))


def config(over):
    c = dict(BASE, **{k: v for k, v in over.items() if not k.startswith('_')})
    return dict(c, model_type="whisper", vocab_size=W.TS0 + c["max_source_positions"] + 1, eos_token_id=W.EOT,
                decoder_start_token_id=W.SOT, pad_token_id=W.EOT)


def make(out):
    run = ['#!/bin/sh', 'T=${TESSERA:-./tessera}', 'O=%s' % os.path.abspath(out)]
    for k, (name, over, rel_frames) in enumerate(SHAPES):
        c = config(over)
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        g = torch.Generator().manual_seed(100 + k)
        weights = W.make_weights(c, g)
        weights['model.decoder.embed_tokens.weight'][W.EOT] *= over.get('_eot_scale', 1.0)
        W.write_safetensors(os.path.join(d, 'model.safetensors'), weights)
        json.dump(c, open(os.path.join(d, 'config.json'), 'w'), indent=1)
        json.dump(GEN, open(os.path.join(d, 'generation_config.json'), 'w'), indent=1)
        json.dump(tokenizer_json(c["vocab_size"]), open(os.path.join(d, 'tokenizer.json'), 'w'))
        window = 2 * c["max_source_positions"]
        frames = window if rel_frames is None else int(round(window * rel_frames))
        mel = torch.randn(c["num_mel_bins"], frames, generator=g, dtype=torch.float64).clamp(-1.5, 1.5)
        np.save(os.path.join(d, 'features.npy'), mel.float().numpy())
        # features longer than the window are transcribed long-form; without temperature fallback, as the
        # long-form reference decodes
        lf = ' --compression-ratio-threshold none --logprob-threshold none' if frames > window else ''
        for mode, opts, _, _, beam in MODES:
            run.append('$T transcribe --model $O/{n} --features $O/{n}/features.npy --beam {b} --max-tokens {m} '
                       '--no-speech-threshold none{lf} --format json {o} > $O/{n}/{mode}.json 2> $O/{n}/{mode}.err; '
                       'echo "{n} {mode} rc=$?"'.format(n=name, b=beam, m=MAX_TOKENS, lf=lf, o=' '.join(opts),
                                                        mode=mode))
    for k, (name, ckpt, seconds, opts) in enumerate(LONGFORM):
        x = QL.signal(int(round(seconds * 100)) * 160, 1, 50 + k)[:, 0]
        wf.write(os.path.join(out, name + '.wav'), 16000, QL.encode(x, 'int16'))
        run.append('$T transcribe $O/{w}.wav --model $O/{c} --beam 1 --language en --max-tokens {m} '
                   '--compression-ratio-threshold none --logprob-threshold none --no-speech-threshold none '
                   '--format json {o} > $O/{w}.json 2> $O/{w}.err; echo "{w} rc=$?"'
                   .format(w=name, c=ckpt, m=LF_MAX_TOKENS, o=' '.join(opts)))
    open(os.path.join(out, 'run.sh'), 'w').write('\n'.join(run) + '\n')


def longform_reference(Wt, c, audio, timestamps, condition):
    """Segments (start, end, tokens) of the reference's long-form loop on audio; see LONGFORM."""
    win = 2 * c["max_source_positions"] * 160
    QL.LM.filters = QL.whisper_filters  # Tessera's Whisper front end: Whisper's own filterbank
    # audio longer than a window: the whole file's features (reflected at both ends, last frame dropped, clamped at
    # the file's max - 8), each window's frames taken from there and padded with 0.0, as transformers' long-form
    # generate and openai-whisper's transcribe do; audio of one window or less is zero-padded to the window and its
    # windows decoded until the window's end, as transformers' short-form generate does (its seek loop runs over the
    # padded features)
    if len(audio) <= win:
        audio = np.concatenate([audio, np.zeros(win - len(audio))])
    full = QL.LM.logmel(audio, c["num_mel_bins"], False)
    return longform_windows(Wt, c, full, len(audio) // 160, timestamps, condition, [W.EN, W.TRANSCRIBE],
                            lambda enc, prompt: W.greedy(Wt, c, GEN, enc, prompt, timestamps, LF_MAX_TOKENS))


def longform_windows(Wt, c, full, n_frames, timestamps, condition, lang_task, decode):
    """Segments (start, end, tokens) of the long-form loop over the log-mel `full` [n_mels, >= n_frames] of n_frames
    frames (10 ms each): openai-whisper's transcribe() (see LONGFORM), each window's frames from its seek position
    padded with 0.0, the prompt [<|startofprev|> text since the last reset] <|startoftranscript|> `lang_task`
    [<|notimestamps|>], decode(encoder output, prompt) the window's tokens."""
    frames = 2 * c["max_source_positions"]
    n_ctx = c["max_target_positions"]
    seek, all_tokens, reset, segments = 0, [], 0, []
    while seek < n_frames:
        chunk = min(frames, n_frames - seek)
        part = full[:, seek:seek + chunk]
        mel = torch.zeros(c["num_mel_bins"], frames, dtype=torch.float64)
        mel[:, :part.shape[1]] = torch.tensor(part).float().double()
        enc = W.encode(Wt, c, mel[None])
        prev = all_tokens[reset:]
        prompt = ([W.SOPREV] + prev[-(n_ctx // 2 - 1):] if prev else []) + [W.SOT] + list(lang_task) \
            + ([] if timestamps else [W.NOTS])
        toks = list(decode(enc, prompt))
        toks = toks[:toks.index(W.EOT)] if W.EOT in toks else toks
        t0 = seek / 100
        is_ts = [t >= W.TS0 for t in toks]
        cuts = [i + 1 for i in range(len(toks) - 1) if is_ts[i] and is_ts[i + 1]]
        single_end = is_ts[-2:] == [False, True]
        segs = []
        if cuts:  # with --no-timestamps too: a random-weight model samples timestamps there, as in openai-whisper
            last = 0
            for cut in cuts + ([len(toks)] if single_end else []):
                seg = toks[last:cut]
                # a first slice without an opening timestamp starts with the window (openai-whisper computes a time
                # from the text token's id there; Tessera documents the difference)
                start = t0 + (seg[0] - W.TS0) * 0.02 if seg[0] >= W.TS0 else t0
                segs.append((start, t0 + (seg[-1] - W.TS0) * 0.02, seg))
                last = cut
            seek += chunk if single_end else (toks[last - 1] - W.TS0) * 2
        else:
            end = t0 + chunk / 100
            ts = [t for t in toks if t >= W.TS0]
            if ts and ts[-1] != W.TS0:
                end = t0 + (ts[-1] - W.TS0) * 0.02
            segs.append((t0, end, toks))
            seek += chunk
        segs = [s for s in segs if s[0] != s[1] and any(t < W.TS0 for t in s[2])]  # not instantaneous, not timestamps alone (transformers keeps blank ones)
        segments += segs
        all_tokens += [t for s in segs for t in s[2]]
        if not condition:
            reset = len(all_tokens)
    return segments


def same_segments(got, ref):
    """Whether two segment lists agree (times to 1 ms, tokens exactly); else the first index where they differ."""
    for j in range(min(len(got), len(ref))):
        if not (abs(got[j][0] - ref[j][0]) < 1e-3 and abs(got[j][1] - ref[j][1]) < 1e-3 and got[j][2] == ref[j][2]):
            return j
    return None if len(got) == len(ref) else min(len(got), len(ref))


def check_longform(out):
    bad = 0
    for name, ckpt, seconds, opts in LONGFORM:
        over = next(o for n, o, _ in SHAPES if n == ckpt)
        c = config(over)
        Wt = load_weights(os.path.join(out, ckpt))
        sr, a = wf.read(os.path.join(out, name + '.wav'))
        ref = longform_reference(Wt, c, QL.decode(a), '--no-timestamps' not in opts,
                                 '--no-condition-on-previous-text' not in opts)
        try:
            got = [(g['start'], g['end'], g['tokens']) for g in json.load(open(os.path.join(out, name + '.json')))['segments']]
        except Exception:
            err = open(os.path.join(out, name + '.err')).read().strip().splitlines()
            print('%-22s FAILED: %s' % (name, err[-1] if err else '?'))
            bad += 1
            continue
        i = same_segments(got, ref)
        bad += i is not None
        if i is None:
            print('%-22s %.1f s: %d segments identical (times, tokens), %d tokens' % (name, seconds, len(ref),
                                                                                    sum(len(r[2]) for r in ref)))
        else:
            print('%-22s DIFFERS at segment %d of %d / %d: got %s ref %s' % (name, i, len(got), len(ref),
                                                                       got[i:i + 1], ref[i:i + 1]))
    return bad


def reference(Wt, c, enc, prompt, timestamps):
    """W.greedy, keeping the top-2 margin of every step."""
    tokens, margins = list(prompt), []
    for _ in range(MAX_TOKENS):
        lg = W.decode(Wt, c, torch.tensor([tokens]), enc)[0, -1]
        lg = W.apply_rules(lg, tokens, len(prompt), GEN, timestamps)
        top = torch.topk(lg, 2).values
        finite = lg[torch.isfinite(lg)]
        margins.append(float((top[0] - top[1]) / finite.abs().max()) if torch.isfinite(top[1]) else 1.0)
        t = int(lg.argmax())
        tokens.append(t)
        if t == W.EOT or len(tokens) >= c["max_target_positions"]:
            break
    return tokens[len(prompt):], margins


def check(out):
    bad = 0
    for name, over, _ in SHAPES:
        c = config(over)
        d = os.path.join(out, name)
        Wt = load_weights(d)
        feats = np.load(os.path.join(d, 'features.npy')).astype(np.float64)
        window = 2 * c["max_source_positions"]
        mel = np.full((c["num_mel_bins"], window), feats.min())
        use = min(window, feats.shape[1])
        mel[:, :use] = feats[:, :use]
        with torch.no_grad():
            enc = W.encode(Wt, c, torch.tensor(mel)[None])
            lang_logits = W.decode(Wt, c, torch.tensor([[W.SOT]]), enc)[0, -1, [W.EN, W.DE]]
            for mode, opts, prompt_of, timestamps, beam in MODES:
                try:
                    o = json.load(open(os.path.join(d, mode + '.json')))
                except Exception:
                    err = open(os.path.join(d, mode + '.err')).read().strip().splitlines()
                    print('%-22s %-18s FAILED: %s' % (name, mode, err[-1] if err else '?'))
                    bad += 1
                    continue
                lang = 'de' if '--language' in opts and opts[opts.index('--language') + 1] == 'de' else 'en'
                if mode == 'detect_language':
                    lang = 'en' if lang_logits[0] >= lang_logits[1] else 'de'
                prompt = prompt_of(W.EN if lang == 'en' else W.DE)
                if feats.shape[1] > window:  # long-form, segment by segment
                    if beam == 1:
                        dec = lambda e, p: W.greedy(Wt, c, GEN, e, p, timestamps, MAX_TOKENS)  # noqa: E731
                    else:
                        dec = lambda e, p: W.beam_search(Wt, c, GEN, e, p, timestamps, MAX_TOKENS, beam)[0]  # noqa: E731
                    ref = longform_windows(Wt, c, feats, feats.shape[1], timestamps, True, prompt[1:3], dec)
                    got = [(g['start'], g['end'], g['tokens']) for g in o.get('segments', [])]
                    i = same_segments(got, ref)
                    ok = i is None and o.get('language') == lang
                    bad += not ok
                    if ok:
                        print('%-22s %-18s long-form: %d segments identical (times, tokens), %d tokens, language %s%s'
                              % (name, mode, len(ref), sum(len(r[2]) for r in ref), lang,
                                 ' (beam %d)' % beam if beam > 1 else ''))
                    else:
                        print('%-22s %-18s long-form DIFFERS at segment %s of %d / %d: got %s ref %s, language %s ref %s'
                              % (name, mode, i, len(got), len(ref), got[i:i + 1] if i is not None else '',
                                 ref[i:i + 1] if i is not None else '', o.get('language'), lang))
                    continue
                if beam == 1:
                    ref, margins = reference(Wt, c, enc, prompt, timestamps)
                    want = ref[:-1] if ref and ref[-1] == W.EOT else ref
                else:
                    want, _ = W.beam_search(Wt, c, GEN, enc, prompt, timestamps, MAX_TOKENS, beam)
                    margins = []
                segs = o.get('segments', [])
                got = segs[0]['tokens'] if segs else []
                ok = got == want and o.get('language') == lang
                bad += not ok
                if ok:
                    print('%-22s %-18s %d/%d tokens identical, language %s (%s)'
                          % (name, mode, len(got), len(want), lang,
                             'beam %d' % beam if beam > 1 else 'min ref margin %.3g' % min(margins)))
                else:
                    i = next((j for j in range(min(len(got), len(want))) if got[j] != want[j]), min(len(got), len(want)))
                    print('%-22s %-18s DIFFERS at token %d: got %s ref %s, language %s ref %s (ref margin there %.3g)'
                          % (name, mode, i, got[i:i + 4], want[i:i + 4], o.get('language'), lang,
                             margins[i] if i < len(margins) else -1))
    bad += check_longform(out)
    print('all cases agree' if bad == 0 else '%d case(s) differ' % bad)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit({'make': make, 'check': check}[sys.argv[1]](sys.argv[2]))
