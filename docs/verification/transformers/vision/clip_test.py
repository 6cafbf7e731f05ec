import torch, numpy as np, os, json, glob
from PIL import Image
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers, Regex
from transformers import CLIPConfig, CLIPModel, CLIPImageProcessor, CLIPTokenizer, AutoTokenizer
from common import *
torch.manual_seed(0)
IM=sorted(glob.glob(f"{ROOT}/imgs/*"))
CORPUS=["a photo of a cat","a photo of a dog","the quick brown fox jumps over the lazy dog",
 "Hello, world! It's 3 o'clock.","café naïve résumé","diagram of a neural network","a red circle and a green square",
 "an image of noise","portrait of a woman in uniform","scatter plot with many points"]*20
def train_bpe(vs):
    t=Tokenizer(models.BPE(end_of_word_suffix="</w>",continuing_subword_prefix=""))
    t.normalizer=normalizers.Sequence([normalizers.NFC(),normalizers.Replace(Regex(r"\s+")," "),normalizers.Lowercase()])
    t.pre_tokenizer=pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""),behavior="removed",invert=True),pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tr=trainers.BpeTrainer(vocab_size=vs,initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),end_of_word_suffix="</w>",show_progress=False)
    t.train_from_iterator(CORPUS,tr)
    j=json.loads(t.to_str()); vocab=j["model"]["vocab"]; merges=j["model"]["merges"]
    merges=[tuple(m) if isinstance(m,list) else tuple(m.split(" ")) for m in merges]
    return vocab, merges
def make_tok(d, layout, maxlen):
    vocab,merges=train_bpe(400)
    # ensure every byte char and its </w> variant exists (as CLIP does)
    base=list(pre_tokenizers.ByteLevel.alphabet())
    for b in sorted(base):
        for s in (b,b+"</w>"):
            if s not in vocab: vocab[s]=len(vocab)
    toks=sorted(vocab,key=vocab.get); n=len(toks)
    if layout=="clip49408":   # bos 49406, eos 49407 as in OpenAI CLIP
        pad=[f"<unused{i}>" for i in range(49406-n)]
        toks=toks+pad+["<|startoftext|>","<|endoftext|>"]
    elif layout=="end":       # bos=n, eos=n+1 (eos is max id)
        toks=toks+["<|startoftext|>","<|endoftext|>"]
    elif layout=="front":     # bos=0 eos=1
        toks=["<|startoftext|>","<|endoftext|>"]+toks
    vocab={t:i for i,t in enumerate(toks)}
    tok=CLIPTokenizer(vocab=vocab,merges=merges,model_max_length=maxlen)
    tok.save_pretrained(d)
    return AutoTokenizer.from_pretrained(d), len(vocab)
CASES=[
 dict(name="clip_a_std", layout="clip49408", eos="49407", maxpos=77,
      text=dict(hidden_size=32,intermediate_size=64,num_attention_heads=2,num_hidden_layers=2,hidden_act="quick_gelu"),
      vis=dict(hidden_size=48,intermediate_size=96,num_attention_heads=4,num_hidden_layers=2,image_size=32,patch_size=8,hidden_act="quick_gelu"),
      proj=24, proc=dict(size={"shortest_edge":32},crop_size={"height":32,"width":32},resample=3)),
 dict(name="clip_b_eos_end", layout="end", eos="match", maxpos=20,
      text=dict(hidden_size=64,intermediate_size=128,num_attention_heads=4,num_hidden_layers=3,hidden_act="gelu"),
      vis=dict(hidden_size=32,intermediate_size=80,num_attention_heads=2,num_hidden_layers=1,image_size=48,patch_size=16,hidden_act="gelu"),
      proj=16, proc=dict(size={"shortest_edge":60},crop_size={"height":48,"width":48},resample=2,image_mean=[0.5,0.5,0.5],image_std=[0.25,0.25,0.25])),
 dict(name="clip_c_eos_absent", layout="front", eos="absent", maxpos=77,
      text=dict(hidden_size=40,intermediate_size=72,num_attention_heads=2,num_hidden_layers=1,hidden_act="quick_gelu"),
      vis=dict(hidden_size=64,intermediate_size=128,num_attention_heads=8,num_hidden_layers=3,image_size=56,patch_size=7,hidden_act="quick_gelu"),
      proj=40, proc=dict(size={"shortest_edge":56},crop_size={"height":56,"width":56},resample=3)),
]
TEXTS=["a photo of a cat","a photo of a dog","Hello, world! It's 3 o'clock.","café  naïve\tRÉSUMÉ","x",
       "the quick brown fox jumps over the lazy dog while a photo of a cat portrait of a woman in uniform is shown"]
for c in CASES:
    d=f"{ROOT}/models/{c['name']}"; os.makedirs(d,exist_ok=True)
    tok,V=make_tok(d,c["layout"],c["maxpos"])
    tc=dict(c["text"],vocab_size=V,max_position_embeddings=c["maxpos"],bos_token_id=tok.bos_token_id,pad_token_id=tok.pad_token_id)
    if c["eos"]=="match": tc["eos_token_id"]=tok.eos_token_id
    cfg=CLIPConfig(text_config=tc,vision_config=c["vis"],projection_dim=c["proj"])
    m=CLIPModel(cfg).eval(); m.save_pretrained(d)
    if c["eos"]=="absent":
        j=json.load(open(f"{d}/config.json")); j["text_config"].pop("eos_token_id",None); j.pop("eos_token_id",None)
        json.dump(j,open(f"{d}/config.json","w"),indent=2)
    CLIPImageProcessor(**c["proc"]).save_pretrained(d)
    proc=CLIPImageProcessor.from_pretrained(d); m=CLIPModel.from_pretrained(d).eval(); tok=AutoTokenizer.from_pretrained(d)
    print(c["name"],"tok eos",tok.eos_token_id,"cfg eos",m.config.text_config.eos_token_id,type(tok).__name__,flush=True)
    # image features
    with torch.no_grad():
        pv=torch.cat([proc(images=Image.open(p).convert("RGB"),return_tensors="pt").pixel_values for p in IM])
        ref=m.get_image_features(pixel_values=pv).pooler_output.numpy()
    out=f"{ROOT}/out/{c['name']}_img.npy"; run(["embed","--model",d,"--image",*IM,"--out",out])
    got=np.load(out); e=relerr(got,ref)
    nrm=lambda x:x/np.linalg.norm(x,axis=-1,keepdims=True)
    en=relerr(nrm(got),nrm(ref))
    record(f"{c['name']} image features", e, e<1e-4, f"(after L2 norm {en:.1e}) shape {got.shape} vs {ref.shape}")
    # text features
    with torch.no_grad():
        enc=tok(TEXTS,padding=True,truncation=True,return_tensors="pt")
        ref=m.get_text_features(**enc).pooler_output.numpy()
    out=f"{ROOT}/out/{c['name']}_txt.npy"; run(["embed","--model",d,"--text",*TEXTS,"--out",out])
    got=np.load(out); e=relerr(got,ref); en=relerr(nrm(got),nrm(ref))
    rows=[relerr(got[i:i+1],ref[i:i+1]) for i in range(len(TEXTS))]
    record(f"{c['name']} text features", e, e<1e-4, f"(after L2 norm {en:.1e}) per-row {['%.0e'%x for x in rows]}")
    # zero-shot
    labels=["a cat","a dog","a diagram"]
    with torch.no_grad():
        enc=tok(labels,padding=True,return_tensors="pt")
        lp=m(input_ids=enc.input_ids,attention_mask=enc.attention_mask,pixel_values=pv).logits_per_image.softmax(-1).numpy()
    r=run(["clip",*IM,"--model",d,"--labels",",".join(labels),"--json"]); j=json.loads(r.stdout)
    got=[]
    for res in j:
        dd=res["probs"]; got.append([dd[l] for l in labels])
    got=np.array(got); e=float(np.max(np.abs(got-lp))/np.max(lp))
    record(f"{c['name']} zero-shot softmax", e, e<1e-4, f"argmax same={np.array_equal(got.argmax(1),lp.argmax(1))}")
