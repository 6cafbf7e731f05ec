"""Compare Tessera `chat --json` against transformers generate on the checkpoints built by build.py.
Usage: /tmp/hfenv/bin/python compare.py [case-substring ...]"""
import json, os, subprocess, sys, warnings
import torch
warnings.filterwarnings("ignore")
from transformers import AutoTokenizer, AutoModelForCausalLM, AutoProcessor, LlavaForConditionalGeneration
from transformers.utils import logging as hl
hl.set_verbosity_error()

ROOT = "/tmp/tessera-hf/chat/ckpt"
TESSERA = os.environ.get('TESSERA', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../../tessera'))
N = int(os.environ.get("NTOK", 24))
SYS = "you are a helpful assistant ."
IMG = ["/tmp/tessera-hf/chat/img_a.png", "/tmp/tessera-hf/chat/img_b.png"]
RESULTS = []


def tessera(d, prompt, raw, system=None, images=(), extra=()):
    cmd = [TESSERA, "chat", "--model", d, "--json", "--max-tokens", str(N)] + (["--raw"] if raw else [])
    if system:
        cmd += ["--system", system]
    for im in images:
        cmd += ["--image", im]
    cmd += list(extra) + [prompt]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["rc %d" % p.returncode])[-1][:300]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def hf_generate(model, inputs, **kw):
    out = model.generate(**inputs, max_new_tokens=N, do_sample=False, output_scores=True,
                         return_dict_in_generate=True, **kw)
    plen = inputs["input_ids"].shape[1]
    toks = out.sequences[0, plen:].tolist()
    margins = []
    for s in out.scores:
        t2 = torch.topk(s[0].float(), 2)
        margins.append(float(t2.values[0] - t2.values[1]))
    return toks, margins, out.scores


def teacher_gap(model, inputs, hf_toks, te_toks, k):
    """At the first differing step k (same prefix), the reference's logit of its own token minus Tessera's."""
    ids = torch.cat([inputs["input_ids"], torch.tensor([hf_toks[:k]], dtype=torch.long)], 1)
    kw = {k2: v for k2, v in inputs.items() if k2 not in ("input_ids", "attention_mask")}
    with torch.no_grad():
        lg = model(input_ids=ids, attention_mask=torch.ones_like(ids), **kw).logits[0, -1]
    if te_toks[k] >= lg.shape[0]:
        return float("nan")
    return float(lg[hf_toks[k]] - lg[te_toks[k]])


def compare(case, mode, model, inputs, te, note=""):
    rec = {"case": case, "mode": mode, "note": note}
    if "error" in te:
        rec.update(status="TESSERA ERROR", detail=te["error"])
        try:
            hf_toks, margins, _ = hf_generate(model, inputs)
            rec["hf_ran"] = "ok, prompt %d, %d tokens" % (inputs["input_ids"].shape[1], len(hf_toks))
        except Exception as e:
            rec["hf_ran"] = "HF error too: " + repr(e)[:200]
        RESULTS.append(rec); print(json.dumps(rec)); return rec
    try:
        hf_toks, margins, _ = hf_generate(model, inputs)
    except Exception as e:
        rec.update(status="HF ERROR", detail=repr(e)[:300], te_prompt_len=len(te["prompt_tokens"]))
        RESULTS.append(rec); print(json.dumps(rec)); return rec
    hp = inputs["input_ids"][0].tolist()
    tp = te["prompt_tokens"]
    rec["prompt_equal"] = hp == tp
    if hp != tp:
        i = next((j for j in range(min(len(hp), len(tp))) if hp[j] != tp[j]), min(len(hp), len(tp)))
        rec["prompt_first_diff"] = i
        rec["hf_prompt_at"] = hp[max(0, i - 3):i + 6]
        rec["te_prompt_at"] = tp[max(0, i - 3):i + 6]
        rec["prompt_lens"] = [len(hp), len(tp)]
    tt = te["tokens"]
    rec["min_margin"] = round(min(margins), 4) if margins else None
    rec["margins"] = [round(m, 3) for m in margins]
    rec["hf_tokens"], rec["te_tokens"] = hf_toks, tt
    if hf_toks == tt:
        rec["status"] = "IDENTICAL" if hp == tp else "TOKENS EQUAL, PROMPT DIFFERS"
    else:
        k = next((j for j in range(min(len(hf_toks), len(tt))) if hf_toks[j] != tt[j]), min(len(hf_toks), len(tt)))
        rec["first_div"] = k
        if k < min(len(hf_toks), len(tt)) and hp == tp:
            gap = teacher_gap(model, inputs, hf_toks, tt, k)
            rec["gap_at_div"] = round(gap, 5)
            rec["status"] = "DIVERGE (near-tie)" if gap < 1e-3 else "DIVERGE (semantic)"
        elif hp != tp:
            rec["status"] = "DIVERGE (prompt differs)"
        else:
            rec["status"] = "DIVERGE (length: %d vs %d)" % (len(hf_toks), len(tt))
    RESULTS.append(rec)
    short = {k: v for k, v in rec.items() if k not in ("margins", "hf_tokens", "te_tokens")}
    print(json.dumps(short))
    return rec


TEXT_PROMPTS = {"raw": "the quick brown fox jumps over", "chat": "tell me a story about the sea"}


def run_text(name):
    d = os.path.join(ROOT, name)
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForCausalLM.from_pretrained(d).eval()
    # (a) raw
    inputs = tok(TEXT_PROMPTS["raw"], return_tensors="pt")
    compare(name, "raw", model, inputs, tessera(d, TEXT_PROMPTS["raw"], True))
    # (b) chat template with system
    msgs = [{"role": "system", "content": SYS}, {"role": "user", "content": TEXT_PROMPTS["chat"]}]
    inputs = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    compare(name, "chat+system", model, inputs, tessera(d, TEXT_PROMPTS["chat"], False, system=SYS))


def run_llava(name, variant=""):
    d = os.path.join(ROOT, name)
    proc = AutoProcessor.from_pretrained(d, use_fast=False)
    model = LlavaForConditionalGeneration.from_pretrained(d).eval()
    if "imgtok_outside" in name and os.environ.get("CLAMP", "1") == "1":
        # transformers 5 embeds input_ids before scattering image features, so an image id >= text vocab raises
        # IndexError; clamp ids for the lookup only (those rows are overwritten by masked_scatter), as 4.x did.
        emb = model.get_input_embeddings(); orig = emb.forward; V = emb.num_embeddings
        emb.forward = lambda ids: orig(ids.clamp(max=V - 1))
        variant = variant + " (HF embed lookup clamped)"
    from PIL import Image
    tag = name + variant
    # (a) raw, one image
    prompt = "USER: <image>\ndescribe the image in detail . ASSISTANT:"
    inputs = proc(text=prompt, images=[Image.open(IMG[0])], return_tensors="pt")
    compare(tag, "raw 1img", model, inputs, tessera(d, prompt, True, images=IMG[:1]))
    # (b) chat, one and two images, with system
    for nimg in (1, 2):
        content = [{"type": "image", "path": p} for p in IMG[:nimg]] + [{"type": "text", "text": "what is in this picture ?"}]
        msgs = [{"role": "system", "content": [{"type": "text", "text": SYS}]}, {"role": "user", "content": content}]
        inputs = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True,
                                          return_tensors="pt")
        compare(tag, "chat+system %dimg" % nimg, model, inputs,
                tessera(d, "what is in this picture ?", False, system=SYS, images=IMG[:nimg]))


TEXT = ["llama_gqa_tied", "llama_mqa_linear_bias", "llama_llama3rope_mlpbias_wl", "llama_dynamic", "llama_reppen",
        "qwen2", "mistral_sw", "llama_mqa_linear_bias__eos", "qwen2__eos", "llama_llama3rope_mlpbias_wl__eos",
        "llama_reppen__eos", "llama_dynamic__ctx128"]
LLAVA = ["llava_clip_l-2_default", "llava_clip_l-1_full_gelunew", "llava_list_pad", "llava_imgtok_outside"]
LLAVA = LLAVA + [c + "__legacy" for c in LLAVA] + ["llava_list_pad__v5proc"]

if __name__ == "__main__":
    sel = sys.argv[1:]
    for c in TEXT:
        if not sel or any(s in c for s in sel):
            run_text(c)
    for c in LLAVA:
        if not sel or any(s in c for s in sel):
            run_llava(c)
    with open("/tmp/tessera-hf/chat/results.json", "w") as f:
        json.dump(RESULTS, f, indent=1)
