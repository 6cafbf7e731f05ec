# tricky texts, one per line in texts.txt (JSON-escaped)
import json
T = ["", " ", "hello", "Hello, World!", "héllo wörld", "naïve café résumé", "ÀÉÎÕÜ ﬁ ligature", "日本語のテキスト", "中文句子测试",
     "emoji 🙂🚀 test", "tabs\tand\nnewlines\r\n", "zero\u200bwidth", "control\x07char", "don't stop-believing...", "$100.50 & 20%",
     "supercalifragilisticexpialidocious", "a" * 150, "Ünïcödé ßtraße", "Ελληνικά κείμενο", "русский текст", "عربى", "हिन्दी",
     "ﾊﾝｶｸ ｶﾀｶﾅ", "x" * 99 + " " + "y" * 101, "\u00a0nbsp\u3000ideographic space", "combining e\u0301 acute", "[CLS] [SEP] [MASK] [UNK] [PAD]",
     "UPPER lower MiXeD", "3.14159 2,718 1e-10", "email@example.com http://x.y/z?q=1"]
long = " ".join(["the quick brown fox jumps over the lazy dog"] * 40)
T.append(long)
json.dump(T, open('texts.json', 'w'))
