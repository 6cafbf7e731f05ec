"""What the PyTorch peers of bench/gpu/run.sh share: their result file, and the check that torch imports and sees
CUDA (a peer that cannot run writes why and exits 3, which run.sh reports as "unavailable")."""
import json
import os
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
