#!/usr/bin/env python3
"""Golden fixtures for the LLaVA tests: a random-weight tiny LlavaForConditionalGeneration checkpoint (CLIP vision
tower 28x28 px / patch 7 -> 16 patches, 3 layers; Llama decoder with GQA) and the outputs of an independent float64
PyTorch reference written from the published architectures (CLIP ViT: pre-LN, quick_gelu; LLaVA-1.5: hidden states of
vision_feature_layer -2, CLS dropped, linear_1 -> GELU -> linear_2; each <image> placeholder replaced by the image's
16 rows). NOT transformers (not installed here); bench/gpu/make_llama_fixtures_hf.py checks these with transformers.

Run from the repository root:  /usr/bin/python3 models/src/test/resources/llava/make_fixtures.py
Writes llava-tiny/ (classic names + tokenizer + preprocessor config + goldens), llava-tiny-new/ (the same weights
under the newer transformers names: config + safetensors only), and image-preprocess/ (a PNG and the
CLIPImageProcessor-style pixel values computed with torchvision's PNG decoder and torch's antialiased bicubic).
"""
import json, math, os, shutil, sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "llama"))
import make_fixtures as L  # noqa: E402  (the Llama reference and the safetensors writer)

torch.manual_seed(4321)
rng = np.random.default_rng(4321)

VISION = dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=3,
              num_attention_heads=4, image_size=28, patch_size=7, num_channels=3, layer_norm_eps=1e-5,
              hidden_act="quick_gelu", projection_dim=16)
TEXT = dict(model_type="llama", vocab_size=300, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=12, rms_norm_eps=1e-5, rope_theta=10000.0,
            max_position_embeddings=160, tie_word_embeddings=False, hidden_act="silu", bos_token_id=298,
            eos_token_id=297)
CONFIG = dict(model_type="llava", architectures=["LlavaForConditionalGeneration"], vision_config=VISION,
              text_config=TEXT, image_token_index=299, vision_feature_layer=-2,
              vision_feature_select_strategy="default", projector_hidden_act="gelu", image_seq_length=16,
              torch_dtype="float32")
PREPROC = {"crop_size": {"height": 28, "width": 28}, "do_center_crop": True, "do_convert_rgb": True,
           "do_normalize": True, "do_rescale": True, "do_resize": True,
           "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
           "resample": 3, "rescale_factor": 1 / 255, "size": {"shortest_edge": 28},
           "image_processor_type": "CLIPImageProcessor", "processor_class": "LlavaProcessor"}


def rand_clip(pre):
    v = VISION
    D, F, P, C = v["hidden_size"], v["intermediate_size"], v["patch_size"], v["num_channels"]
    n = (v["image_size"] // P) ** 2 + 1
    W = {pre + "embeddings.patch_embedding.weight": torch.randn(D, C, P, P) / math.sqrt(C * P * P),
         pre + "embeddings.class_embedding": torch.randn(D),
         pre + "embeddings.position_embedding.weight": 0.5 * torch.randn(n, D),
         pre + "pre_layrnorm.weight": 1 + 0.1 * torch.randn(D), pre + "pre_layrnorm.bias": 0.1 * torch.randn(D),
         pre + "post_layernorm.weight": 1 + 0.1 * torch.randn(D), pre + "post_layernorm.bias": 0.1 * torch.randn(D)}
    for i in range(v["num_hidden_layers"]):
        p = pre + "encoder.layers.%d." % i
        for ln in ("layer_norm1", "layer_norm2"):
            W[p + ln + ".weight"] = 1 + 0.1 * torch.randn(D)
            W[p + ln + ".bias"] = 0.1 * torch.randn(D)
        for n_ in ("q_proj", "k_proj", "v_proj", "out_proj"):
            W[p + "self_attn." + n_ + ".weight"] = torch.randn(D, D) / math.sqrt(D) * (2.0 if n_ in ("q_proj", "k_proj") else 1.0)
            W[p + "self_attn." + n_ + ".bias"] = 0.1 * torch.randn(D)
        W[p + "mlp.fc1.weight"] = torch.randn(F, D) / math.sqrt(D)
        W[p + "mlp.fc1.bias"] = 0.1 * torch.randn(F)
        W[p + "mlp.fc2.weight"] = torch.randn(D, F) / math.sqrt(F)
        W[p + "mlp.fc2.bias"] = 0.1 * torch.randn(D)
    return W


def ln(x, w, b, eps):
    m = x.mean(-1, keepdim=True)
    v = ((x - m) ** 2).mean(-1, keepdim=True)
    return (x - m) / torch.sqrt(v + eps) * w + b


def clip_hidden_states(W, pre, pixels):
    v = VISION
    D, P, H = v["hidden_size"], v["patch_size"], v["num_attention_heads"]
    eps = v["layer_norm_eps"]
    N = pixels.shape[0]
    x = torch.nn.functional.conv2d(pixels, W[pre + "embeddings.patch_embedding.weight"], stride=P)  # [N, D, g, g]
    x = x.flatten(2).transpose(1, 2)
    cls = W[pre + "embeddings.class_embedding"].expand(N, 1, D)
    x = torch.cat([cls, x], 1) + W[pre + "embeddings.position_embedding.weight"]
    x = ln(x, W[pre + "pre_layrnorm.weight"], W[pre + "pre_layrnorm.bias"], eps)
    states = [x]
    S, hd = x.shape[1], D // H
    for i in range(v["num_hidden_layers"]):
        p = pre + "encoder.layers.%d." % i
        lin = lambda n, t: t @ W[p + n + ".weight"].T + W[p + n + ".bias"]
        h = ln(x, W[p + "layer_norm1.weight"], W[p + "layer_norm1.bias"], eps)
        q = lin("self_attn.q_proj", h).view(N, S, H, hd).transpose(1, 2)
        k = lin("self_attn.k_proj", h).view(N, S, H, hd).transpose(1, 2)
        vv = lin("self_attn.v_proj", h).view(N, S, H, hd).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), -1) @ vv
        x = x + lin("self_attn.out_proj", a.transpose(1, 2).reshape(N, S, D))
        h = ln(x, W[p + "layer_norm2.weight"], W[p + "layer_norm2.bias"], eps)
        h = lin("mlp.fc1", h)
        h = h * torch.sigmoid(1.702 * h)
        x = x + lin("mlp.fc2", h)
        states.append(x)
    return states


def image_features(W, pixels):
    hs = clip_hidden_states(W, "vision_tower.vision_model.", pixels)[CONFIG["vision_feature_layer"]]
    f = hs[:, 1:]  # "default": drop CLS
    h = f @ W["multi_modal_projector.linear_1.weight"].T + W["multi_modal_projector.linear_1.bias"]
    h = torch.nn.functional.gelu(h)
    return h @ W["multi_modal_projector.linear_2.weight"].T + W["multi_modal_projector.linear_2.bias"]


def expand(ids, per_image):
    out = []
    for t in ids:
        out.extend([t] * per_image if t == CONFIG["image_token_index"] else [t])
    return out


def llava_logits(W, ids, pixels):
    full = expand(ids, 16) if pixels is not None else list(ids)
    e = W["language_model.model.embed_tokens.weight"][torch.tensor(full)].clone()
    if pixels is not None:
        feats = image_features(W, pixels).reshape(-1, TEXT["hidden_size"])
        mask = torch.tensor(full) == CONFIG["image_token_index"]
        assert int(mask.sum()) == feats.shape[0]
        e[mask] = feats
    h = L.decoder_hidden(TEXT, W, e, pre="language_model.model.")
    return h @ W["language_model.lm_head.weight"].T


def main():
    folder = os.path.join(HERE, "llava-tiny")
    os.makedirs(folder, exist_ok=True)
    W = {}
    W.update(rand_clip("vision_tower.vision_model."))
    W["multi_modal_projector.linear_1.weight"] = torch.randn(48, 32) / math.sqrt(32) * 2
    W["multi_modal_projector.linear_1.bias"] = 0.1 * torch.randn(48)
    W["multi_modal_projector.linear_2.weight"] = torch.randn(48, 48) / math.sqrt(48)
    W["multi_modal_projector.linear_2.bias"] = 0.1 * torch.randn(48)
    W.update(L.rand_llama(TEXT, pre="language_model.model.", head_name="language_model.lm_head.weight"))
    L.write_safetensors(os.path.join(folder, "model.safetensors"), W)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=1)
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
        json.dump(PREPROC, f, indent=1)
    for fn in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(HERE, "..", "llama", fn), os.path.join(folder, fn))
    # the newer transformers layout, same tensors
    new = os.path.join(HERE, "llava-tiny-new")
    os.makedirs(new, exist_ok=True)
    ren = {}
    for k, t in W.items():
        if k.startswith("language_model.model."):
            ren["model.language_model." + k[len("language_model.model."):]] = t
        elif k == "language_model.lm_head.weight":
            ren["lm_head.weight"] = t
        else:
            ren["model." + k] = t
    L.write_safetensors(os.path.join(new, "model.safetensors"), ren)
    shutil.copy(os.path.join(folder, "config.json"), os.path.join(new, "config.json"))

    W64 = {k: v.double() for k, v in W.items()}
    pixels = torch.randn(2, 3, 28, 28, dtype=torch.float64)
    np.save(os.path.join(folder, "pixel_values.npy"), pixels.numpy().astype(np.float32))
    pixels = torch.tensor(np.load(os.path.join(folder, "pixel_values.npy"))).double()
    for attempt in range(20):
        body = [int(x) for x in rng.integers(0, 296, 14)]
        prompt = [298] + body[:4] + [299] + body[4:9] + [299] + body[9:]
        fn = lambda ids: llava_cont(W64, prompt, ids[len(prompt):], pixels)
        cont, margin = L.greedy(fn, prompt, 32)
        if margin > 2e-3:
            break
    np.save(os.path.join(folder, "prompt.npy"), np.array(prompt, dtype=np.int32))
    np.save(os.path.join(folder, "logits.npy"), llava_logits(W64, prompt, pixels).numpy().astype(np.float32))
    np.save(os.path.join(folder, "greedy.npy"), np.array(cont, dtype=np.int32))
    text_prompt = [298] + body
    np.save(os.path.join(folder, "prompt_text.npy"), np.array(text_prompt, dtype=np.int32))
    np.save(os.path.join(folder, "logits_text.npy"), llava_logits(W64, text_prompt, None).numpy().astype(np.float32))
    print("llava-tiny greedy", cont, "min relative top-2 margin %.4g" % margin)
    make_preprocess_fixture()


def llava_cont(W, prompt, generated, pixels):
    """Logits of prompt (with images) + generated text tokens (expanded positions)."""
    full = expand(prompt, 16) + list(generated)
    e = W["language_model.model.embed_tokens.weight"][torch.tensor(full)].clone()
    feats = image_features(W, pixels).reshape(-1, TEXT["hidden_size"])
    mask = torch.tensor(full) == CONFIG["image_token_index"]
    e[mask] = feats
    h = L.decoder_hidden(TEXT, W, e, pre="language_model.model.")
    return h @ W["language_model.lm_head.weight"].T


def make_preprocess_fixture():
    import torchvision.io as tio
    folder = os.path.join(HERE, "image-preprocess")
    os.makedirs(folder, exist_ok=True)
    h, w = 30, 45
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx * 255 / w), (yy * 255 / h), ((xx + yy) * 3) % 256], 0) + rng.integers(-20, 20, (3, h, w))
    img = torch.tensor(np.clip(img, 0, 255).astype(np.uint8))
    png = tio.encode_png(img)
    with open(os.path.join(folder, "test.png"), "wb") as f:
        f.write(bytes(png.numpy()))
    with open(os.path.join(folder, "not-an-image.png"), "wb") as f:
        f.write(b"this is not a PNG file\n")
    dec = tio.decode_png(png).double()[None]  # [1, 3, h, w]
    short = 28
    nh, nw = (short, int(short * w / h)) if h <= w else (int(short * h / w), short)
    r = torch.nn.functional.interpolate(dec, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False)
    r = r.round().clamp(0, 255)  # PIL returns 8-bit images
    top, left = (nh - 28) // 2, (nw - 28) // 2
    c = r[:, :, top:top + 28, left:left + 28] / 255.0
    mean = torch.tensor(PREPROC["image_mean"], dtype=torch.float64)[None, :, None, None]
    std = torch.tensor(PREPROC["image_std"], dtype=torch.float64)[None, :, None, None]
    np.save(os.path.join(folder, "pixel_values.npy"), ((c - mean) / std).numpy().astype(np.float32))
    print("preprocess fixture", (nh, nw), "crop at", (top, left))


if __name__ == "__main__":
    main()
