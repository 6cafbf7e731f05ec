"""Build small random-weight checkpoints under /tmp/tessera-hf/chat/ckpt/<case>."""
import json, os, sys, shutil
import torch
from tokenizers import Tokenizer, models, trainers, pre_tokenizers, decoders, processors
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, MistralConfig,
                          MistralForCausalLM, LlavaConfig, LlavaForConditionalGeneration, CLIPVisionConfig,
                          PreTrainedTokenizerFast, GenerationConfig, LlavaProcessor)
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
from transformers.models.llava.image_processing_pil_llava import LlavaImageProcessorPil

ROOT = "/tmp/tessera-hf/chat/ckpt"
CORPUS = ("the quick brown fox jumps over the lazy dog . a small model reads a long story about cats and dogs . "
          "hello world , how are you today ? i am fine thank you . tell me a story about the sea and the sky . "
          "describe the image in detail . what is in this picture ? the cat sat on the mat near the red door . "
          "numbers one two three four five six seven eight nine ten . you are a helpful assistant . ") * 20

LLAMA2_TMPL = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}<<SYS>> {{ m['content'] }} <</SYS>> "
               "{% elif m['role'] == 'user' %}[INST] {{ m['content'] | trim }} [/INST]"
               "{% else %} {{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}")
CHATML_TMPL = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
               "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
               "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
               "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
LLAVA_TMPL = ("{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}"
              "{% endif %}{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
              "{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}"
              "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}"
              "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
              "{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}"
              "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")


def bpe_tok(vocab, specials, add_bos=True, extra_added=()):
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    t.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=vocab, special_tokens=list(specials),
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    t.train_from_iterator([CORPUS], tr)
    for a in extra_added:
        t.add_special_tokens([a])
    if add_bos:
        bos = specials[0]
        t.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                         special_tokens=[(bos, t.token_to_id(bos))])
    return t


def wordlevel_tok(specials, add_bos=True):
    words = sorted(set(CORPUS.split()))
    vocab = {s: i for i, s in enumerate(specials)}
    for w in words:
        vocab[w] = len(vocab)
    t = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    t.decoder = decoders.WordPiece(prefix="##")  # joins with spaces
    if add_bos:
        t.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", vocab["<s>"])])
    return t


def save_tok(t, d, bos, eos, tmpl, unk="<unk>", extra=None):
    ft = PreTrainedTokenizerFast(tokenizer_object=t, bos_token=bos, eos_token=eos, unk_token=unk)
    ft.chat_template = tmpl
    for k, v in (extra or {}).items():
        setattr(ft, k, v)
    ft.save_pretrained(d)
    return ft


def init_weights(model, std, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "norm" in n and n.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif n.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(std * torch.randn(p.shape, generator=g))


def gen_cfg(d, bos, eos_ids, **kw):
    GenerationConfig(bos_token_id=bos, eos_token_id=eos_ids, do_sample=False, **kw).save_pretrained(d)


def text_case(name, cls, cfg, tok, tmpl, std=0.2, seed=0, eos_extra=(), bos="<s>", eos="</s>", gkw=None):
    d = os.path.join(ROOT, name)
    shutil.rmtree(d, ignore_errors=True)
    torch.manual_seed(seed)
    m = cls(cfg)
    init_weights(m, std, seed)
    m.save_pretrained(d, safe_serialization=True)
    save_tok(tok, d, bos, eos, tmpl)
    eos_ids = [tok.token_to_id(eos)] + list(eos_extra)
    gen_cfg(d, tok.token_to_id(bos) if bos else None, eos_ids, **(gkw or {}))
    print("built", name, "vocab", cfg.vocab_size, "tok", tok.get_vocab_size())


def build_text():
    sp = ["<s>", "</s>", "<unk>"]
    t301 = bpe_tok(301, sp)
    assert t301.get_vocab_size() == 301, t301.get_vocab_size()
    # 1 GQA, head_dim explicit, tied, vocab 301
    text_case("llama_gqa_tied", LlamaForCausalLM, LlamaConfig(
        vocab_size=301, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=24, tie_word_embeddings=True, rope_theta=10000.0, max_position_embeddings=256,
        rms_norm_eps=1e-5, bos_token_id=0, eos_token_id=1), t301, LLAMA2_TMPL, std=0.25, seed=1)
    # 2 MQA untied, theta 500000, linear scaling, attention_bias; eos extras that occur
    text_case("llama_mqa_linear_bias", LlamaForCausalLM, LlamaConfig(
        vocab_size=301, hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=1, tie_word_embeddings=False, max_position_embeddings=256, attention_bias=True,
        rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 500000.0},
        bos_token_id=0, eos_token_id=1), t301, LLAMA2_TMPL, std=0.2, seed=2, eos_extra=[int(os.environ.get("EOS2", 150))])
    # 3 llama3 rope scaling + mlp_bias, WordLevel tokenizer
    tw = wordlevel_tok(sp)
    text_case("llama_llama3rope_mlpbias_wl", LlamaForCausalLM, LlamaConfig(
        vocab_size=tw.get_vocab_size(), hidden_size=48, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, tie_word_embeddings=False, mlp_bias=True, max_position_embeddings=512,
        rope_parameters={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 64, "rope_theta": 50000.0},
        bos_token_id=0, eos_token_id=1), tw, LLAMA2_TMPL, std=0.3, seed=3)
    # 4 dynamic NTK, max_position_embeddings smaller than the context
    text_case("llama_dynamic", LlamaForCausalLM, LlamaConfig(
        vocab_size=301, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, tie_word_embeddings=False, max_position_embeddings=16,
        rope_parameters={"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0},
        bos_token_id=0, eos_token_id=1), t301, LLAMA2_TMPL, std=0.25, seed=4)
    # 5 repetition_penalty 1.2 in generation_config
    text_case("llama_reppen", LlamaForCausalLM, LlamaConfig(
        vocab_size=301, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, tie_word_embeddings=True, max_position_embeddings=256, bos_token_id=0, eos_token_id=1),
        t301, LLAMA2_TMPL, std=0.25, seed=5, gkw={"repetition_penalty": 1.2})
    # 6 Qwen2 (qkv bias), chatml, no BOS
    spq = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tq = bpe_tok(300, spq, add_bos=False)
    d = os.path.join(ROOT, "qwen2")
    text_case("qwen2", Qwen2ForCausalLM, Qwen2Config(
        vocab_size=320, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, tie_word_embeddings=True, max_position_embeddings=256, rope_theta=1000000.0,
        bos_token_id=0, eos_token_id=2), tq, CHATML_TMPL, std=0.25, seed=6, bos=None, eos="<|im_end|>",
        eos_extra=[0])
    # 7 Mistral sliding window 4096
    text_case("mistral_sw", MistralForCausalLM, MistralConfig(
        vocab_size=301, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, tie_word_embeddings=False, max_position_embeddings=4096, sliding_window=4096,
        rope_theta=10000.0, bos_token_id=0, eos_token_id=1), t301, LLAMA2_TMPL, std=0.25, seed=7)


def llava_case(name, vis, text_vocab, proc_kind, layer, strategy, act, img_tok_in_vocab, seed, std=0.2):
    d = os.path.join(ROOT, name)
    shutil.rmtree(d, ignore_errors=True)
    sp = ["<s>", "</s>", "<unk>"]
    if img_tok_in_vocab:
        t = bpe_tok(300, sp, extra_added=["<image>"])  # <image> = 300, text vocab 320 (padded)
    else:
        t = bpe_tok(300, sp, extra_added=["<image>"])  # <image> = 300 == text vocab size (outside)
    img_id = t.token_to_id("<image>")
    tc = LlamaConfig(vocab_size=text_vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                     tie_word_embeddings=False, bos_token_id=0, eos_token_id=1)
    vc = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2,
                          image_size=vis[0], patch_size=vis[1], projection_dim=32, hidden_act="quick_gelu")
    cfg = LlavaConfig(vision_config=vc, text_config=tc, image_token_index=img_id, projector_hidden_act=act,
                      vision_feature_layer=layer, vision_feature_select_strategy=strategy)
    torch.manual_seed(seed)
    m = LlavaForConditionalGeneration(cfg)
    init_weights(m, std, seed)
    m.save_pretrained(d, safe_serialization=True)
    ft = save_tok(t, d, "<s>", "</s>", LLAVA_TMPL)
    S = vis[0]
    if proc_kind == "clip":
        ip = CLIPImageProcessorPil(size={"shortest_edge": S}, crop_size={"height": S, "width": S}, do_center_crop=True,
                                   image_mean=[0.48145466, 0.4578275, 0.40821073],
                                   image_std=[0.26862954, 0.26130258, 0.27577711], do_convert_rgb=True)
    else:
        ip = LlavaImageProcessorPil(size={"shortest_edge": S}, crop_size={"height": S, "width": S}, do_center_crop=True,
                                    do_pad=True, image_mean=[0.48145466, 0.4578275, 0.40821073],
                                    image_std=[0.26862954, 0.26130258, 0.27577711])
    proc = LlavaProcessor(image_processor=ip, tokenizer=ft, patch_size=vis[1], num_additional_image_tokens=1,
                          vision_feature_select_strategy=strategy, chat_template=LLAVA_TMPL, image_token="<image>")
    proc.save_pretrained(d)
    gen_cfg(d, 0, [1])
    print("built", name, "img_id", img_id, "text vocab", text_vocab)


def build_llava():
    llava_case("llava_clip_l-2_default", (32, 8), 320, "clip", -2, "default", "gelu", True, 11)
    llava_case("llava_clip_l-1_full_gelunew", (28, 14), 320, "clip", -1, "full", "gelu_new", True, 12)
    llava_case("llava_list_pad", (30, 10), 320, "llava", [-3, -1], "default", "gelu", True, 13)
    llava_case("llava_imgtok_outside", (32, 16), 300, "clip", -2, "default", "gelu", False, 14)


if __name__ == "__main__":
    os.makedirs(ROOT, exist_ok=True)
    which = sys.argv[1:] or ["text", "llava"]
    if "text" in which:
        build_text()
    if "llava" in which:
        build_llava()
    # images
    from PIL import Image
    import numpy as np
    rng = np.random.default_rng(0)
    for nm, (w, h) in {"img_a.png": (57, 41), "img_b.png": (40, 70)}.items():
        yy, xx = np.mgrid[0:h, 0:w]
        arr = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) * 7 % 256)], -1).astype(np.uint8)
        arr = np.clip(arr.astype(int) + rng.integers(-30, 30, arr.shape), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(os.path.join("/tmp/tessera-hf/chat", nm))
