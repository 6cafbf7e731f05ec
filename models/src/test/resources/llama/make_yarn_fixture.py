"""YaRN rotary parameters as transformers 5 computes them, for LlamaConfigTest.yarnMatchesTransformers.

Run from this folder with a Python that has transformers 5.x and torch (not the Debian one, which has no
transformers): python make_yarn_fixture.py. Writes yarn_cases.json: per case, the config.json keys that matter and
transformers' inverse frequencies (float32) and attention factor (ROPE_INIT_FUNCTIONS["yarn"] on its LlamaConfig).
"""
import json

import transformers
from transformers import LlamaConfig
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

base = dict(vocab_size=300, hidden_size=64, num_attention_heads=4, head_dim=16, max_position_embeddings=128)
cases = [
    dict(rope_theta=10000.0, rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}),
    dict(rope_theta=10000.0, rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32,
                                           "truncate": False}),
    dict(rope_theta=500.0, rope_scaling={"rope_type": "yarn", "factor": 3.0, "original_max_position_embeddings": 40,
                                         "mscale": 1.0, "mscale_all_dim": 0.8}),
    dict(rope_theta=10000.0, rope_scaling={"rope_type": "yarn", "factor": 2.5, "original_max_position_embeddings": 64,
                                           "attention_factor": 1.3, "beta_fast": 16, "beta_slow": 2}),
    dict(rope_theta=10000.0, rope_scaling={"rope_type": "yarn", "factor": None, "original_max_position_embeddings": 32}),
    dict(rope_theta=10000.0, original_max_position_embeddings=16,
         rope_scaling={"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 32}),
    dict(rope_theta=1000000.0, head_dim=64, hidden_size=256, max_position_embeddings=32768,
         rope_scaling={"type": "yarn", "factor": 8.0, "original_max_position_embeddings": 4096}),
    dict(rope_theta=10000.0, rope_scaling={"rope_type": "yarn", "factor": 0.5, "original_max_position_embeddings": 32}),
]
out = []
for c in cases:
    cfg = dict(base, **c)
    inv, att = ROPE_INIT_FUNCTIONS["yarn"](LlamaConfig(**cfg), "cpu")
    out.append({"config": cfg, "inv_freq": [float(v) for v in inv.tolist()], "attention_factor": float(att)})
json.dump({"transformers": transformers.__version__, "cases": out}, open("yarn_cases.json", "w"), indent=1)
