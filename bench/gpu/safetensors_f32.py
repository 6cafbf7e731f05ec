"""Reads an F32 safetensors file into a dict of torch tensors without the `safetensors` package (shared by the
GPU peers minilm_torch.py and vit_torch.py; shipped beside them in the bundle)."""
import json
import struct


def read_safetensors(path, torch):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError("%s: dtype %s (expected F32)" % (name, info["dtype"]))
        a, b = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(info["shape"])
    return out
