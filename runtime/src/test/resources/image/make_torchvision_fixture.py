"""Pixels of transformers 5's two image backends (torchvision and Pillow), for ImageTorchvisionBackendTest.

Run from this folder with a Python that has torch, torchvision and transformers 5.x (not the Debian one, which has
no transformers): python make_torchvision_fixture.py. It writes
- torchvision_resample.json: a random 8-bit 29x41 plane resized by torch.nn.functional.interpolate on uint8 (the
  kernels transformers' torchvision processors run: bilinear / bicubic / lanczos with antialias, nearest-exact) to
  sizes below, between and above the plane's;
- tv_input.png (a random 37x53 RGB image) and, per case of torchvision_cases.json, tv_case<i>.npy: the float32
  pixel_values [3, H, W] that transformers' ViTImageProcessor / CLIPImageProcessor / LlavaImageProcessor (the
  torchvision classes) give for that file or chelsea.png under the case's preprocessor_config, and pil_case<i>.npy:
  what the Pillow classes (ViTImageProcessorPil, ...) give.
"""
import json
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
import transformers
from transformers import (CLIPImageProcessor, CLIPImageProcessorPil, LlavaImageProcessor, LlavaImageProcessorPil,
                          ViTImageProcessor, ViTImageProcessorPil)

rng = np.random.default_rng(21)
plane = rng.integers(0, 256, (29, 41), dtype=np.uint8)
x = torch.from_numpy(plane)[None, None]
modes = {0: "nearest-exact", 1: "lanczos", 2: "bilinear", 3: "bicubic"}
sizes = [(7, 11), (13, 40), (29, 17), (30, 41), (52, 90), (3, 3), (1, 5), (58, 20)]
cases = []
for code, mode in modes.items():
    for h, w in sizes:
        kw = {} if mode == "nearest-exact" else {"align_corners": False, "antialias": True}
        y = F.interpolate(x, size=(h, w), mode=mode, **kw)[0, 0]
        cases.append({"resample": code, "height": h, "width": w, "out": y.tolist()})
json.dump({"plane": plane.tolist(), "cases": cases}, open("torchvision_resample.json", "w"))

Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)).save("tv_input.png")
configs = [
    ("tv_input.png", "ViTImageProcessor", {"size": {"height": 24, "width": 20}}),
    ("tv_input.png", "ViTImageProcessor", {"size": {"height": 40, "width": 60}, "resample": 3}),
    ("tv_input.png", "ViTImageProcessor", {"size": {"height": 16, "width": 16}, "resample": 0}),
    ("tv_input.png", "ViTImageProcessor", {"size": {"height": 20, "width": 30}, "resample": 1,
                                           "do_normalize": False}),
    ("tv_input.png", "ViTImageProcessor", {"size": {"height": 20, "width": 30}, "do_rescale": False,
                                           "image_mean": [120.5, 110, 100], "image_std": [60, 61.5, 70]}),
    ("tv_input.png", "CLIPImageProcessor", {"size": {"shortest_edge": 24}, "crop_size": {"height": 23, "width": 21}}),
    ("tv_input.png", "CLIPImageProcessor", {"size": {"shortest_edge": 20}, "crop_size": {"height": 25, "width": 34}}),
    ("tv_input.png", "CLIPImageProcessor", {"size": {"shortest_edge": 30}, "crop_size": 30,
                                            "rescale_factor": 0.0078125, "image_mean": 0.5, "image_std": 0.25}),
    ("chelsea.png", "CLIPImageProcessor", {"size": {"shortest_edge": 64}, "crop_size": 56}),
    ("chelsea.png", "ViTImageProcessor", {"size": {"height": 48, "width": 40}}),
    ("tv_input.png", "LlavaImageProcessor", {"size": {"shortest_edge": 24}, "crop_size": 24, "do_pad": True}),
    ("tv_input.png", "ViTImageProcessor", {"size": 20, "default_to_square": False}),
    ("tv_input.png", "CLIPImageProcessor", {"size": 22, "default_to_square": True, "do_center_crop": False}),
    ("tv_input.png", "CLIPImageProcessor", {"size": {"shortest_edge": 20}, "crop_size": 18, "do_pad": True,
                                            "pad_size": {"height": 23, "width": 25}}),
    ("tv_input.png", "ViTImageProcessor", {"size": {"height": 16, "width": 12}, "do_pad": True,
                                           "pad_size": {"height": 16, "width": 19}, "do_rescale": False,
                                           "image_mean": 100.0, "image_std": 50.0}),
]
classes = {"ViTImageProcessor": (ViTImageProcessor, ViTImageProcessorPil),
           "CLIPImageProcessor": (CLIPImageProcessor, CLIPImageProcessorPil),
           "LlavaImageProcessor": (LlavaImageProcessor, LlavaImageProcessorPil)}
index = []
for i, (image, cls, cfg) in enumerate(configs):
    tv, pil = classes[cls][0](**cfg), classes[cls][1](**cfg)
    assert tv.backend == "torchvision", tv.backend
    px = tv(images=Image.open(image).convert("RGB"), return_tensors="pt")["pixel_values"][0]
    np.save(f"tv_case{i}.npy", px.to(torch.float32).numpy())
    pp = pil(images=Image.open(image).convert("RGB"), return_tensors="np")["pixel_values"][0]
    assert pp.dtype == np.float32 and pp.shape == tuple(px.shape), (pp.dtype, pp.shape, px.shape)
    np.save(f"pil_case{i}.npy", pp)
    index.append({"image": image, "config": dict(cfg, image_processor_type=cls), "shape": list(px.shape)})
json.dump({"transformers": transformers.__version__, "torch": torch.__version__, "cases": index},
          open("torchvision_cases.json", "w"), indent=1)
