#!/usr/bin/env python3
"""QA cases for `tessera chat --raw --json --image ...` on random-weight LLaVA checkpoints: vision_feature_layer -1,
-2, 0 and a list, select strategy "default"/"full", image_token_index / image_token_id keys, projector activations,
one to three images, classic and newer weight names. Reference: float64 PyTorch written from the published LLaVA-1.5
recipe (CLIP hidden states of the chosen layer(s), CLS dropped for "default", linear_1 -> act -> linear_2, each image
placeholder row replaced by the image's feature rows in order) over the Llama reference of
models/src/test/resources/llama/make_fixtures.py; image files are preprocessed as CLIPImageProcessor does (Pillow
bicubic shortest-edge resize, centre crop, CLIP mean/std: qa_vit.hf_preprocess). transformers is not used.

Usage (from the repository root, after the CLI is built):
    /usr/bin/python3 docs/verification/qa_llava.py make OUT && sh OUT/run.sh && /usr/bin/python3 docs/verification/qa_llava.py check OUT
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import qa_clip as C  # noqa: E402
import qa_llama as Q  # noqa: E402
from qa_vit import hf_preprocess  # noqa: E402

L = Q.L
PP = {"crop_size": {"height": 0, "width": 0}, "do_center_crop": True, "do_normalize": True, "do_rescale": True,
      "do_resize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
      "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": {"shortest_edge": 0},
      "image_processor_type": "CLIPImageProcessor"}
TEXT = dict(model_type="llama", vocab_size=300, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0,
            max_position_embeddings=512, tie_word_embeddings=False, hidden_act="silu", bos_token_id=298, eos_token_id=297)
VISION = dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=3,
              num_attention_heads=4, image_size=28, patch_size=7, hidden_act="quick_gelu", layer_norm_eps=1e-5)
CASES = [
    # name, overrides of the llava config, vision overrides, text overrides, number of images, new names
    ('layer_m2_default', dict(vision_feature_layer=-2, vision_feature_select_strategy="default"), {}, {}, 1, False),
    ('layer_m1_full', dict(vision_feature_layer=-1, vision_feature_select_strategy="full"), {}, {}, 2, False),
    ('layer_list_new_names', dict(vision_feature_layer=[-2, 0], image_token_id=299), dict(image_size=32, patch_size=8),
     dict(num_key_value_heads=1, head_dim=16), 3, True),
    ('qwen2_text_tanh_proj', dict(projector_hidden_act="gelu_pytorch_tanh", vision_feature_layer=1),
     dict(hidden_size=48, num_attention_heads=6, hidden_act="gelu"), dict(model_type="qwen2", vocab_size=310), 2, False),
    ('image_id_outside_vocab', dict(image_token_index=299), {}, dict(vocab_size=299), 1, False),
    ('patch8_i30_floor', dict(vision_feature_layer=-1, vision_feature_select_strategy="full"),
     dict(image_size=30, patch_size=8), {}, 2, False),
]


def clip_states(W, pre, v, pixels):
    D, P = v["hidden_size"], v["patch_size"]
    x = torch.nn.functional.conv2d(pixels, W[pre + "embeddings.patch_embedding.weight"], stride=P).flatten(2).transpose(1, 2)
    x = torch.cat([W[pre + "embeddings.class_embedding"].expand(x.shape[0], 1, D), x], 1)
    x = x + W[pre + "embeddings.position_embedding.weight"]
    eps = v["layer_norm_eps"]
    x = torch.nn.functional.layer_norm(x, (D,), W[pre + "pre_layrnorm.weight"], W[pre + "pre_layrnorm.bias"], eps)
    states = [x]
    for i in range(v["num_hidden_layers"]):
        x = C.layer(x, W, pre + "encoder.layers.%d." % i, v["num_attention_heads"], v["hidden_act"], eps, False)
        states.append(x)
    return states


def make_case(out, name, over, vover, tover, n_img, new_names, rng):
    v, t = dict(VISION, **vover), dict(TEXT, **tover)
    cfg = dict(model_type="llava", architectures=["LlavaForConditionalGeneration"], vision_config=v, text_config=t,
               image_token_index=299, vision_feature_layer=-2, vision_feature_select_strategy="default",
               projector_hidden_act="gelu")
    cfg.update(over)
    if 'image_token_id' in over:
        del cfg['image_token_index']
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    W = {}
    C.layer_params  # the CLIP layer layout
    vp = "vision_tower.vision_model."
    D, P = v["hidden_size"], v["patch_size"]
    W[vp + "embeddings.patch_embedding.weight"] = torch.randn(D, 3, P, P) / math.sqrt(3 * P * P)
    W[vp + "embeddings.class_embedding"] = torch.randn(D)
    W[vp + "embeddings.position_embedding.weight"] = 0.5 * torch.randn((v["image_size"] // P) ** 2 + 1, D)
    for n in ("pre_layrnorm", "post_layernorm"):
        W[vp + n + ".weight"] = 1 + 0.1 * torch.randn(D)
        W[vp + n + ".bias"] = 0.1 * torch.randn(D)
    for i in range(v["num_hidden_layers"]):
        C.layer_params(W, vp + "encoder.layers.%d." % i, D, v["intermediate_size"])
    layers = cfg["vision_feature_layer"] if isinstance(cfg["vision_feature_layer"], list) else [cfg["vision_feature_layer"]]
    din = D * len(layers)
    H = t["hidden_size"]
    W["multi_modal_projector.linear_1.weight"] = torch.randn(H, din) / math.sqrt(din) * 2
    W["multi_modal_projector.linear_1.bias"] = 0.1 * torch.randn(H)
    W["multi_modal_projector.linear_2.weight"] = torch.randn(H, H) / math.sqrt(H)
    W["multi_modal_projector.linear_2.bias"] = 0.1 * torch.randn(H)
    W.update(L.rand_llama(t, pre="language_model.model.", head_name="language_model.lm_head.weight"))
    if new_names:
        ren = {}
        for k, x in W.items():
            if k.startswith("language_model.model."):
                ren["model.language_model." + k[len("language_model.model."):]] = x
            elif k == "language_model.lm_head.weight":
                ren["lm_head.weight"] = x
            else:
                ren["model." + k] = x
        L.write_safetensors(os.path.join(d, "model.safetensors"), ren)
    else:
        L.write_safetensors(os.path.join(d, "model.safetensors"), W)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=1)
    pp = dict(PP, crop_size={"height": v["image_size"], "width": v["image_size"]}, size={"shortest_edge": v["image_size"]})
    json.dump(pp, open(os.path.join(d, "preprocessor_config.json"), "w"), indent=1)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(Q.LL, f), os.path.join(d, f))
    files = []
    for i in range(n_img):
        h, w = int(rng.integers(20, 70)), int(rng.integers(20, 70))
        a = np.clip(np.cumsum(np.cumsum(rng.normal(0, 8, (h, w, 3)), 0), 1) / 10 + 128, 0, 255).astype(np.uint8)
        f = os.path.join(d, "img%d.png" % i)
        Image.fromarray(a).save(f)
        files.append(f)
    px = np.stack([hf_preprocess(f, pp, v["image_size"]) for f in files])
    np.save(os.path.join(d, "ref_pixels.npy"), px)
    prompt = " ".join("<image> picture %d" % i for i in range(n_img)) + " what is in the image?"
    imgs = " ".join("--image %s" % f for f in files)
    return '$T chat --model $O/{n} --raw --json --max-tokens 16 {i} "{p}" > $O/{n}/out.json 2> $O/{n}/stderr.txt; echo "{n} rc=$?"'.format(
        n=name, i=imgs, p=prompt)


def reference(d, name):
    over, vover, tover, n_img = next((c[1], c[2], c[3], c[4]) for c in CASES if c[0] == name)
    cfg = json.load(open(os.path.join(d, "config.json")))
    v, t = cfg["vision_config"], cfg["text_config"]
    W = Q.load_weights(d)
    if "lm_head.weight" in W:  # newer names back to the classic ones
        W = {("language_model.model." + k[len("model.language_model."):]) if k.startswith("model.language_model.")
             else "language_model.lm_head.weight" if k == "lm_head.weight" else k[len("model."):]: x for k, x in W.items()}
    px = torch.tensor(np.load(os.path.join(d, "ref_pixels.npy")), dtype=torch.float64)
    states = clip_states(W, "vision_tower.vision_model.", v, px)
    layers = cfg["vision_feature_layer"] if isinstance(cfg["vision_feature_layer"], list) else [cfg["vision_feature_layer"]]
    hs = [states[l] for l in layers]
    if cfg["vision_feature_select_strategy"] == "default":
        hs = [h[:, 1:] for h in hs]
    f = torch.cat(hs, -1)
    act = {"gelu": torch.nn.functional.gelu, "gelu_pytorch_tanh": lambda x: torch.nn.functional.gelu(x, approximate="tanh")}[cfg["projector_hidden_act"]]
    f = act(f @ W["multi_modal_projector.linear_1.weight"].T + W["multi_modal_projector.linear_1.bias"])
    f = f @ W["multi_modal_projector.linear_2.weight"].T + W["multi_modal_projector.linear_2.bias"]
    feats = f.reshape(-1, t["hidden_size"])
    tok = cfg.get("image_token_index", cfg.get("image_token_id"))

    def logits(ids):
        table = W["language_model.model.embed_tokens.weight"]
        e = table[torch.tensor([i if i < table.shape[0] else 0 for i in ids])].clone()
        mask = torch.tensor(ids) == tok
        assert int(mask.sum()) == feats.shape[0], (int(mask.sum()), feats.shape)
        e[mask] = feats
        h = L.decoder_hidden(t, W, e, pre="language_model.model.")
        return h @ W["language_model.lm_head.weight"].T
    return logits, t


def make(out):
    torch.manual_seed(5)
    rng = np.random.default_rng(5)
    run = ['#!/bin/sh', 'T=${TESSERA:-./tessera}', 'O=%s' % os.path.abspath(out)]
    for c in CASES:
        run.append(make_case(out, *c, rng))
    open(os.path.join(out, 'run.sh'), 'w').write('\n'.join(run) + '\n')


def check(out):
    for c in CASES:
        name = c[0]
        d = os.path.join(out, name)
        try:
            o = json.load(open(os.path.join(d, 'out.json')))
        except Exception:
            err = open(os.path.join(d, 'stderr.txt')).read().strip().splitlines()
            print('%-22s FAILED: %s' % (name, err[-1] if err else '?'))
            continue
        fn, t = reference(d, name)
        eos = t.get("eos_token_id")
        ids, ref, margins = list(o['prompt_tokens']), [], []
        for _ in range(16):
            lg = fn(ids)[-1]
            top = torch.topk(lg, 2).values
            margins.append(float((top[0] - top[1]) / lg.abs().max()))
            ref.append(int(lg.argmax()))
            ids.append(ref[-1])
            if ref[-1] == eos:
                break
        got = o['tokens']
        diff = next((i for i in range(min(len(got), len(ref))) if got[i] != ref[i]), None)
        if diff is None and len(got) == len(ref):
            print('%-22s greedy %d/%d identical (prompt %d tokens incl. %d image rows, min ref margin %.3g)'
                  % (name, len(got), len(ref), len(o['prompt_tokens']), sum(1 for x in o['prompt_tokens'] if x == 299), min(margins)))
        else:
            i = diff if diff is not None else min(len(got), len(ref))
            print('%-22s DIFFERS at %d: got %s ref %s (margin %.3g)' % (name, i, got[i:i + 4], ref[i:i + 4], margins[min(i, len(margins) - 1)]))


if __name__ == '__main__':
    {'make': make, 'check': check}[sys.argv[1]](sys.argv[2])
