#!/usr/bin/env python3
"""Hugging Face transformers check of the Llama / LLaVA golden fixtures (not executed on the build machines, which
have no transformers; run it on the GPU host or anywhere transformers >= 4.45 is installed):

    python3 bench/gpu/make_llama_fixtures_hf.py [--fixtures models/src/test/resources] [--out DIR]

For each fixture model directory (written by models/src/test/resources/llama/make_fixtures.py and
.../llava/make_fixtures.py from an independent float64 PyTorch reference), loads the checkpoint with transformers
in float32 on the CPU, computes the logits of the stored prompt (and, for LLaVA, its stored pixel values) and the
greedy continuation, compares them with the committed golden files (relative error, identical tokens) and writes
transformers' own outputs as NAME-logits-hf.npy / NAME-greedy-hf.npy under --out (to replace the goldens if wanted).
"""
import argparse, json, os, sys

import numpy as np


def rel(a, b):
    return float(np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--fixtures", default="models/src/test/resources")
    p.add_argument("--out", default=os.environ.get("OUT", "hf-fixtures"))
    a = p.parse_args()
    import torch
    import transformers
    os.makedirs(a.out, exist_ok=True)
    print("transformers", transformers.__version__, "torch", torch.__version__)
    ok = True
    for sub in ("llama/llama-gqa", "llama/llama-tied", "llava/llava-tiny", "llava/llava-tiny-new"):
        d = os.path.join(a.fixtures, sub)
        if not os.path.isdir(d):
            continue
        golden = os.path.join(a.fixtures, "llava/llava-tiny") if sub.endswith("llava-tiny-new") else d
        cfg = json.load(open(os.path.join(d, "config.json")))
        name = sub.split("/")[-1]
        ids = [int(t) for t in np.load(os.path.join(golden, "prompt.npy"))]
        kwargs = {}
        if cfg.get("model_type") == "llava":
            # current transformers expects the processor's expansion: one placeholder per patch row
            per = (cfg["vision_config"]["image_size"] // cfg["vision_config"]["patch_size"]) ** 2
            per += 1 if cfg.get("vision_feature_select_strategy", "default") == "full" else 0
            ids = [x for t in ids for x in ([t] * per if t == cfg["image_token_index"] else [t])]
        prompt = torch.tensor(ids, dtype=torch.long)[None]
        if cfg.get("model_type") == "llava":
            model = transformers.LlavaForConditionalGeneration.from_pretrained(d, torch_dtype=torch.float32)
            kwargs["pixel_values"] = torch.tensor(np.load(os.path.join(golden, "pixel_values.npy")))
        else:
            model = transformers.AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32)
        model.eval()
        with torch.no_grad():
            logits = model(input_ids=prompt, **kwargs).logits[0].numpy()
            gen = model.generate(input_ids=prompt, max_new_tokens=32, do_sample=False, min_new_tokens=32, **kwargs)
        greedy = gen[0, prompt.shape[1]:].numpy().astype(np.int32)
        ref = np.load(os.path.join(golden, "logits.npy"))
        gref = np.load(os.path.join(golden, "greedy.npy"))
        r = rel(logits, ref)
        same = bool(np.array_equal(greedy, gref))
        ok &= r <= 1e-4 and same
        print("%-16s logits rel err vs golden %.3g, greedy 32 identical: %s" % (name, r, same))
        np.save(os.path.join(a.out, name + "-logits-hf.npy"), logits.astype(np.float32))
        np.save(os.path.join(a.out, name + "-greedy-hf.npy"), greedy)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
