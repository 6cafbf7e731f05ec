#!/usr/bin/env python3
"""PyTorch peer of dev.tessera.bench.GpuMatmulBench: torch.matmul on square matrices, timed the same way.

Per case: 3 warm-up calls, a calibration (3 calls) to pick N calls per repetition (about --target-ms),
then --reps repetitions of N back-to-back torch.matmul calls between two CUDA events on the current
stream; the best repetition is reported (the median too). Each call allocates its output from PyTorch's
caching allocator, as Tessera's Ops.matmul does from its own. Inputs are uniform in [-1, 1), made on the
host in fp32 and converted on the device for bf16/fp16; a few rows are checked against float64.

fp32 = torch.set_float32_matmul_precision("highest") (no TF32), tf32 = "high".
Writes JSON (same layout as GpuMatmulBench's) to --out.
"""
import argparse
import datetime
import statistics
import sys

from peer_common import cuda_torch, write  # bench/gpu/peer_common.py, beside this script


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1024,4096,8192")
    p.add_argument("--dtypes", default="fp32,tf32,bf16")
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--target-ms", type=float, default=200.0)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--check-rows", type=int, default=4)
    p.add_argument("--out", default="gpu-matmul-torch.json")
    args = p.parse_args()

    doc = {"impl": "pytorch", "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "python": sys.version.split()[0],
           "method": ("per case: 3 warm-up calls, calibration, then %d repetitions of N back-to-back torch.matmul "
                      "calls between CUDA events, N chosen for ~%g ms; best repetition reported")
                     % (args.reps, args.target_ms)}
    torch = cuda_torch(doc, args.out, "torch_matmul")
    if torch is None:
        return 3
    dev = torch.device(args.device)
    props = torch.cuda.get_device_properties(dev)
    doc["available"] = True
    doc["device"] = {"name": props.name, "computeCapability": "%d.%d" % (props.major, props.minor),
                     "multiprocessors": props.multi_processor_count, "totalMemoryBytes": props.total_memory}
    try:
        doc["cublas"] = torch._C._cuda_getCompiledVersion()
    except Exception:  # noqa: BLE001
        pass
    print("torch_matmul on %s (%s, cc %d.%d), torch %s" % (dev, props.name, props.major, props.minor,
                                                             torch.__version__))
    results = []
    doc["results"] = results
    all_ok = True
    for n in [int(s) for s in args.sizes.split(",")]:
        g = torch.Generator(device="cpu").manual_seed(n)
        ha = torch.rand((n, n), generator=g, dtype=torch.float32) * 2 - 1
        hb = torch.rand((n, n), generator=g, dtype=torch.float32) * 2 - 1
        a32 = ha.to(dev)
        b32 = hb.to(dev)
        for dtype in [d.strip().lower() for d in args.dtypes.split(",")]:
            r = {"size": n, "dtype": dtype}
            results.append(r)
            try:
                if dtype in ("fp32", "tf32"):
                    torch.set_float32_matmul_precision("highest" if dtype == "fp32" else "high")
                    a, b = a32, b32
                elif dtype == "bf16":
                    a, b = a32.to(torch.bfloat16), b32.to(torch.bfloat16)
                elif dtype == "fp16":
                    a, b = a32.to(torch.float16), b32.to(torch.float16)
                else:
                    raise ValueError("unknown dtype " + dtype)
                bound = {"fp32": 1e-5, "tf32": 5e-4}.get(dtype, 1e-2)
                err = check(torch, a, b, ha, hb, args.check_rows)
                ok = err <= bound
                all_ok &= ok
                r.update(relErr=err, errBound=bound, ok=ok)
                iters, best, med, wall = timeit(torch, a, b, args.target_ms, args.reps)
                flop = 2.0 * n ** 3
                r.update(iters=iters, reps=args.reps, msBest=best, msMedian=med, msWall=wall,
                         tflops=flop / (best * 1e-3) / 1e12, tflopsMedian=flop / (med * 1e-3) / 1e12)
                print("  n=%-5d %-4s %9.4f ms  %8.2f TFLOP/s  rel err %.2e %s"
                      % (n, dtype, best, r["tflops"], err, "ok" if ok else "FAILS bound %g" % bound))
            except Exception as e:  # noqa: BLE001
                all_ok = False
                r["error"] = repr(e)
                print("  n=%-5d %-4s FAILED: %r" % (n, dtype, e))
            finally:
                torch.set_float32_matmul_precision("highest")
        del a32, b32
        torch.cuda.empty_cache()
    doc["memory"] = {"peakAllocatedBytes": torch.cuda.max_memory_allocated(dev)}
    write(args.out, doc)
    print("wrote " + args.out)
    return 0 if all_ok else 1


def check(torch, a, b, ha, hb, rows):
    n = ha.shape[0]
    c = torch.full((n, n), float("nan"), dtype=a.dtype, device=a.device)
    torch.matmul(a, b, out=c)
    torch.cuda.synchronize()
    pick = [round(i * (n - 1) / (rows - 1)) for i in range(rows)] if rows > 1 else [n - 1]
    got = c[pick].float().cpu().double()
    ref = ha[pick].double() @ hb.double()
    return float(torch.linalg.norm(got - ref) / torch.linalg.norm(ref))


def timeit(torch, a, b, target_ms, reps):
    for _ in range(3):
        torch.matmul(a, b)
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)

    def run(iters):
        import time
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        start.record()
        for _ in range(iters):
            torch.matmul(a, b)
        stop.record()
        stop.synchronize()
        t1 = time.perf_counter()
        return start.elapsed_time(stop), (t1 - t0) * 1e3

    per = run(3)[0] / 3
    iters = int(max(5, min(2000, round(target_ms / max(per, 1e-4)))))
    ms, wall = [], []
    for _ in range(reps):
        e, w = run(iters)
        ms.append(e / iters)
        wall.append(w / iters)
    best = min(range(reps), key=lambda i: ms[i])
    return iters, ms[best], statistics.median(ms), wall[best]


if __name__ == "__main__":
    sys.exit(main())
