#!/usr/bin/env python3
"""Joins a Tessera GPU benchmark's JSON with its PyTorch peer's and prints the table (TFLOP/s Tessera vs PyTorch).

usage: compare.py [--kind matmul|attention] TESSERA_JSON TORCH_JSON [--out SUMMARY_JSON]
  matmul (default): GpuMatmulBench vs torch_matmul.py, one row per (size, dtype).
  attention: GpuAttentionBench vs attention_torch.py, one row per (seq, head_dim, B*H, causal) with a column per
             Tessera kernel (the records' "kernel" field: v1, v2, wgmma) and each kernel's ratio to SDPA.
Missing or failed inputs are shown as such; the exit status is 0 whenever the table could be printed.
"""
import argparse
import json
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception as e:  # noqa: BLE001
        return {"available": False, "reason": "cannot read %s: %s" % (path, e)}


def attention(ts, pt, out):
    """Attention table: one row per case, a TFLOP/s and a ratio-to-SDPA column per Tessera kernel."""
    kernels = []
    rows = {}
    for r in ts.get("results", []):
        kname = r.get("kernel", "tessera")
        if kname not in kernels:
            kernels.append(kname)
        key = (r["seq"], r["headDim"], r["batch"] * r["heads"], bool(r["causal"]))
        rows.setdefault(key, {"tessera": {}, "torch": None})["tessera"][kname] = r
    for r in pt.get("results", []):
        key = (r["seq"], r["headDim"], r["batch"] * r["heads"], bool(r["causal"]))
        rows.setdefault(key, {"tessera": {}, "torch": None})["torch"] = r
    card = (ts.get("device") or pt.get("device") or {}).get("name", "?")
    dtype = next((r.get("dtype") for r in ts.get("results", []) + pt.get("results", []) if r.get("dtype")), "?")
    print("GPU fused attention forward, %s, %s: TFLOP/s (best of reps, CUDA events), ratio = Tessera kernel / PyTorch"
          " scaled_dot_product_attention" % (dtype, card))
    for impl, doc in (("tessera", ts), ("pytorch", pt)):
        if not doc.get("available", False):
            print("  %s: not available: %s" % (impl, doc.get("reason", "?")))
    head = "%-6s %4s %4s %-6s" % ("seq", "D", "B*H", "causal")
    for k in kernels:
        head += " %8s" % k
    head += " %8s" % "SDPA"
    for k in kernels:
        head += " %8s" % (k + "/SDPA")
    head += "  %s" % "check (rel err vs float64)"
    print(head)
    summary = []
    ratios = {k: [] for k in kernels}

    def fmt(x, f="%.1f"):
        return f % x if x else "-"

    for key in sorted(rows, key=lambda k: (k[0], k[1], -k[2], k[3])):
        seq, d, bh, causal = key
        t, q = rows[key]["tessera"], rows[key]["torch"] or {}
        qq = q.get("tflops")
        line = "%-6d %4d %4d %-6s" % (seq, d, bh, "yes" if causal else "no")
        checks = []
        entry = {"seq": seq, "headDim": d, "batchTimesHeads": bh, "causal": causal, "torchTflops": qq,
                 "torchBackend": q.get("backend"), "torchError": q.get("error"), "kernels": {}}
        for k in kernels:
            tt = t.get(k, {}).get("tflops")
            line += " %8s" % fmt(tt)
        line += " %8s" % fmt(qq)
        for k in kernels:
            r = t.get(k, {})
            tt = r.get("tflops")
            ratio = tt / qq if tt and qq else None
            if ratio:
                ratios[k].append(ratio)
            line += " %8s" % fmt(ratio, "%.3f")
            ran = r.get("kernelUsed")
            fell = " (ran %s)" % ran if ran and ran != k else ""
            if "error" in r:
                checks.append("%s FAILED" % k)
            elif "skipped" in r:
                checks.append("%s skipped" % k)
            elif r.get("checkRelErr") is not None:
                checks.append("%s %.1e%s%s" % (k, r["checkRelErr"], "" if r.get("checkOk") else "!", fell))
            entry["kernels"][k] = {"tflops": tt, "ratio": ratio, "kernelUsed": ran, "checkRelErr": r.get("checkRelErr"),
                                   "checkOk": r.get("checkOk"), "error": r.get("error"), "skipped": r.get("skipped")}
        line += "  " + ", ".join(checks)
        print(line)
        summary.append(entry)
    print("('!' = relative error above 1e-2; '(ran v1)' = the kernel asked for was not the one that ran;"
          " goal of issue #3: ratio >= 0.7, aiming at 1.0)")
    for k in kernels:
        if ratios[k]:
            print("  %s / SDPA: %.3f .. %.3f over %d cases" % (k, min(ratios[k]), max(ratios[k]), len(ratios[k])))
    if out:
        with open(out, "w") as f:
            json.dump({"device": ts.get("device") or pt.get("device"), "tessera": ts.get("tessera"),
                       "torch": pt.get("torch"), "date": ts.get("date") or pt.get("date"), "kernels": kernels,
                       "rows": summary}, f, indent=2)
            f.write("\n")
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kind", choices=["matmul", "attention"], default="matmul")
    p.add_argument("tessera")
    p.add_argument("torch")
    p.add_argument("--out")
    a = p.parse_args()
    ts, pt = load(a.tessera), load(a.torch)
    if a.kind == "attention":
        return attention(ts, pt, a.out)
    rows = {}
    for impl, doc in (("tessera", ts), ("torch", pt)):
        for r in doc.get("results", []):
            rows.setdefault((r["size"], r["dtype"]), {})[impl] = r
    card = (ts.get("device") or pt.get("device") or {}).get("name", "?")
    print("GPU matmul, square, %s: TFLOP/s (best of reps, CUDA events), ratio = Tessera / PyTorch" % card)
    for impl, doc in (("tessera", ts), ("pytorch", pt)):
        if not doc.get("available", False):
            print("  %s: not available: %s" % (impl, doc.get("reason", "?")))
    print("%-6s %-5s %10s %10s %7s  %-12s %-12s" % ("n", "dtype", "Tessera", "PyTorch", "ratio", "err Tessera",
                                                      "err PyTorch"))
    summary = []
    for (n, dt) in sorted(rows, key=lambda k: (k[0], ["fp32", "tf32", "bf16", "fp16"].index(k[1])
                                                  if k[1] in ("fp32", "tf32", "bf16", "fp16") else 9)):
        t = rows[(n, dt)].get("tessera", {})
        q = rows[(n, dt)].get("torch", {})
        tt, qq = t.get("tflops"), q.get("tflops")
        ratio = tt / qq if tt and qq else None

        def err(r):
            if "error" in r:
                return "FAILED"
            if r.get("relErr") is None:
                return "-"
            return "%.1e%s" % (r["relErr"], "" if r.get("ok") else "!")

        print("%-6d %-5s %10s %10s %7s  %-12s %-12s" % (
            n, dt, "%.1f" % tt if tt else "-", "%.1f" % qq if qq else "-", "%.3f" % ratio if ratio else "-",
            err(t), err(q)))
        summary.append({"size": n, "dtype": dt, "tesseraTflops": tt, "torchTflops": qq, "ratio": ratio,
                        "tesseraRelErr": t.get("relErr"), "torchRelErr": q.get("relErr"),
                        "tesseraOk": t.get("ok"), "torchOk": q.get("ok"),
                        "tesseraError": t.get("error"), "torchError": q.get("error")})
    print("('!' = relative error above the bound: fp32 1e-5, tf32 5e-4, bf16 1e-2)")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"device": ts.get("device") or pt.get("device"), "tessera": ts.get("tessera"),
                       "torch": pt.get("torch"), "date": ts.get("date") or pt.get("date"), "rows": summary},
                      f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
