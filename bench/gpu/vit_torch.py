#!/usr/bin/env python3
"""PyTorch peer of dev.tessera.bench.GpuVitBench: the same ViT-B/16 weights, eager PyTorch, bf16, on CUDA.

Reads the random weights GpuVitBench wrote (--weights DIR: model.safetensors with Hugging Face ViT names +
config.json; parsed here without the safetensors package), builds the ViT forward from the published
architecture in plain PyTorch (conv patch embedding, class token, pre-norm layers, exact GELU, attention through
F.scaled_dot_product_attention where available), casts to bf16 and times the logits at --batch (64): 3 warm-up
calls, a calibration for ~--target-ms per repetition, --reps repetitions between CUDA events, best repetition;
float32 pixels uploaded and cast each call. Writes JSON to --out (default $OUT/gpu-vit-torch.json).
"""
import argparse
import datetime
import json
import os
import sys

from safetensors_f32 import read_safetensors

from peer_common import cuda_torch, time_cuda, write  # bench/gpu/peer_common.py, beside this script

def build(torch, cfg, sd, dev):
    import torch.nn.functional as F
    h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d = h // heads
    eps = cfg["layer_norm_eps"]
    p = cfg["patch_size"]
    w = {k: v.to(dev).to(torch.bfloat16) for k, v in sd.items()}
    sdpa = getattr(F, "scaled_dot_product_attention", None)

    def ln(x, n):
        return F.layer_norm(x, (h,), w[n + ".weight"], w[n + ".bias"], eps)

    def lin(x, n):
        return F.linear(x, w[n + ".weight"], w[n + ".bias"])

    def forward(px):
        x = F.conv2d(px.to(torch.bfloat16), w["vit.embeddings.patch_embeddings.projection.weight"],
                     w["vit.embeddings.patch_embeddings.projection.bias"], stride=p).flatten(2).transpose(1, 2)
        b = x.shape[0]
        x = torch.cat([w["vit.embeddings.cls_token"].expand(b, 1, h), x], 1) + w["vit.embeddings.position_embeddings"]
        s = x.shape[1]
        for i in range(cfg["num_hidden_layers"]):
            pre = "vit.encoder.layer.%d." % i
            y = ln(x, pre + "layernorm_before")
            split = lambda t: t.view(b, s, heads, d).transpose(1, 2)
            q, k, v = (split(lin(y, pre + "attention.attention." + n)) for n in ("query", "key", "value"))
            if sdpa is not None:
                ctx = sdpa(q, k, v)
            else:
                ctx = ((q @ k.transpose(-1, -2)) / d ** 0.5).softmax(-1) @ v
            x = x + lin(ctx.transpose(1, 2).reshape(b, s, h), pre + "attention.output.dense")
            x = x + lin(F.gelu(lin(ln(x, pre + "layernorm_after"), pre + "intermediate.dense")), pre + "output.dense")
        return lin(ln(x, "vit.layernorm")[:, 0], "classifier")

    return forward, sdpa is not None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--target-ms", type=float, default=200.0)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "gpu-vit-torch.json"))
    args = ap.parse_args()
    weights = args.weights or os.path.join(os.path.dirname(os.path.abspath(args.out)), "vit-random")
    doc = {"impl": "pytorch", "benchmark": "ViT-B/16 224 logits, bf16, batch %d, the weights GpuVitBench wrote" % args.batch,
           "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "python": sys.version.split()[0], "weights": weights,
           "method": "3 warm-up calls, calibration, then %d repetitions of N back-to-back forward calls "
                     "(pixels uploaded each call) between CUDA events; best repetition" % args.reps}
    torch = cuda_torch(doc, args.out, "vit_torch")
    if torch is None:
        return 3
    dev = torch.device(args.device)
    doc.update(available=True, device={"name": torch.cuda.get_device_name(dev),
                                       "computeCapability": "%d.%d" % torch.cuda.get_device_capability(dev)})
    with open(os.path.join(weights, "config.json")) as f:
        cfg = json.load(f)
    sd = read_safetensors(os.path.join(weights, "model.safetensors"), torch)
    forward, fused = build(torch, cfg, sd, dev)
    doc["attention"] = "F.scaled_dot_product_attention" if fused else "matmul-softmax-matmul"
    g = torch.Generator().manual_seed(7)
    px = torch.rand(args.batch, 3, cfg["image_size"], cfg["image_size"], generator=g) * 2 - 1
    with torch.inference_mode():
        def call():
            forward(px.to(dev))

        best, med, n = time_cuda(torch, call, args.target_ms, args.reps, device=dev)
    doc["results"] = [{"batch": args.batch, "iters": n, "bestMs": best, "medianMs": med,
                       "imagesPerS": args.batch / (best / 1e3)}]
    print("batch %d: best %.3f ms, median %.3f ms, %.1f images/s" % (args.batch, best, med, args.batch / (best / 1e3)))
    write(args.out, doc)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
