#!/usr/bin/python3
"""carry_prompt_cases.json: openai-whisper's carry_initial_prompt prompt, computed with Python's own list slicing.

openai-whisper's transcribe (github.com/openai/whisper, MIT) builds each window's prompt, when carry_initial_prompt
is set, as
    nignored = max(len(initial_prompt_tokens), prompt_reset_since)
    remaining_prompt = all_tokens[nignored:][-remaining_prompt_length:]
    prompt = initial_prompt_tokens + remaining_prompt
with remaining_prompt_length = n_text_ctx // 2 - 1 - len(initial_prompt_tokens). The cases below evaluate exactly
that expression (Python's slicing, including [-0:] and negative lengths) on seeded random inputs, for the Java
Transcriber.carriedPrompt. Run: /usr/bin/python3 make_carry_prompt.py
"""
import json, os, random

rng = random.Random(20261129)
cases = []
for i in range(120):
    ctx = rng.choice([8, 16, 64, 448]) if i % 10 == 0 else rng.choice([8, 16, 64])
    n0 = rng.choice([0, 1, 2, 3, rng.randrange(0, ctx // 2), rng.randrange(0, ctx), ctx // 2 - 1, ctx // 2, ctx // 2 + 3])
    initial = [rng.randrange(1000) for _ in range(n0)]
    all_tokens = initial + [rng.randrange(1000) for _ in range(rng.randrange(0, min(3 * ctx, 300)))]
    reset = rng.choice([0, rng.randrange(0, len(all_tokens) + 2)])
    remaining = ctx // 2 - 1 - len(initial)
    nignored = max(len(initial), reset)
    prompt = initial + all_tokens[nignored:][-remaining:]
    cases.append({"context": ctx, "initial": initial, "all": all_tokens, "reset_since": reset, "prompt": prompt})
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "carry_prompt_cases.json"), "w") as f:
    f.write("[\n" + ",\n".join(json.dumps(c, separators=(",", ":")) for c in cases) + "\n]\n")
print(len(cases), "cases;", sum(1 for c in cases if c["context"] // 2 - 1 - len(c["initial"]) <= 0), "with remaining <= 0")
