"""For each LLaVA checkpoint make <name>__legacy: weights renamed to the transformers-4.x layout
(vision_tower.vision_model.*) and preprocessor_config.json written from processor_config.json's image_processor."""
import json, os, shutil, glob
from safetensors.torch import load_file, save_file
for d in sorted(glob.glob("/tmp/tessera-hf/chat/ckpt/llava_*")):
    if "__" in os.path.basename(d):
        continue
    o = d + "__legacy"
    shutil.rmtree(o, ignore_errors=True)
    shutil.copytree(d, o)
    sd = load_file(os.path.join(d, "model.safetensors"))
    sd = {("vision_tower.vision_model." + k[len("vision_tower."):] if k.startswith("vision_tower.") else k): v
          for k, v in sd.items()}
    save_file(sd, os.path.join(o, "model.safetensors"), metadata={"format": "pt"})
    pc = json.load(open(os.path.join(d, "processor_config.json")))
    ip = dict(pc["image_processor"]); ip["processor_class"] = "LlavaProcessor"
    json.dump(ip, open(os.path.join(o, "preprocessor_config.json"), "w"), indent=2)
    print("legacy", o)
