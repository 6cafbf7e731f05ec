#!/usr/bin/env python3
"""Joins GpuMatmulBench's and torch_matmul.py's JSON and prints the table (TFLOP/s Tessera vs PyTorch).

usage: compare.py TESSERA_JSON TORCH_JSON [--out SUMMARY_JSON]
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tessera")
    p.add_argument("torch")
    p.add_argument("--out")
    a = p.parse_args()
    ts, pt = load(a.tessera), load(a.torch)
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
