# pre-v6 on-disk layout: max_seq_length in sentence_bert_config.json, legacy module type names
import json, shutil, os, warnings; warnings.filterwarnings("ignore")
import st_test  # noqa: builds models (runs the main st suite first)
from common import *
from st_test import compare
src=f"{ROOT}/models/st_a_cls"
for msl,tmax in [(16,512),(12,20)]:
    d=f"{ROOT}/models/st_a_oldlayout_msl{msl}_tok{tmax}"; shutil.rmtree(d,ignore_errors=True); shutil.copytree(src,d)
    json.dump({"max_seq_length":msl,"do_lower_case":False},open(f"{d}/sentence_bert_config.json","w"))
    tc=json.load(open(f"{d}/tokenizer_config.json")); tc["model_max_length"]=tmax; json.dump(tc,open(f"{d}/tokenizer_config.json","w"))
    json.dump([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
               {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}],open(f"{d}/modules.json","w"))
    compare(f"st_a_oldlayout(msl={msl},tok_max={tmax})",d)
