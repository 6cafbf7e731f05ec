"""What the PyTorch peers of bench/gpu/run.sh share: their result file, the check that torch imports and sees CUDA
(a peer that cannot run writes why and exits 3, which run.sh reports as "unavailable"), and the CUDA-event timing
loop."""
import json
import os
import statistics
import sys


def write(path, doc):
    """doc as indented JSON in path (its folder created)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, default=str)
        f.write("\n")


def cuda_torch(doc, out, who):
    """torch when it imports and CUDA is available (its versions recorded in doc); else None, after writing doc
    with the reason to out and saying it on stderr as `who: reason`."""
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        doc.update(available=False, reason="import torch failed: %r" % (e,))
        write(out, doc)
        print(who + ": " + doc["reason"], file=sys.stderr)
        return None
    doc["torch"] = torch.__version__
    doc["torchCuda"] = torch.version.cuda
    if not torch.cuda.is_available():
        doc.update(available=False, reason="torch.cuda.is_available() is False")
        write(out, doc)
        print(who + ": CUDA not available", file=sys.stderr)
        return None
    return torch


def time_cuda(torch, fn, target_ms, reps, min_iters=3, device=None):
    """fn timed with CUDA events: 3 warm-up calls, then enough calls per repetition for about target_ms (min_iters
    to 2000), reps repetitions; (best, median) milliseconds per call and the calls per repetition. device: what
    torch.cuda.synchronize waits for (None: the current device)."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize(device)
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def run(n):
        torch.cuda.synchronize(device)
        start.record()
        for _ in range(n):
            fn()
        stop.record()
        stop.synchronize()
        return start.elapsed_time(stop)

    per = run(3) / 3
    iters = int(max(min_iters, min(2000, round(target_ms / max(per, 1e-4)))))
    ms = [run(iters) / iters for _ in range(reps)]
    return min(ms), statistics.median(ms), iters
