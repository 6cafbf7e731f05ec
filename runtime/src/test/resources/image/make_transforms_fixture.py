"""Pixels of a torchvision.transforms pipeline on PIL images (Resize, CenterCrop, ToTensor, Normalize: what OpenAI
CLIP's and open_clip's preprocess and most timm-style scripts run), for ImageTorchvisionBackendTest.

Run from this folder with the Debian Python (python3-torchvision 0.14, Pillow 9.4): /usr/bin/python3
make_transforms_fixture.py. Writes transforms_cases.json (per case: image, the preprocessor_config.json that says the
same, the shape) and transforms_case<i>.npy (float32 [3, H, W]). Crops are chosen so that some offsets (h - crop) / 2
end in .5 with an odd floor, where CenterCrop's round-half-to-even and transformers' floor part.
"""
import json

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

M = {0: T.InterpolationMode.NEAREST, 2: T.InterpolationMode.BILINEAR, 3: T.InterpolationMode.BICUBIC}
CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
cases = [
    # (image, resize (int = shortest edge, list = [h, w]), resample, crop [h, w] or None, normalize (mean, std) or None)
    ("tv_input.png", 24, 3, [21, 18], (CLIP_MEAN, CLIP_STD)),       # 24x34: offsets 1.5 -> 2, 8 -> 8
    ("tv_input.png", 22, 2, [19, 26], ([0.5] * 3, [0.5] * 3)),      # 22x31: offsets 1.5 -> 2, 2.5 -> 2
    ("tv_input.png", 20, 3, [25, 21], (CLIP_MEAN, CLIP_STD)),       # 20x28: padded rows, offset 3.5 -> 4
    ("tv_input.png", [30, 26], 0, None, None),                        # fixed size, nearest, ToTensor only
    ("chelsea.png", 40, 3, [33, 37], (CLIP_MEAN, CLIP_STD)),        # 40x60: offsets 3.5 -> 4, 11.5 -> 12
    ("chelsea.png", [36, 36], 2, None, ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])),
    ("tv_input.png", (24, 30), 3, [20, 20], (CLIP_MEAN, CLIP_STD)),  # Resize(24, max_size=30): 24x34 -> 21x30
]
index = []
for i, (image, size, resample, crop, norm) in enumerate(cases):
    if isinstance(size, tuple):  # (shortest edge, max_size)
        steps = [T.Resize(size[0], interpolation=M[resample], max_size=size[1])]
    else:
        steps = [T.Resize(size, interpolation=M[resample])]
    cfg = {"image_processor_type": "CLIPImageProcessor", "resample": resample, "do_rescale": True,
           "rescale_factor": 1 / 255, "do_convert_rgb": True}
    cfg["size"] = ({"shortest_edge": size} if isinstance(size, int) else {"height": size[0], "width": size[1]}
                   if isinstance(size, list) else {"shortest_edge": size[0], "longest_edge": size[1]})
    if crop:
        steps.append(T.CenterCrop(crop))
        cfg.update(do_center_crop=True, crop_size={"height": crop[0], "width": crop[1]})
    else:
        cfg["do_center_crop"] = False
    steps.append(T.ToTensor())
    if norm:
        steps.append(T.Normalize(norm[0], norm[1]))
        cfg.update(do_normalize=True, image_mean=norm[0], image_std=norm[1])
    else:
        cfg["do_normalize"] = False
    px = T.Compose(steps)(Image.open(image).convert("RGB"))
    np.save(f"transforms_case{i}.npy", px.numpy().astype(np.float32))
    index.append({"image": image, "config": cfg, "shape": list(px.shape)})
json.dump({"torchvision": torchvision.__version__, "torch": torch.__version__, "cases": index},
          open("transforms_cases.json", "w"), indent=1)
