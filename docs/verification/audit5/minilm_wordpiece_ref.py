import json, unicodedata, sys
tj = json.load(open('jar/all-minilm-l6-v2-tokenizer.json')); vocab = tj['model']['vocab']
def is_ws(c): return c in ' \t\n\r' or unicodedata.category(c) == 'Zs'
def is_ctrl(c): return False if c in '\t\n\r' else unicodedata.category(c) in ('Cc', 'Cf')
def is_punct(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126: return True
    return unicodedata.category(c).startswith('P')
def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F or
            0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)
def normalize(t):
    out = []
    for c in t:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or is_ctrl(c): continue
        out.append(' ' if is_ws(c) else c)
    t = ''.join(out)
    t = ''.join(' %s ' % c if is_cjk(ord(c)) else c for c in t)
    t = t.lower()
    t = ''.join(c for c in unicodedata.normalize('NFD', t) if unicodedata.category(c) != 'Mn')  # strip_accents None + lowercase -> strip
    return t
def pretok(t):
    words = []
    for w in t.split():
        cur = ''
        for c in w:
            if is_punct(c):
                if cur: words.append(cur); cur = ''
                words.append(c)
            else: cur += c
        if cur: words.append(cur)
    return words
def wordpiece(w):
    if len(w) > 100: return [vocab['[UNK]']]
    out, start = [], 0
    while start < len(w):
        end, cur = len(w), None
        while start < end:
            s = w[start:end]
            if start > 0: s = '##' + s
            if s in vocab: cur = vocab[s]; break
            end -= 1
        if cur is None: return [vocab['[UNK]']]
        out.append(cur); start = end
    return out
SPECIAL = {a['content']: a['id'] for a in tj['added_tokens'] if a.get('special')}
def encode(t, maxlen=256):
    # special tokens typed in the text are matched first (HF tokenizers split on added tokens before normalising)
    import re
    ids = []
    for part in re.split('(' + '|'.join(re.escape(s) for s in SPECIAL) + ')', t):
        ids += [SPECIAL[part]] if part in SPECIAL else [i for w in pretok(normalize(part)) for i in wordpiece(w)]
    ids = ids[:maxlen - 2]
    return [101] + ids + [102]
if __name__ == '__main__':
    T = json.load(open('texts.json')); ours = json.load(open('ours_ids.json'))
    bad = 0
    for t, o in zip(T, ours):
        r = encode(t)
        if r != o:
            bad += 1; print('MISMATCH', repr(t[:60]), 'ref', r[:20], len(r), 'ours', o[:20], len(o))
    print(f'{len(T)} texts, {bad} mismatches')
