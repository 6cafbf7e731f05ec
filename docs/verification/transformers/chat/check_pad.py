"""Isolate llava_list_pad__v5proc: does HF with do_pad=False reproduce Tessera's tokens?"""
import json, subprocess, torch, warnings; warnings.filterwarnings("ignore")
from PIL import Image
from transformers import AutoProcessor, LlavaForConditionalGeneration
d = "/tmp/tessera-hf/chat/ckpt/llava_list_pad__v5proc"
proc = AutoProcessor.from_pretrained(d, use_fast=False); m = LlavaForConditionalGeneration.from_pretrained(d).eval()
prompt = "USER: <image>\ndescribe the image in detail . ASSISTANT:"
te = json.loads(subprocess.run([os.environ.get('TESSERA', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../../tessera')), "chat", "--model", d, "--raw", "--json", "--max-tokens", "24",
     "--image", "/tmp/tessera-hf/chat/img_a.png", prompt], capture_output=True, text=True).stdout.strip().splitlines()[-1])
for pad in (True, False):
    inp = proc(text=prompt, images=[Image.open("/tmp/tessera-hf/chat/img_a.png")], return_tensors="pt", do_pad=pad)
    out = m.generate(**inp, max_new_tokens=24, do_sample=False)[0, inp["input_ids"].shape[1]:].tolist()
    print("HF do_pad=%s" % pad, "matches Tessera" if out == te["tokens"] else "differs", out[:8], te["tokens"][:8])
