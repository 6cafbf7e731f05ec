#!/usr/bin/env python3
"""Hugging Face transformers peer of dev.tessera.bench.GpuLlamaBench: prefill and decode tokens/s of the same
random-weight Llama checkpoint (written by the Java side to --checkpoint) in bf16 on CUDA, batch 1.

Prefill = model(prompt ids, use_cache=True) + argmax of the last position copied to the host; decode = one
model(next id, past_key_values=cache) + argmax per token. One warm-up then --reps runs; medians. Removes the
checkpoint directory at the end unless --keep. Exit 3 when torch/CUDA/transformers is unavailable (recorded).
"""
import argparse, datetime, json, os, shutil, statistics, sys, time


def write(path, doc):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "tessera-llama-gpu"))
    p.add_argument("--prompt", type=int, default=512)
    p.add_argument("--decode", type=int, default=128)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "gpu-llama-torch.json"))
    a = p.parse_args()
    doc = {"impl": "transformers", "benchmark": "Llama-style decoder bf16 batch 1 prefill/decode tokens/s",
           "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    try:
        import torch
        import transformers
        from transformers import LlamaForCausalLM
    except Exception as e:  # noqa: BLE001
        doc.update(available=False, reason="import failed: %r" % (e,))
        write(a.out, doc)
        print("llama_transformers: " + doc["reason"], file=sys.stderr)
        return 3
    if not torch.cuda.is_available():
        doc.update(available=False, reason="torch.cuda.is_available() is False")
        write(a.out, doc)
        return 3
    doc.update(available=True, torch=torch.__version__, transformers=transformers.__version__,
               device=torch.cuda.get_device_name(0))
    m = LlamaForCausalLM.from_pretrained(a.checkpoint, torch_dtype=torch.bfloat16).cuda().eval()
    import numpy as np
    # the same prompt ids as the Java side are not needed for throughput; random ids in the same range
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(3, 32000, (1, a.prompt), generator=g).cuda()
    pre, step, last = [], [], -1
    with torch.inference_mode():
        for r in range(-1, a.reps):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            o = m(input_ids=ids, use_cache=True)
            nxt = int(o.logits[0, -1].argmax().item())
            cache = o.past_key_values
            t1 = time.perf_counter()
            for i in range(a.decode):
                o = m(input_ids=torch.tensor([[nxt]], device="cuda"), past_key_values=cache, use_cache=True)
                cache = o.past_key_values
                nxt = int(o.logits[0, -1].argmax().item())
            t2 = time.perf_counter()
            last = nxt
            if r >= 0:
                pre.append((t1 - t0) * 1e3)
                step.append((t2 - t1) * 1e3 / a.decode)
    pm, sm = statistics.median(pre), statistics.median(step)
    doc.update(prompt_tokens=a.prompt, decode_tokens=a.decode, prefill_ms=pm, prefill_tokens_per_s=a.prompt / (pm / 1e3),
               decode_ms_per_token=sm, decode_tokens_per_s=1e3 / sm, last_token=last,
               method="one warm-up then %d runs, medians, wall clock including argmax .item()" % a.reps)
    print("transformers bf16: prefill %d tokens %.2f ms, decode %.3f ms/token" % (a.prompt, pm, sm))
    write(a.out, doc)
    if not a.keep:
        shutil.rmtree(a.checkpoint, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
