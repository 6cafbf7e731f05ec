"""Output sizes of transformers' resize rules for the size dicts {shortest_edge, longest_edge} and
{max_height, max_width} (size_rules.json, for ImageEdgeCasesTest.sizeRulesMatchTransformers).

Run from this folder with a Python that has transformers (5.x; not the Debian one, which has none):
    python make_size_fixture.py
Each case: the image's height and width, the size dict, and transformers' (height, width) after resizing."""
import json
import random
from transformers.image_transforms import get_size_with_aspect_ratio
from transformers.image_utils import get_image_size_for_max_height_width

rng = random.Random(20)
cases = []
for _ in range(200):
    h, w = rng.randint(1, 3000), rng.randint(1, 3000)
    if rng.random() < 0.2:
        w = h * rng.choice([1, 2, 3])  # ties and exact ratios
    se = rng.randint(1, 512)
    le = se + rng.randint(1, 1024)
    oh, ow = get_size_with_aspect_ratio((h, w), se, le)
    cases.append({"h": h, "w": w, "size": {"shortest_edge": se, "longest_edge": le}, "out": [int(oh), int(ow)]})
    mh, mw = rng.randint(1, 1024), rng.randint(1, 1024)
    oh, ow = get_image_size_for_max_height_width((h, w), mh, mw)
    cases.append({"h": h, "w": w, "size": {"max_height": mh, "max_width": mw}, "out": [int(oh), int(ow)]})
json.dump(cases, open("size_rules.json", "w"))
