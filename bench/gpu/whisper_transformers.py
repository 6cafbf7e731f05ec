#!/usr/bin/env python3
"""Hugging Face transformers peer of dev.tessera.bench.GpuWhisperBench: WhisperForConditionalGeneration with
random weights at the tiny (d 384, 4+4 layers) and base (d 512, 6+6) sizes, bf16 on CUDA, batch 1: encoder ms on
one 30 s window (80 x 3000) and greedy decode tokens/s with past_key_values (argmax copied to the host per token).
One warm-up, medians of --reps. Exit 3 when torch/CUDA/transformers is unavailable.
"""
import argparse, datetime, json, os, statistics, sys, time

SIZES = {"tiny": (384, 4, 6, 1536), "base": (512, 6, 8, 2048)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="tiny,base")
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "gpu-whisper-torch.json"))
    a = p.parse_args()
    doc = {"impl": "transformers", "benchmark": "Whisper bf16 batch 1 encoder ms / decode tokens/s",
           "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    try:
        import torch
        from transformers import WhisperConfig, WhisperForConditionalGeneration
        assert torch.cuda.is_available()
    except Exception as e:  # noqa
        doc["error"] = repr(e)
        json.dump(doc, open(a.out, "w"), indent=2)
        sys.exit(3)
    doc["torch"], doc["device"] = torch.__version__, torch.cuda.get_device_name(0)
    res = {}
    for size in a.sizes.split(","):
        d, layers, h, ff = SIZES[size]
        cfg = WhisperConfig(d_model=d, encoder_layers=layers, decoder_layers=layers, encoder_attention_heads=h,
                            decoder_attention_heads=h, encoder_ffn_dim=ff, decoder_ffn_dim=ff, vocab_size=51865,
                            num_mel_bins=80)
        m = WhisperForConditionalGeneration(cfg).to("cuda", torch.bfloat16).eval()
        mel = torch.randn(1, 80, 3000, device="cuda", dtype=torch.bfloat16)
        enc_ms, tps = [], []
        with torch.no_grad():
            for r in range(a.reps + 1):
                torch.cuda.synchronize()
                t = time.perf_counter()
                enc = m.model.encoder(mel).last_hidden_state
                torch.cuda.synchronize()
                e = (time.perf_counter() - t) * 1e3
                ids = torch.tensor([[50258, 50259, 50359, 50363]], device="cuda")
                out = m(encoder_outputs=(enc,), decoder_input_ids=ids, use_cache=True)
                past, nxt = out.past_key_values, int(out.logits[0, -1].argmax())
                t = time.perf_counter()
                for _ in range(a.tokens):
                    out = m(encoder_outputs=(enc,), decoder_input_ids=torch.tensor([[nxt]], device="cuda"),
                            past_key_values=past, use_cache=True)
                    past, nxt = out.past_key_values, int(out.logits[0, -1].argmax())
                s = a.tokens / (time.perf_counter() - t)
                if r > 0:
                    enc_ms.append(e)
                    tps.append(s)
        res[size] = {"encoder_ms": statistics.median(enc_ms), "decode_tokens_per_s": statistics.median(tps)}
        print(f"transformers whisper {size} bf16: encoder {res[size]['encoder_ms']:.2f} ms, "
              f"decode {res[size]['decode_tokens_per_s']:.1f} tokens/s")
    doc["results"] = res
    json.dump(doc, open(a.out, "w"), indent=2)


main()
