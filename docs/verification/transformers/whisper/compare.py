#!/tmp/hfenv/bin/python
"""Tessera `transcribe` vs transformers WhisperForConditionalGeneration.generate on the checkpoints of build.py.
Usage: /tmp/hfenv/bin/python compare.py [OUT=/tmp/tessera-hf/whisper/out] [filter-substring]"""
import json, os, subprocess, sys, warnings
import numpy as np
import torch
import scipy.io.wavfile as wf
from tokenizers import Tokenizer
from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration
from transformers.utils import logging as hflog

warnings.filterwarnings('ignore')
hflog.set_verbosity_error()
OUT = sys.argv[1] if len(sys.argv) > 1 else '/tmp/tessera-hf/whisper/out'
FILT = sys.argv[2] if len(sys.argv) > 2 else ''
TESSERA = os.environ.get('TESSERA', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../../tessera'))
M = 24  # max new tokens per window, both sides
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build as B  # noqa: E402

# case: name, checkpoint, audio, mode
#   short_nots / short_ts: audio <= window, language en
#   long_uncond / long_cond: timestamps, condition_on_prev_tokens False / True
#   detect_nots / detect_ts: no --language (short-form); detect_notask: no language and no task in transformers
CASES = []
for ck, _, _, _ in B.SHAPES:
    win = 2 * dict((n, c) for n, c, _, _ in B.SHAPES)[ck]['max_source_positions'] * 160 / 16000
    for an, sec, _, _ in B.AUDIO:
        if sec <= win:
            for mode in ('short_nots', 'short_ts', 'detect_nots', 'detect_ts'):
                CASES.append((ck, an, mode))
        elif sec <= 5 * win + 0.5:
            for mode in ('long_uncond', 'long_cond', 'detect_long'):
                CASES.append((ck, an, mode))
CASES.append(('A_d64_h4_m80_s100', 'a1p5', 'detect_notask'))
CASES.append(('C_d48_h2_m80_s50', 'a0p7', 'detect_notask'))

_models = {}


def model(ck):
    if ck not in _models:
        _models[ck] = WhisperForConditionalGeneration.from_pretrained(os.path.join(OUT, ck)).eval()
    return _models[ck]


def audio(an):
    sr, a = wf.read(os.path.join(OUT, an + '.wav'))
    return a.astype(np.float32) / 32768.0


def hf_run(ck, an, mode):
    m = model(ck)
    c = m.config
    win_s = 2 * c.max_source_positions * 160 // 16000 if (2 * c.max_source_positions * 160) % 16000 == 0 else None
    fe = WhisperFeatureExtractor(feature_size=c.num_mel_bins, chunk_length=win_s, sampling_rate=16000,
                                 hop_length=160, n_fft=400)
    x = audio(an)
    kw = dict(num_beams=1, max_new_tokens=M, return_dict_in_generate=True, output_scores=True, output_logits=True,
              return_segments=True)
    if mode.startswith('long') or mode == 'detect_long':
        f = fe(x, return_tensors='pt', truncation=False, padding='longest', return_attention_mask=True,
               sampling_rate=16000)
        kw.update(attention_mask=f.attention_mask, return_timestamps=True,
                  condition_on_prev_tokens=(mode == 'long_cond'))
    else:
        f = fe(x, return_tensors='pt', sampling_rate=16000)
        kw.update(return_timestamps=mode in ('short_ts', 'detect_ts'))
    if not mode.startswith('detect'):
        kw.update(language='en', task='transcribe')
    elif mode != 'detect_notask':
        kw.update(task='transcribe')
    with torch.no_grad():
        out = m.generate(f.input_features, **kw)
    segs = []
    if isinstance(out, dict) and 'segments' in out:
        for s in out['segments'][0]:
            r = s['result']
            seq = r['sequences'].tolist()
            off = len(seq) - len(r['scores'])
            toks = [t for t in s['tokens'].tolist() if t != B.EOT]
            # transformers' _retrieve_segment keeps the next segment's opening timestamp at the end of a window's last
            # segment (slices[-1] += 1); openai-whisper and Tessera do not: drop it for the comparison
            if len(toks) >= 2 and toks[-1] >= B.TS0 and toks[-2] >= B.TS0:
                toks = toks[:-1]
            segs.append(dict(win=id(r), start=float(s['start']), end=float(s['end']), tokens=toks, prompt=seq[:off],
                             step0=s['idxs'][0] - off, scores=r['scores'], logits=r['logits']))
    else:  # ModelOutput (no timestamps, single window)
        seq = out.sequences[0].tolist()
        off = len(seq) - len(out.scores)
        toks = [t for t in seq[off:] if t != B.EOT]
        segs.append(dict(win=0, start=0.0, end=len(x) / 16000, tokens=toks, prompt=seq[:off], step0=0,
                         scores=[s[0] for s in out.scores], logits=[s[0] for s in out.logits]))
    return segs


def tessera_run(ck, an, mode):
    cmd = [TESSERA, 'transcribe', os.path.join(OUT, an + '.wav'), '--model', os.path.join(OUT, ck), '--beam', '1',
           '--compression-ratio-threshold', 'none', '--logprob-threshold', 'none', '--no-speech-threshold', 'none',
           '--format', 'json', '--max-tokens', str(M)]
    if not mode.startswith('detect'):
        cmd += ['--language', 'en']
    if mode in ('short_nots', 'detect_nots', 'detect_notask'):
        cmd += ['--no-timestamps']
    if mode != 'long_cond':
        cmd += ['--no-condition-on-previous-text']
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(p.stderr.strip().splitlines()[-1])
    return json.loads(p.stdout), cmd


def main():
    rows, ndiff = [], 0
    for ck, an, mode in CASES:
        if FILT and FILT not in '%s %s %s' % (ck, an, mode):
            continue
        tok = Tokenizer.from_file(os.path.join(OUT, ck, 'tokenizer.json'))
        try:
            hs = hf_run(ck, an, mode)
        except Exception as e:
            print('%-20s %-9s %-13s HF FAILED: %s' % (ck, an, mode, str(e)[:200]))
            continue
        try:
            tj, cmd = tessera_run(ck, an, mode)
        except Exception as e:
            print('%-20s %-9s %-13s TESSERA FAILED: %s' % (ck, an, mode, e))
            continue
        ts = tj['segments']
        extra = ''
        if mode.startswith(('short', 'detect_')) and mode != 'detect_long' and hs:
            first = [s for s in hs if s['win'] == hs[0]['win']]
            if len(first) < len(hs):  # transformers' short-form seek loop went on past the first window (known)
                extra = ' [HF decoded %d more window(s) past the first: %d extra segs ignored]' % (
                    len(set(s['win'] for s in hs)) - 1, len(hs) - len(first))
                hs = first
        hl = [(s['start'], s['end'], s['tokens']) for s in hs]
        tl = [(s['start'], s['end'], s['tokens']) for s in ts]
        hflat = [t for s in hl for t in s[2]]
        tflat = [t for s in tl for t in s[2]]
        lang_h = next((B.LANGS[t - 302] for t in hs[0]['prompt'] if 302 <= t < 302 + len(B.LANGS)), None) if hs else None
        task_h = [t for t in hs[0]['prompt'] if t in (B.TRANSLATE, B.TRANSCRIBE)] if hs else []
        info = 'lang hf=%s tess=%s%s' % (lang_h, tj.get('language'), extra)
        if mode == 'detect_notask':
            info += ' hf_task_tokens=%s' % task_h
        same_tok = hflat == tflat
        same_seg = len(hl) == len(tl) and all(abs(a[0] - b[0]) < 1e-3 and abs(a[1] - b[1]) < 1e-3 and a[2] == b[2]
                                              for a, b in zip(hl, tl))
        same_text = [tok.decode(s[2], skip_special_tokens=True) for s in hl] == [s['text'].strip() for s in ts]
        if same_tok and same_seg and lang_h == tj.get('language'):
            print('%-20s %-9s %-13s IDENTICAL: %d segments, %d tokens, text %s, %s' % (
                ck, an, mode, len(hl), len(hflat), 'same' if same_text else 'DIFFERS', info))
            continue
        ndiff += 1
        msg = '%-20s %-9s %-13s DIFFERS (%s): ' % (ck, an, mode, info)
        if same_tok:
            msg += 'tokens identical, segments differ: hf %s\n      tess %s' % (
                [(round(a, 2), round(b, 2), len(t)) for a, b, t in hl], [(round(a, 2), round(b, 2), len(t)) for a, b, t in tl])
        else:
            k = next((i for i in range(min(len(hflat), len(tflat))) if hflat[i] != tflat[i]), min(len(hflat), len(tflat)))
            # locate HF segment holding flattened index k
            acc, j = 0, 0
            while j < len(hl) - 1 and acc + len(hl[j][2]) <= k:
                acc += len(hl[j][2]); j += 1
            h_t = hflat[k] if k < len(hflat) else 'END'
            t_t = tflat[k] if k < len(tflat) else 'END'
            msg += 'first flat token %d (hf seg %d @%.2fs): hf %s tess %s; hf %d tok/%d seg, tess %d tok/%d seg' % (
                k, j, hl[j][0] if hl else -1, hflat[k:k + 5], tflat[k:k + 5], len(hflat), len(hl), len(tflat), len(tl))
            if hs:
                s = hs[j]
                step = s['step0'] + (k - acc)
                if step < len(s['scores']):
                    sc, lg = s['scores'][step], s['logits'][step]
                    ht = int(sc.argmax())
                    tt = t_t if isinstance(t_t, int) else B.EOT
                    fin = torch.isfinite(sc)
                    msg += '\n      hf step %d (prompt %s): processed argmax %d=%.5f, tess tok %d processed=%.5f raw=%.5f vs raw[%d]=%.5f' % (
                        step, s['prompt'], ht, float(sc[ht]), tt, float(sc[tt]), float(lg[tt]), ht, float(lg[ht]))
                    top2 = torch.topk(sc[fin], min(2, int(fin.sum()))).values
                    if len(top2) == 2:
                        msg += ' top2 margin %.2e' % float(top2[0] - top2[1])
            msg += '\n      hf segs %s\n      tess segs %s' % ([(round(a, 2), round(b, 2), t) for a, b, t in hl],
                                                            [(round(a, 2), round(b, 2), t) for a, b, t in tl])
        print(msg)
    print('%d case(s) differ' % ndiff)


if __name__ == '__main__':
    main()
