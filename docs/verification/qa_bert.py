#!/usr/bin/env python3
"""QA cases for `tessera embed` / `tessera similarity` on random-weight BERT checkpoints of other sizes with a
WordPiece tokenizer.json, against the PyTorch BERT of models/src/test/resources/bert/make_fixtures.py (written from
the published architecture) + the sentence-transformers recipe (mean pooling over real tokens, L2 normalisation where
a modules.json names a Normalize module; a plain Hugging Face folder is not normalised, as sentence-transformers
loads it).
Token ids are computed here by a WordPiece written from BERT's published rules (lower case, accents stripped, CJK
characters and punctuation split off, greedy longest-match with ## continuations), truncated to
min(max_position_embeddings (- 2 for RoBERTa), sentence_bert_config max_seq_length) keeping [SEP] (no
tokenizer_config.json is written, so without a max_seq_length sentence-transformers takes all the positions);
RoBERTa-type configs take position ids from padding_idx + 1 = 2. Texts: short, empty, unicode,
a text longer than the context, mixed batch.

Usage (from the repository root, after the CLI is built):
    /usr/bin/python3 docs/verification/qa_bert.py make OUT && sh OUT/run.sh && /usr/bin/python3 docs/verification/qa_bert.py check OUT
"""
import json
import os
import sys
import unicodedata

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
sys.path.insert(0, os.path.join(ROOT, 'models', 'src', 'test', 'resources', 'bert'))
import make_fixtures as B  # noqa: E402

SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
WORDS = ['the', 'a', 'cat', 'dog', 'sits', 'on', 'mat', 'hello', 'world', 'run', '##ning', '##s', 'play', '##ed',
         'cafe', '.', ',', '!', '?', '日', '本', 'naive', 'un', '##believ', '##able']


def vocab_of(size):
    v = SPECIAL + WORDS + ['w%d' % i for i in range(size)]
    return {t: i for i, t in enumerate(v[:size])}


def write_tokenizer(path, vocab):
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [dict(id=vocab[t], content=t, single_word=False, lstrip=False, rstrip=False, normalized=False,
                                 special=True) for t in SPECIAL],
           "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                          "strip_accents": None, "lowercase": True},
           "pre_tokenizer": {"type": "BertPreTokenizer"},
           "post_processor": {"type": "TemplateProcessing",
                              "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                         {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                              "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                                       {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                              "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ('[CLS]', '[SEP]')}},
           "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
           "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                     "max_input_chars_per_word": 100, "vocab": vocab}}
    json.dump(tok, open(path, 'w'), ensure_ascii=False)


def wordpiece(text, vocab, max_len):
    t = unicodedata.normalize('NFD', text.lower())
    t = ''.join(c for c in t if unicodedata.category(c) != 'Mn')
    out = []
    for c in t:
        cp = ord(c)
        if 0x4E00 <= cp <= 0x9FFF or unicodedata.category(c).startswith('P') or (33 <= cp <= 47) or (58 <= cp <= 64):
            out.append(' %s ' % c)
        else:
            out.append(c)
    ids = []
    for w in ''.join(out).split():
        pieces, start = [], 0
        while start < len(w):
            end, cur = len(w), None
            while start < end:
                s = w[start:end] if start == 0 else '##' + w[start:end]
                if s in vocab:
                    cur = s
                    break
                end -= 1
            if cur is None:
                pieces = ['[UNK]']
                break
            pieces.append(cur)
            start = end
        ids += [vocab[p] for p in pieces]
    ids = ids[:max_len - 2]
    return [vocab['[CLS]']] + ids + [vocab['[SEP]']]


LONG = ' '.join(['the cat sits on the mat.'] * 60)
TEXTS = ['the cat sits on the mat', '', 'Héllo wörld! café naïve 日本 😀', 'unbelievable running dogs played',
         LONG, 'a', 'w7 w8 w9 w10 dog dog dog']
CASES = [
    # name, config overrides, sentence_bert max_seq_length (None: no file)
    ('h64_l3_pos512', dict(vocab_size=120, hidden_size=64, num_hidden_layers=3, num_attention_heads=8,
                           intermediate_size=96, max_position_embeddings=512), None),
    ('h36_pos64_sbert48', dict(vocab_size=90, hidden_size=36, num_hidden_layers=1, num_attention_heads=3,
                               intermediate_size=50, max_position_embeddings=64, layer_norm_eps=1e-5), 48),
    ('roberta_pos_offset', dict(model_type="roberta", pad_token_id=1, vocab_size=70, hidden_size=40, num_hidden_layers=2,
                                num_attention_heads=4, intermediate_size=64, max_position_embeddings=66,
                                type_vocab_size=1, layer_norm_eps=1e-5), None),
    ('h32_type1', dict(vocab_size=77, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=64, max_position_embeddings=300, type_vocab_size=1), None),
]


def forward(m, ids, offset):
    """B.Bert.forward with position ids offset..offset+S-1 (RoBERTa: padding_idx + 1 onwards); one unpadded row."""
    pos = torch.arange(ids.shape[1])[None, :] + offset
    x = m.ln(m.word(ids) + m.pos(pos) + m.tok_type(torch.zeros_like(ids)))
    for layer in m.layers:
        x = layer(x, torch.ones_like(ids))
    return x


def make(out):
    torch.manual_seed(9)
    run = ['#!/bin/sh', 'T=${TESSERA:-./tessera}', 'O=%s' % os.path.abspath(out)]
    for name, over, sb in CASES:
        cfg = dict(B.CFG, **over)
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        m = B.Bert(cfg).eval()
        with torch.no_grad():
            for mod in m.modules():
                if isinstance(mod, torch.nn.LayerNorm):
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.uniform_(-0.2, 0.2)
        B.write_safetensors(os.path.join(d, 'model.safetensors'), m.hf_state())
        json.dump(cfg, open(os.path.join(d, 'config.json'), 'w'), indent=1)
        vocab = vocab_of(cfg['vocab_size'])
        write_tokenizer(os.path.join(d, 'tokenizer.json'), vocab)
        offset = cfg['pad_token_id'] + 1 if cfg.get('model_type') in ('roberta', 'xlm-roberta', 'camembert') else 0
        max_len = cfg['max_position_embeddings'] - offset
        if sb is not None:
            json.dump({"max_seq_length": sb, "do_lower_case": False}, open(os.path.join(d, 'sentence_bert_config.json'), 'w'))
            max_len = min(max_len, sb)
        # a sentence-transformers save (Transformer + mean Pooling + Normalize), except h32_type1: a plain Hugging Face
        # folder, which sentence-transformers loads as Transformer + mean Pooling, not normalised
        normalize = name != 'h32_type1'
        if normalize:
            os.makedirs(os.path.join(d, '1_Pooling'), exist_ok=True)
            json.dump({"word_embedding_dimension": cfg['hidden_size'], "pooling_mode_mean_tokens": True},
                      open(os.path.join(d, '1_Pooling', 'config.json'), 'w'))
            json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                       {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                       {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
                      open(os.path.join(d, 'modules.json'), 'w'))
        ref = []
        with torch.no_grad():
            for t in TEXTS:
                ids = torch.tensor([wordpiece(t, vocab, max_len)])
                h = forward(m, ids, offset)[0].double()
                e = h.mean(0)
                ref.append((e / e.norm() if normalize else e).numpy())
        np.save(os.path.join(d, 'ref.npy'), np.stack(ref))
        texts = ' '.join("--text '%s'" % t for t in TEXTS)
        run.append("$T embed --model $O/{n} {t} --batch-size 3 --out $O/{n}/out.npy > $O/{n}/stdout.txt 2> $O/{n}/stderr.txt; "
                   "echo \"{n} rc=$?\"".format(n=name, t=texts))
        run.append("$T similarity --model $O/{n} {t} --json > $O/{n}/sim.json 2> $O/{n}/stderr_s.txt; echo \"{n} similarity rc=$?\""
                   .format(n=name, t=' '.join("'%s'" % t for t in TEXTS)))
    open(os.path.join(out, 'run.sh'), 'w').write('\n'.join(run) + '\n')


def check(out):
    for name, *_ in CASES:
        d = os.path.join(out, name)
        ref = np.load(os.path.join(d, 'ref.npy'))
        try:
            got = np.load(os.path.join(d, 'out.npy')).astype(np.float64)
        except Exception:
            err = open(os.path.join(d, 'stderr.txt')).read().strip().splitlines()
            print('%-20s FAILED: %s' % (name, err[-1] if err else '?'))
            continue
        rows = [np.linalg.norm(got[i] - ref[i]) / np.linalg.norm(ref[i]) for i in range(len(ref))]
        print('%-20s embed rel %.2e, per text: %s' % (name, np.linalg.norm(got - ref) / np.linalg.norm(ref),
                                                    ' '.join('%.1e' % r for r in rows)))
        try:
            s = np.array(json.load(open(os.path.join(d, 'sim.json')))['cosine'])
            unit = ref / np.linalg.norm(ref, axis=1, keepdims=True)  # cosines, whether or not embed normalises
            print('%-20s similarity max abs diff %.2e' % (name, np.abs(s - unit @ unit.T).max()))
        except Exception:
            err = open(os.path.join(d, 'stderr_s.txt')).read().strip().splitlines()
            print('%-20s similarity FAILED: %s' % (name, err[-1] if err else '?'))


if __name__ == '__main__':
    {'make': make, 'check': check}[sys.argv[1]](sys.argv[2])
