#!/usr/bin/python3
"""Builds a Hugging Face tokenizer.json for Whisper from its tiktoken ranks.

  /usr/bin/python3 make_tokenizer.py /work/shared/data/whisper/multilingual.tiktoken multilingual
  /usr/bin/python3 make_tokenizer.py /work/shared/data/whisper/gpt2.tiktoken english

Input data: Whisper's vocabularies (MIT licence, Copyright (c) 2022 OpenAI). Writes <name>.tokenizer.json.gz
and <name>.expected.json: token ids of sample texts encoded by an independent byte-level BPE (the rank-merge
loop below, in Python) for the Java test to compare with DJL's Rust tokenizer.

Merges follow from the ranks: a token of rank r is the merge of the two parts that BPE restricted to ranks < r
leaves of its bytes. Special tokens follow the ranks in Whisper's order (see the data README).
"""
import base64, gzip, json, sys
import regex as re_mod  # noqa  (python3-regex, for \p{L}); falls back below

LANGS = ("en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg "
         "lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af "
         "oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su").split()


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def bpe(ranks, piece, max_rank=None):
    parts = [bytes([b]) for b in piece]
    while len(parts) > 1:
        best, idx = None, -1
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (max_rank is None or r < max_rank) and (best is None or r < best):
                best, idx = r, i
        if best is None:
            break
        parts = parts[:idx] + [parts[idx] + parts[idx + 1]] + parts[idx + 2:]
    return parts


def main(src, name):
    ranks = {}
    for line in open(src):
        if line.strip():
            tok, r = line.split()
            ranks[base64.b64decode(tok)] = int(r)
    b2u = bytes_to_unicode()
    enc = lambda b: "".join(b2u[x] for x in b)
    vocab = {enc(t): r for t, r in ranks.items()}
    merges = []
    for t, r in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(t) < 2:
            continue
        parts = bpe(ranks, t, max_rank=r)
        assert len(parts) == 2, (t, parts)
        merges.append(enc(parts[0]) + " " + enc(parts[1]))
    n = len(ranks)
    multilingual = name != "english"
    specials = ["<|endoftext|>", "<|startoftranscript|>"]
    if multilingual:
        specials += [f"<|{l}|>" for l in LANGS]
    specials += ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>",
                 "<|notimestamps|>"] + [f"<|{i * 0.02:.2f}|>" for i in range(1501)]
    added = [{"id": n + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in enumerate(specials)]
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
          "post_processor": None,
          "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                    "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                    "merges": merges}}
    with gzip.open(f"{name}.tokenizer.json.gz", "wt", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
    pat = re_mod.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
    samples = ["Hello world", " The quick brown fox jumps over the lazy dog.", "It's 3.14159 o'clock, isn't it?",
               "Grüße aus Köln — naïve café!", "日本語のテキストも大丈夫です", "  spaces   and\ttabs\nnewlines  ",
               "don't we'll they've I'm", "1234567890 12 345", "emoji 🎉🚀 test"]
    expected = []
    for s in samples:
        ids = []
        for piece in pat.findall(s):
            ids += [ranks[p] for p in bpe(ranks, piece.encode("utf-8"))]
        expected.append({"text": s, "ids": ids})
    ids_of = {s: n + i for i, s in enumerate(specials)}
    keep = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>", "<|0.00|>", "<|30.00|>"]
    json.dump({"specials": {s: ids_of[s] for s in keep if s in ids_of}, "samples": expected},
              open(f"{name}.expected.json", "w"), ensure_ascii=False, indent=1)
    print(name, n, "ranks,", len(merges), "merges,", len(specials), "specials")


main(sys.argv[1], sys.argv[2])
