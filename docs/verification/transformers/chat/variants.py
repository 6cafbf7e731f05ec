"""Extra variants: eos ids that occur mid-generation; dynamic rope with a context that fits; LLaVA with renamed
weights but only transformers-5's processor_config.json (no preprocessor_config.json)."""
import json, os, shutil
R = "/tmp/tessera-hf/chat/ckpt"
def cp(a, b):
    shutil.rmtree(os.path.join(R, b), ignore_errors=True); shutil.copytree(os.path.join(R, a), os.path.join(R, b))
def eos(name, ids):
    p = os.path.join(R, name, "generation_config.json"); g = json.load(open(p)); g["eos_token_id"] = ids
    json.dump(g, open(p, "w"), indent=2)
cp("llama_mqa_linear_bias", "llama_mqa_linear_bias__eos"); eos("llama_mqa_linear_bias__eos", [1, 259, 116])
cp("qwen2", "qwen2__eos"); eos("qwen2__eos", [2, 286])
cp("llama_llama3rope_mlpbias_wl", "llama_llama3rope_mlpbias_wl__eos"); eos("llama_llama3rope_mlpbias_wl__eos", [1, 40])
cp("llama_reppen", "llama_reppen__eos"); eos("llama_reppen__eos", [1, 298])
cp("llama_dynamic", "llama_dynamic__ctx128")
p = os.path.join(R, "llama_dynamic__ctx128", "config.json"); c = json.load(open(p)); c["max_position_embeddings"] = 128
json.dump(c, open(p, "w"), indent=2)
cp("llava_list_pad__legacy", "llava_list_pad__v5proc"); os.remove(os.path.join(R, "llava_list_pad__v5proc", "preprocessor_config.json"))
print("variants done")
