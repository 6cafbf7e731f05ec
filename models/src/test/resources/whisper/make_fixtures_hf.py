#!/usr/bin/env python3
"""The Whisper parity fixtures made with Hugging Face transformers (run on the GPU host, which has it; not run on
the build machines). It loads each fixture checkpoint written by make_fixtures.py into WhisperForConditionalGeneration
and writes encoder_hf.npy / logits_hf.npy beside the float64 reference's files, so the two references can be compared
with each other and with Tessera:   python3 make_fixtures_hf.py
"""
import json, os
import numpy as np
import torch
from safetensors.torch import load_file
from transformers import WhisperConfig, WhisperForConditionalGeneration

for name in ["tiny-a", "tiny-b"]:
    cfg = WhisperConfig(**{k: v for k, v in json.load(open(f"{name}/config.json")).items() if k != "model_type"})
    m = WhisperForConditionalGeneration(cfg).eval()
    missing, unexpected = m.load_state_dict(load_file(f"{name}/model.safetensors"), strict=False)
    assert set(missing) <= {"proj_out.weight"}, missing
    feats = torch.from_numpy(np.load(f"{name}/features.npy"))
    prompt = torch.from_numpy(np.load(f"{name}/prompt.npy")).long()[None]
    with torch.no_grad():
        enc = m.model.encoder(feats).last_hidden_state
        logits = m(encoder_outputs=(enc,), decoder_input_ids=prompt).logits
    np.save(f"{name}/encoder_hf.npy", enc.numpy())
    np.save(f"{name}/logits_hf.npy", logits.numpy())
    ref = np.load(f"{name}/logits.npy")
    print(name, "HF vs float64 reference logits rel err",
          float(np.linalg.norm(logits.numpy() - ref) / np.linalg.norm(ref)))
