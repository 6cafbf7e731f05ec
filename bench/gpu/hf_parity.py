#!/usr/bin/env python3
"""Cross-check of the committed parity fixtures against Hugging Face transformers (GPU host only: the build
machines have no transformers). The Whisper and Llama parity tests compare Tessera with these fixtures, which a
float64 PyTorch reference written from the published architectures made (models/src/test/resources/{whisper,llama}/
make_fixtures.py); here the same checkpoints go through transformers' WhisperForConditionalGeneration and
LlamaForCausalLM (fp32 and fp64, CPU), and the script reports the relative error of transformers vs the fixtures
(encoder output, logits) and whether transformers' greedy continuation equals the committed one (Llama, 32 tokens).
Writes hf-parity.json to --out.   python3 bench/gpu/hf_parity.py --out DIR   (from the repository root)
"""
import argparse, json, os, sys
import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--out", default=os.environ.get("OUT", "."))
args = ap.parse_args()
res = {"transformers": None, "torch": torch.__version__, "cases": {}}
root = "models/src/test/resources"


def rel(a, b):
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


try:
    import transformers
    from safetensors.torch import load_file
    res["transformers"] = transformers.__version__
    from transformers import WhisperConfig, WhisperForConditionalGeneration, LlamaConfig, LlamaForCausalLM
    for name in ["tiny-a", "tiny-b"]:
        d = f"{root}/whisper/{name}"
        try:
            cfgd = {k: v for k, v in json.load(open(f"{d}/config.json")).items() if k != "model_type"}
            out = {}
            for dt in (torch.float32, torch.float64):
                m = WhisperForConditionalGeneration(WhisperConfig(**cfgd)).eval().to(dt)
                missing, _ = m.load_state_dict({k: v.to(dt) for k, v in load_file(f"{d}/model.safetensors").items()},
                                               strict=False)
                feats = torch.from_numpy(np.load(f"{d}/features.npy")).to(dt)
                prompt = torch.from_numpy(np.load(f"{d}/prompt.npy")).long()[None]
                with torch.no_grad():
                    enc = m.model.encoder(feats).last_hidden_state
                    logits = m(encoder_outputs=(enc,), decoder_input_ids=prompt).logits
                tag = "fp32" if dt == torch.float32 else "fp64"
                out[tag] = {"encoder_rel_err_vs_fixture": rel(enc.numpy(), np.load(f"{d}/encoder.npy")),
                            "logits_rel_err_vs_fixture": rel(logits.numpy(), np.load(f"{d}/logits.npy")),
                            "missing": sorted(missing)}
            res["cases"]["whisper/" + name] = out
        except Exception as e:  # one case failing must not hide the others
            res["cases"]["whisper/" + name] = {"error": repr(e)}
    for name in ["llama-gqa", "llama-tied"]:
        d = f"{root}/llama/{name}"
        try:
            cfgd = json.load(open(f"{d}/config.json"))
            out = {}
            for dt in (torch.float32, torch.float64):
                # the "tied" fixture is a Qwen2 checkpoint (q/k/v bias): pick transformers' class by model_type
                if cfgd.get("model_type") == "qwen2":
                    from transformers import Qwen2Config as Cfg, Qwen2ForCausalLM as Lm
                else:
                    Cfg, Lm = LlamaConfig, LlamaForCausalLM
                m = Lm(Cfg(**{k: v for k, v in cfgd.items() if k != "model_type"})).eval().to(dt)
                sd = {k: v.to(dt) for k, v in load_file(f"{d}/model.safetensors").items()}
                missing, unexpected = m.load_state_dict(sd, strict=False)
                if cfgd.get("tie_word_embeddings"):
                    m.tie_weights()
                ids = torch.from_numpy(np.load(f"{d}/prompt.npy")).long()[None]
                with torch.no_grad():
                    logits = m(ids).logits[0]
                    seq = ids
                    greedy = []
                    for _ in range(32):
                        nxt = int(m(seq).logits[0, -1].argmax())
                        greedy.append(nxt)
                        seq = torch.cat([seq, torch.tensor([[nxt]])], dim=1)
                ref = np.load(f"{d}/greedy.npy").tolist()
                tag = "fp32" if dt == torch.float32 else "fp64"
                out[tag] = {"logits_rel_err_vs_fixture": rel(logits.numpy(), np.load(f"{d}/logits.npy")),
                            "greedy_equal": greedy == ref, "greedy": greedy,
                            "missing": sorted(missing), "unexpected": sorted(unexpected)}
            res["cases"]["llama/" + name] = out
        except Exception as e:
            res["cases"]["llama/" + name] = {"error": repr(e)}
    # LLaVA: from_pretrained maps the checkpoint's (older) parameter names; each <image> id in the fixture prompt
    # is expanded to the image's patch tokens, as transformers' processor does before the model sees the ids
    try:
        from transformers import LlavaForConditionalGeneration
        d = f"{root}/llava/llava-tiny"
        cfgd = json.load(open(f"{d}/config.json"))
        img_id = cfgd.get("image_token_index", cfgd.get("image_token_id"))
        n_img = int(cfgd.get("image_seq_length", 0))
        m = LlavaForConditionalGeneration.from_pretrained(d, dtype=torch.float32).eval()
        ids = []
        for t in np.load(f"{d}/prompt.npy").tolist():
            ids += [t] * n_img if t == img_id else [t]
        ids = torch.tensor([ids])
        pv = torch.from_numpy(np.load(f"{d}/pixel_values.npy"))
        with torch.no_grad():
            logits = m(input_ids=ids, pixel_values=pv).logits[0]
            seq, greedy = ids, []
            for _ in range(32):
                nxt = int(m(input_ids=seq, pixel_values=pv).logits[0, -1].argmax())
                greedy.append(nxt)
                seq = torch.cat([seq, torch.tensor([[nxt]])], dim=1)
            text_ids = torch.from_numpy(np.load(f"{d}/prompt_text.npy")).long()[None]
            logits_text = m(input_ids=text_ids).logits[0]
        res["cases"]["llava/llava-tiny"] = {"fp32": {
            "logits_rel_err_vs_fixture": rel(logits.numpy(), np.load(f"{d}/logits.npy")),
            "text_only_logits_rel_err_vs_fixture": rel(logits_text.numpy(), np.load(f"{d}/logits_text.npy")),
            "greedy_equal": greedy == np.load(f"{d}/greedy.npy").tolist(), "greedy": greedy}}
    except Exception as e:
        res["cases"]["llava/llava-tiny"] = {"error": repr(e)}
except Exception as e:
    res["error"] = repr(e)

os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "hf-parity.json"), "w") as f:
    json.dump(res, f, indent=1)
print(json.dumps(res, indent=1))
