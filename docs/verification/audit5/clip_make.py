import re, json, os, numpy as np, torch, sys
src = open(os.path.join(os.environ.get('TESSERA_ROOT', '.'), 'models/src/test/resources/vision/make_fixtures.py')).read()
top = src[:src.index("make_vit('vit-a'")]
tokdef = src[src.index("def write_tokenizer"):src.index("write_tokenizer('clip-a")]
g = {}; exec(top, g); exec(tokdef, g)
torch.manual_seed(5)
def mk(name, v, t, proj, eos, pre=None):
    g['make_clip'](name, v, t, proj, eos, texts=[[97, 1, 98]])  # writes weights + config
    # vocab must be >= 99 for the word tokenizer
    g['write_tokenizer'](os.path.join(name, 'tokenizer.json'))
    if pre: json.dump(pre, open(os.path.join(name, 'preprocessor_config.json'), 'w'))
mk('clip-c', dict(hidden_size=40, intermediate_size=70, num_hidden_layers=3, num_attention_heads=5, image_size=64,
        patch_size=16, num_channels=3, layer_norm_eps=1e-5, hidden_act='gelu'),
     dict(vocab_size=99, hidden_size=24, intermediate_size=50, num_hidden_layers=2, num_attention_heads=2,
        max_position_embeddings=20, layer_norm_eps=1e-5, hidden_act='quick_gelu'), proj=16, eos=98,
     pre={"image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": 64}, "resample": 3,
          "do_center_crop": True, "crop_size": {"height": 64, "width": 64}, "do_normalize": True,
          "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]})
mk('clip-d', dict(hidden_size=36, intermediate_size=60, num_hidden_layers=2, num_attention_heads=3, image_size=42,
        patch_size=7, num_channels=3, layer_norm_eps=1e-5, hidden_act='quick_gelu'),
     dict(vocab_size=99, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
        max_position_embeddings=12, layer_norm_eps=1e-5, hidden_act='quick_gelu'), proj=28, eos=2, pre=None)
mk('clip-e', dict(hidden_size=36, intermediate_size=60, num_hidden_layers=2, num_attention_heads=3, image_size=42,
        patch_size=7, num_channels=3, layer_norm_eps=1e-5, hidden_act='quick_gelu'),
     dict(vocab_size=99, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
        max_position_embeddings=12, layer_norm_eps=1e-5, hidden_act='quick_gelu'), proj=28, eos=2,
     pre={"feature_extractor_type": "CLIPFeatureExtractor", "size": 50, "crop_size": 42, "resample": 2, "do_center_crop": True})
