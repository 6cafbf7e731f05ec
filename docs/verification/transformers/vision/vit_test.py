import torch, numpy as np, os, json, sys, glob
from PIL import Image
from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor
from common import *
torch.manual_seed(0)
IM=sorted(glob.glob(f"{ROOT}/imgs/*"))
CASES=[
 dict(name="vit_a", cfg=dict(image_size=32,patch_size=4,hidden_size=48,num_attention_heads=2,num_hidden_layers=1,intermediate_size=96,qkv_bias=True,hidden_act="gelu"),nl=5,
      proc=dict(size={"height":32,"width":32},resample=2,image_mean=[0.5,0.5,0.5],image_std=[0.5,0.5,0.5])),
 dict(name="vit_b", cfg=dict(image_size=96,patch_size=16,hidden_size=128,num_attention_heads=8,num_hidden_layers=3,intermediate_size=256,qkv_bias=False,hidden_act="gelu_new",layer_norm_eps=1e-6),nl=10,
      proc=dict(size={"height":96,"width":96},resample=3,image_mean=[0.485,0.456,0.406],image_std=[0.229,0.224,0.225])),
 dict(name="vit_c", cfg=dict(image_size=64,patch_size=8,hidden_size=96,num_attention_heads=4,num_hidden_layers=2,intermediate_size=200,qkv_bias=True,hidden_act="gelu_new"),nl=7,
      proc=dict(size={"height":64,"width":64},resample=0,image_mean=[0.4,0.5,0.6],image_std=[0.3,0.2,0.25],rescale_factor=1/255)),
 dict(name="vit_d_noresize", cfg=dict(image_size=48,patch_size=6,hidden_size=64,num_attention_heads=4,num_hidden_layers=2,intermediate_size=128,qkv_bias=True,hidden_act="gelu"),nl=6,
      proc=dict(do_resize=False,size={"height":48,"width":48},image_mean=[0.5,0.4,0.3],image_std=[0.2,0.3,0.4])),
]
for c in CASES:
    d=f"{ROOT}/models/{c['name']}"
    nl=c['nl']; cfg=ViTConfig(**c['cfg'],id2label={i:f"label_{i}_{c['name']}" for i in range(nl)},label2id={f"label_{i}_{c['name']}":i for i in range(nl)})
    m=ViTForImageClassification(cfg).eval()
    with torch.no_grad():  # larger random weights for sharper logits
        for p in m.classifier.parameters(): p.mul_(20)
    m.save_pretrained(d); proc=ViTImageProcessor(**c['proc']); proc.save_pretrained(d)
    proc=ViTImageProcessor.from_pretrained(d); m=ViTForImageClassification.from_pretrained(d).eval()
    imgs=IM
    if not proc.do_resize:
        s=c['cfg']['image_size']; od=f"{ROOT}/imgs_{s}"; os.makedirs(od,exist_ok=True)
        rng=np.random.default_rng(1)
        Image.fromarray(rng.integers(0,256,(s,s,3),dtype=np.uint8)).save(f"{od}/n.png")
        Image.open(IM[0]).convert("RGB").resize((s,s)).save(f"{od}/g.jpg",quality=90)
        Image.open(IM[0]).convert("RGBA").resize((s,s)).save(f"{od}/g_rgba.png")
        imgs=sorted(glob.glob(f"{od}/*"))
    for p in imgs:
        pv=proc(images=Image.open(p).convert("RGB"),return_tensors="pt").pixel_values
        with torch.no_grad(): ref=m(pixel_values=pv).logits.numpy()
        out=f"{ROOT}/out/{c['name']}_{os.path.basename(p)}.npy"; os.makedirs(f"{ROOT}/out",exist_ok=True)
        r=run(["classify",p,"--model",d,"--json","--logits-out",out,"--top","3"])
        got=np.load(out); j=json.loads(r.stdout)
        e=relerr(got,ref)
        reftop=[cfg.id2label[i] for i in np.argsort(-ref[0])[:3]]
        gottop=None
        try:
            res=j["results"][0] if "results" in j else j[0]
            gottop=[x.get("label") for x in (res.get("top") or res.get("predictions"))]
        except Exception: pass
        record(f"{c['name']} {os.path.basename(p)}", e, e<1e-4 and (gottop is None or gottop==reftop), f"top {'same' if gottop==reftop else (gottop,reftop)}")
    # batch call over all images together
    out=f"{ROOT}/out/{c['name']}_batch.npy"
    run(["classify",*imgs,"--model",d,"--logits-out",out,"--batch","3"])
    ref=np.concatenate([m(pixel_values=proc(images=Image.open(p).convert("RGB"),return_tensors="pt").pixel_values).logits.detach().numpy() for p in imgs])
    e=relerr(np.load(out),ref); record(f"{c['name']} batch-all", e, e<1e-4)
