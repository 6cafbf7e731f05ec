import torch, numpy as np, os, json, shutil, warnings
warnings.filterwarnings("ignore")
from tokenizers import BertWordPieceTokenizer
from transformers import BertConfig, BertModel, BertTokenizerFast
from sentence_transformers import SentenceTransformer, models
from common import *
torch.manual_seed(0)
CORPUS=["The quick brown fox jumps over the lazy dog.","A man is eating food.","A man is riding a horse.",
 "Sentence embeddings map text to vectors.","Café au lait, naïve résumé — unicode test!","Numbers 12345 and symbols #@$%",
 "transformers and sentence-transformers are python libraries"]*30
def make_bert(d, cfgkw, lower=True, maxlen=512, vs=300):
    os.makedirs(d,exist_ok=True)
    t=BertWordPieceTokenizer(lowercase=lower,strip_accents=None if lower else False,clean_text=True,handle_chinese_chars=True)
    t.train_from_iterator(CORPUS,vocab_size=vs,min_frequency=1,show_progress=False,special_tokens=["[PAD]","[UNK]","[CLS]","[SEP]","[MASK]"])
    t.save(f"{d}/tokenizer.json")
    tok=BertTokenizerFast(tokenizer_file=f"{d}/tokenizer.json",do_lower_case=lower,model_max_length=maxlen)
    tok.save_pretrained(d)
    cfg=BertConfig(vocab_size=tok.vocab_size,**cfgkw); m=BertModel(cfg,add_pooling_layer=True).eval()
    m.save_pretrained(d); return tok
TEXTS=["A man is eating food.","A man is riding a horse.","the quick brown fox",
 "Sentence embeddings map text to vectors, and this sentence is deliberately much longer than sixteen word pieces so it must be truncated.",
 "Café au lait, naïve résumé — unicode test! UNKNOWNWORD zzzz","x"]
CASES=[
 dict(name="st_a", bert=dict(hidden_size=32,num_attention_heads=2,num_hidden_layers=2,intermediate_size=64,max_position_embeddings=64),
      pools=[("mean",True),("cls",False),("max",False),("lasttoken",True)], msl=16),
 dict(name="st_b", bert=dict(hidden_size=48,num_attention_heads=4,num_hidden_layers=1,intermediate_size=96,hidden_act="gelu_new",max_position_embeddings=40,layer_norm_eps=1e-7,type_vocab_size=1),
      pools=[("weightedmean",False),("mean_sqrt_len_tokens",True),(("cls","mean"),False)], msl=16, lower=False),
 dict(name="st_c", bert=dict(hidden_size=64,num_attention_heads=8,num_hidden_layers=3,intermediate_size=100,max_position_embeddings=128),
      pools=[("mean",False),(("cls","mean"),True),(("mean","cls"),False),("max",True)], msl=24),
]
def compare(name, d, texts=TEXTS):
    st=SentenceTransformer(d,device="cpu")
    ref=st.encode(texts,convert_to_numpy=True,batch_size=4)
    out=f"{ROOT}/out/{name}.npy"
    try: run(["embed","--model",d,"--text",*texts,"--out",out])
    except RuntimeError as ex:
        record(name+" embed",float("nan"),False,"tessera error: "+str(ex).strip().splitlines()[-1]); return st
    got=np.load(out)
    if got.shape!=ref.shape:
        record(name+" embed",float("nan"),False,f"shape {got.shape} vs {ref.shape}"); return st
    rows=[relerr(got[i:i+1],ref[i:i+1]) for i in range(len(texts))]
    e=max(rows); record(name+" embed",e,e<1e-4,f"msl={st.max_seq_length} per-row {['%.0e'%x for x in rows]}")
    try: r=run(["similarity","--model",d,"--json",*texts]); j=json.loads(r.stdout)
    except RuntimeError as ex:
        record(name+" similarity",float("nan"),False,"tessera error: "+str(ex).strip().splitlines()[-1]); return st
    cos=np.array(j["cosine"]); rn=ref/np.linalg.norm(ref,axis=1,keepdims=True); rc=rn@rn.T
    e=float(np.max(np.abs(cos-rc))); record(name+" similarity",e,e<1e-4,"(max abs diff of cosine)")
    return st
for c in CASES:
    bd=f"{ROOT}/models/{c['name']}_bert"; tok=make_bert(bd,c["bert"],lower=c.get("lower",True))
    H=c["bert"]["hidden_size"]
    for mode,norm in c["pools"]:
        tag=(mode if isinstance(mode,str) else "+".join(mode))+("_norm" if norm else "")
        tr=models.Transformer(bd,max_seq_length=c["msl"]); pool=models.Pooling(H,pooling_mode=mode)
        mods=[tr,pool]+([models.Normalize()] if norm else [])
        st=SentenceTransformer(modules=mods,device="cpu"); out=f"{ROOT}/models/{c['name']}_{tag}"
        shutil.rmtree(out,ignore_errors=True); st.save(out)
        compare(f"{c['name']}_{tag}",out)
# legacy-style pooling config (pre-v6 keys) on an st_a model
src=f"{ROOT}/models/st_a_cls"; leg=f"{ROOT}/models/st_a_legacy_cfg"; shutil.rmtree(leg,ignore_errors=True); shutil.copytree(src,leg)
pc=[p for p in os.listdir(leg) if p.endswith("Pooling")][0]
json.dump({"word_embedding_dimension":32,"pooling_mode_cls_token":False,"pooling_mode_mean_tokens":False,"pooling_mode_max_tokens":True,
 "pooling_mode_mean_sqrt_len_tokens":False,"pooling_mode_weightedmean_tokens":False,"pooling_mode_lasttoken":False,"include_prompt":True},open(f"{leg}/{pc}/config.json","w"),indent=2)
compare("st_a_legacy_cfg(max)",leg)
# legacy boolean keys with several modes (v2-v5 format): ST concatenates in fixed order cls,max,mean,...
for nm,flags in [("cls+mean",dict(pooling_mode_cls_token=True,pooling_mode_mean_tokens=True)),("max+mean+lasttoken",dict(pooling_mode_max_tokens=True,pooling_mode_mean_tokens=True,pooling_mode_lasttoken=True))]:
    leg=f"{ROOT}/models/st_a_legacy_{nm}"; shutil.rmtree(leg,ignore_errors=True); shutil.copytree(src,leg)
    base={"word_embedding_dimension":32,"pooling_mode_cls_token":False,"pooling_mode_mean_tokens":False,"pooling_mode_max_tokens":False,
      "pooling_mode_mean_sqrt_len_tokens":False,"pooling_mode_weightedmean_tokens":False,"pooling_mode_lasttoken":False,"include_prompt":True}
    base.update(flags); json.dump(base,open(f"{leg}/{pc}/config.json","w"),indent=2)
    compare(f"st_a_legacy_cfg({nm})",leg)
# plain HF folder without modules.json
pd=f"{ROOT}/models/plain_bert"; shutil.rmtree(pd,ignore_errors=True)
make_bert(pd,dict(hidden_size=40,num_attention_heads=4,num_hidden_layers=2,intermediate_size=80,max_position_embeddings=64),maxlen=20)
compare("plain_bert(model_max_length=20)",pd)
pd2=f"{ROOT}/models/plain_bert_nomax"; shutil.rmtree(pd2,ignore_errors=True)
make_bert(pd2,dict(hidden_size=40,num_attention_heads=4,num_hidden_layers=2,intermediate_size=80,max_position_embeddings=512),maxlen=512)
compare("plain_bert(model_max_length=512)",pd2)
