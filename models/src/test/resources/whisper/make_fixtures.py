#!/usr/bin/python3
"""Random-weight Whisper fixtures for WhisperParityTest.

Run from this folder with Debian's torch 1.13:   /usr/bin/python3 make_fixtures.py
The reference below is a PyTorch implementation of Whisper written from the published architecture
(Radford et al. 2022, and the Hugging Face parameter layout), NOT Hugging Face transformers (not installed
here). It computes in float64. make_fixtures_hf.py makes the same kind of fixtures with transformers on a
GPU host. Vocabulary: a small synthetic one with Whisper's special-token layout:
  0..299 text, 300 <|endoftext|>, 301 <|startoftranscript|>, 302 <|en|>, 303 <|de|>, 304 <|translate|>,
  305 <|transcribe|>, 306 <|startoflm|>, 307 <|startofprev|>, 308 <|nospeech|>, 309 <|notimestamps|>,
  310.. timestamps <|0.00|> .. <|T|> in 0.02 s steps (T = max_source_positions * 0.02). The logit rules are
  openai-whisper's: suppress_tokens plus its control tokens (<|startoftranscript|>, the tasks, <|startoflm|>,
  <|startofprev|>, <|nospeech|>); language tokens may be sampled; without timestamps no timestamp rule.
"""
import json, math, os, struct
import numpy as np
import torch
import torch.nn.functional as F

EOT, SOT, EN, DE, TRANSLATE, TRANSCRIBE, SOLM, SOPREV, NOSPEECH, NOTS, TS0 = range(300, 311)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().numpy().astype(np.float32))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def sinusoids(length, channels):
    inc = math.log(10000) / (channels // 2 - 1)
    inv = torch.exp(-inc * torch.arange(channels // 2, dtype=torch.float64))
    t = torch.arange(length, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1)


def make_weights(c, g):
    d, W = c["d_model"], {}
    def r(*shape, s=None):
        s = s if s is not None else 1.0 / math.sqrt(shape[-1])
        return torch.randn(*shape, generator=g, dtype=torch.float64) * s
    def ln(p):
        W[p + ".weight"] = 1 + 0.1 * torch.randn(d, generator=g, dtype=torch.float64)
        W[p + ".bias"] = 0.1 * torch.randn(d, generator=g, dtype=torch.float64)
    def attn(p, kbias=False):
        for n in ["q_proj", "k_proj", "v_proj", "out_proj"]:
            W[f"{p}.{n}.weight"] = r(d, d)
            if n != "k_proj":
                W[f"{p}.{n}.bias"] = r(d, s=0.1)
    e = "model.encoder."
    W[e + "conv1.weight"] = r(d, c["num_mel_bins"], 3, s=1 / math.sqrt(3 * c["num_mel_bins"]))
    W[e + "conv1.bias"] = r(d, s=0.1)
    W[e + "conv2.weight"] = r(d, d, 3, s=1 / math.sqrt(3 * d))
    W[e + "conv2.bias"] = r(d, s=0.1)
    W[e + "embed_positions.weight"] = sinusoids(c["max_source_positions"], d)
    for i in range(c["encoder_layers"]):
        p = f"{e}layers.{i}."
        ln(p + "self_attn_layer_norm"); attn(p + "self_attn"); ln(p + "final_layer_norm")
        W[p + "fc1.weight"] = r(c["encoder_ffn_dim"], d); W[p + "fc1.bias"] = r(c["encoder_ffn_dim"], s=0.1)
        W[p + "fc2.weight"] = r(d, c["encoder_ffn_dim"]); W[p + "fc2.bias"] = r(d, s=0.1)
    ln(e + "layer_norm")
    dd = "model.decoder."
    W[dd + "embed_tokens.weight"] = r(c["vocab_size"], d, s=0.5)
    W[dd + "embed_positions.weight"] = r(c["max_target_positions"], d, s=1.0)
    for i in range(c["decoder_layers"]):
        p = f"{dd}layers.{i}."
        ln(p + "self_attn_layer_norm"); attn(p + "self_attn")
        ln(p + "encoder_attn_layer_norm"); attn(p + "encoder_attn"); ln(p + "final_layer_norm")
        W[p + "fc1.weight"] = r(c["decoder_ffn_dim"], d); W[p + "fc1.bias"] = r(c["decoder_ffn_dim"], s=0.1)
        W[p + "fc2.weight"] = r(d, c["decoder_ffn_dim"]); W[p + "fc2.bias"] = r(d, s=0.1)
    ln(dd + "layer_norm")
    return W


def mha(W, p, x, kv, heads, causal):
    b, s, d = x.shape
    dh = d // heads
    q = (x @ W[p + ".q_proj.weight"].T + W[p + ".q_proj.bias"]) * dh ** -0.5
    k = kv @ W[p + ".k_proj.weight"].T
    v = kv @ W[p + ".v_proj.weight"].T + W[p + ".v_proj.bias"]
    q, k, v = [t.view(b, -1, heads, dh).transpose(1, 2) for t in (q, k, v)]
    sc = q @ k.transpose(-1, -2)
    if causal:
        sq, sk = sc.shape[-2], sc.shape[-1]
        mask = torch.ones(sq, sk, dtype=torch.bool).tril(sk - sq)
        sc = sc.masked_fill(~mask, float("-inf"))
    o = (sc.softmax(-1) @ v).transpose(1, 2).reshape(b, s, d)
    return o @ W[p + ".out_proj.weight"].T + W[p + ".out_proj.bias"]


def layer_norm(W, p, x):
    return F.layer_norm(x, x.shape[-1:], W[p + ".weight"], W[p + ".bias"], 1e-5)


def encode(W, c, mel):
    e = "model.encoder."
    x = F.gelu(F.conv1d(mel, W[e + "conv1.weight"], W[e + "conv1.bias"], padding=1))
    x = F.gelu(F.conv1d(x, W[e + "conv2.weight"], W[e + "conv2.bias"], stride=2, padding=1)).transpose(1, 2)
    x = x + W[e + "embed_positions.weight"][: x.shape[1]]
    for i in range(c["encoder_layers"]):
        p = f"{e}layers.{i}."
        h = layer_norm(W, p + "self_attn_layer_norm", x)
        x = x + mha(W, p + "self_attn", h, h, c["encoder_attention_heads"], False)
        h = layer_norm(W, p + "final_layer_norm", x)
        x = x + F.gelu(h @ W[p + "fc1.weight"].T + W[p + "fc1.bias"]) @ W[p + "fc2.weight"].T + W[p + "fc2.bias"]
    return layer_norm(W, e + "layer_norm", x)


def decode(W, c, ids, enc):
    dd = "model.decoder."
    x = W[dd + "embed_tokens.weight"][ids] + W[dd + "embed_positions.weight"][: ids.shape[1]]
    for i in range(c["decoder_layers"]):
        p = f"{dd}layers.{i}."
        h = layer_norm(W, p + "self_attn_layer_norm", x)
        x = x + mha(W, p + "self_attn", h, h, c["decoder_attention_heads"], True)
        h = layer_norm(W, p + "encoder_attn_layer_norm", x)
        x = x + mha(W, p + "encoder_attn", h, enc, c["decoder_attention_heads"], False)
        h = layer_norm(W, p + "final_layer_norm", x)
        x = x + F.gelu(h @ W[p + "fc1.weight"].T + W[p + "fc1.bias"]) @ W[p + "fc2.weight"].T + W[p + "fc2.bias"]
    return layer_norm(W, dd + "layer_norm", x) @ W[dd + "embed_tokens.weight"].T


def apply_rules(logits, tokens, sample_begin, gen, timestamps):
    """Whisper's logit filters: suppress_tokens, begin suppression, and the timestamp rules."""
    logits = logits.clone()
    n = len(tokens) - sample_begin
    if n == 0:
        logits[gen["begin_suppress_tokens"]] = -math.inf
    logits[gen["suppress_tokens"]] = -math.inf
    # the control tokens openai-whisper's decoder adds to suppress_tokens (language tokens are not suppressed)
    logits[[SOT, TRANSLATE, TRANSCRIBE, SOLM, SOPREV, NOSPEECH]] = -math.inf
    if not timestamps:
        return logits                     # no timestamp rule without timestamps, as in the reference
    logits[NOTS] = -math.inf
    seq = tokens[sample_begin:]
    last_ts = len(seq) >= 1 and seq[-1] >= TS0
    penult_ts = len(seq) < 2 or seq[-2] >= TS0
    if last_ts:
        if penult_ts:
            logits[TS0:] = -math.inf      # a pair is closed: text (or EOT) next
        else:
            logits[:EOT] = -math.inf      # an opening timestamp: another timestamp or EOT
    ts = [t for t in seq if t >= TS0]
    if ts:
        floor = ts[-1] if (last_ts and not penult_ts) else ts[-1] + 1
        logits[TS0:floor] = -math.inf     # monotonic
    if n == 0:
        logits[:TS0] = -math.inf          # the first token is a timestamp...
        logits[TS0 + gen["max_initial_timestamp_index"] + 1:] = -math.inf  # ...at most 1 s in
    lp = F.log_softmax(logits, dim=-1)
    if torch.logsumexp(lp[TS0:], dim=-1) > lp[:TS0].max():
        logits[:TS0] = -math.inf
    return logits


def greedy(W, c, gen, enc, prompt, timestamps, max_new):
    tokens = list(prompt)
    begin = len(prompt)
    for _ in range(max_new):
        lg = decode(W, c, torch.tensor([tokens]), enc)[0, -1]
        lg = apply_rules(lg, tokens, begin, gen, timestamps)
        t = int(lg.argmax())
        tokens.append(t)
        if t == EOT or len(tokens) >= c["max_target_positions"]:
            break
    return tokens[begin:]


def beam_search(W, c, gen, enc, prompt, timestamps, max_new, beam):
    """Beam search with openai-whisper's semantics (BeamSearchDecoder with patience 1, MaximumLikelihoodRanker without
    a length penalty), written here from its description: each step extends every live hypothesis by its beam + 1
    most likely tokens (after the logit rules); the candidates are ranked by summed log-probability; walking down
    that ranking, a candidate ending in <|endoftext|> is finished, any other is kept live, until `beam` are live;
    the finished ones of the step join the finished list in ranking order while it holds fewer than `beam`. The
    search stops when `beam` have finished, after `max_new` steps, or when the context is full; then, if fewer than
    `beam` finished, the live ones join in order of log-probability until there are `beam`. The result is the
    finished hypothesis with the largest log-probability / length (length without <|endoftext|>), the first on a
    tie. Returns the generated tokens without <|endoftext|> and their summed log-probability."""
    begin = len(prompt)
    live = [(list(prompt), 0.0)]
    finished = {}  # generated tokens (no EOT) -> summed log-probability, in the order they finished
    for _ in range(max_new):
        cand = {}
        for toks, lp in live:
            lg = apply_rules(decode(W, c, torch.tensor([toks]), enc)[0, -1], toks, begin, gen, timestamps)
            top = torch.topk(F.log_softmax(lg, dim=-1), beam + 1)
            for v, t in zip(top.values.tolist(), top.indices.tolist()):
                cand[tuple(toks) + (t,)] = lp + v
        live, done = [], []
        for seq in sorted(cand, key=cand.get, reverse=True):
            if seq[-1] == EOT:
                done.append(seq)
            else:
                live.append((list(seq), cand[seq]))
                if len(live) == beam:
                    break
        for seq in done:
            if len(finished) >= beam:
                break
            finished[seq[begin:-1]] = cand[seq]
        if len(finished) >= beam or not live or len(live[0][0]) >= c["max_target_positions"]:
            break
    for toks, lp in sorted(live, key=lambda h: h[1], reverse=True):
        if len(finished) >= beam:
            break
        finished.setdefault(tuple(toks[begin:]), lp)
    best = max(finished, key=lambda s: finished[s] / max(1, len(s)))
    return list(best), finished[best]


def make(name, c, seed):
    os.makedirs(name, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    c = dict(c, model_type="whisper", vocab_size=TS0 + c["max_source_positions"] + 1, eos_token_id=EOT,
             decoder_start_token_id=SOT, pad_token_id=EOT)
    gen = {"suppress_tokens": [1, 2, 7, 11, 13], "begin_suppress_tokens": [0, EOT], "no_timestamps_token_id": NOTS,
           "lang_to_id": {"<|en|>": EN, "<|de|>": DE}, "task_to_id": {"translate": TRANSLATE, "transcribe": TRANSCRIBE},
           "is_multilingual": True, "max_initial_timestamp_index": 50, "decoder_start_token_id": SOT}
    W = make_weights(c, g)
    json.dump(c, open(f"{name}/config.json", "w"), indent=1)
    json.dump(gen, open(f"{name}/generation_config.json", "w"), indent=1)
    write_safetensors(f"{name}/model.safetensors", W)
    frames = 2 * c["max_source_positions"]
    mel = torch.randn(1, c["num_mel_bins"], frames, generator=g, dtype=torch.float64).clamp(-1.5, 1.5)
    mel32 = mel.float().double()
    np.save(f"{name}/features.npy", mel32.float().numpy())
    with torch.no_grad():
        enc = encode(W, c, mel32)
        np.save(f"{name}/encoder.npy", enc.float().numpy())
        prompt = [SOT, EN, TRANSCRIBE, NOTS, 17, 42, 99, 5]
        np.save(f"{name}/prompt.npy", np.array(prompt, dtype=np.int32))
        np.save(f"{name}/logits.npy", decode(W, c, torch.tensor([prompt]), enc).float().numpy())
        g1 = greedy(W, c, gen, enc, [SOT, EN, TRANSCRIBE, NOTS], False, 32)
        g2 = greedy(W, c, gen, enc, [SOT, EN, TRANSCRIBE], True, 32)
        lang = decode(W, c, torch.tensor([[SOT]]), enc)[0, -1, [EN, DE]]
        np.save(f"{name}/greedy_notimestamps.npy", np.array(g1, dtype=np.int32))
        np.save(f"{name}/greedy_timestamps.npy", np.array(g2, dtype=np.int32))
        np.save(f"{name}/language_logits.npy", lang.float().numpy())
        print(name, "greedy:", g1, "\n timestamps:", g2, "\n lang:", lang.tolist())
        # Conditioning on previous text: <|startofprev|> + the last n_ctx // 2 - 1 previous tokens before the
        # usual prompt (as openai-whisper's DecodingTask._get_initial_tokens builds it). No random numbers are drawn
        # here, so the fixtures above stay as they were.
        n_ctx = c["max_target_positions"]
        short_prev = [23, 57, 111, TS0 + 3, 250, 64, TS0 + 40]
        long_prev = [(7 * i + 3) % 290 + 5 for i in range(n_ctx // 2 + 8)]  # longer than the kept context
        def with_prev(prev, sot_seq):
            return [SOPREV] + prev[-(n_ctx // 2 - 1):] + sot_seq
        pp = with_prev(short_prev, [SOT, EN, TRANSCRIBE, NOTS]) + [17, 42, 99]
        np.save(f"{name}/prev_text_short.npy", np.array(short_prev, dtype=np.int32))
        np.save(f"{name}/prev_text_long.npy", np.array(long_prev, dtype=np.int32))
        np.save(f"{name}/prev_prompt.npy", np.array(pp, dtype=np.int32))
        np.save(f"{name}/prev_logits.npy", decode(W, c, torch.tensor([pp]), enc).float().numpy())
        g3 = greedy(W, c, gen, enc, with_prev(short_prev, [SOT, EN, TRANSCRIBE, NOTS]), False, 32)
        g4 = greedy(W, c, gen, enc, with_prev(long_prev, [SOT, EN, TRANSCRIBE]), True, 32)
        np.save(f"{name}/prev_greedy_notimestamps.npy", np.array(g3, dtype=np.int32))
        np.save(f"{name}/prev_greedy_timestamps.npy", np.array(g4, dtype=np.int32))
        # p(<|nospeech|>): softmax of the raw logits at the <|startoftranscript|> position (openai-whisper's
        # no_speech_probs), without and with the previous-text prefix.
        def no_speech(prompt):
            lg = decode(W, c, torch.tensor([prompt]), enc)[0, prompt.index(SOT)]
            return float(lg.softmax(-1)[NOSPEECH])
        ns = [no_speech([SOT, EN, TRANSCRIBE]), no_speech(with_prev(long_prev, [SOT, EN, TRANSCRIBE]))]
        np.save(f"{name}/no_speech.npy", np.array(ns, dtype=np.float32))
        print(" prev greedy:", g3, "\n prev timestamps:", g4, "\n no speech:", ns)
        # Beam search (WhisperBeamTest) on the weights rounded to float32 with <|endoftext|>'s embedding row doubled
        # (exact in float32; the output projection is tied to it), so that hypotheses finish early and finished and
        # live ones are weighed against each other. Tokens without <|endoftext|>, then the summed log-probability.
        W2 = {k: v.float().double() for k, v in W.items()}
        W2["model.decoder.embed_tokens.weight"][EOT] *= 2
        enc2 = encode(W2, c, mel32)
        for beam, ts in ((5, False), (3, True), (2, False)):
            prompt = [SOT, EN, TRANSCRIBE] + ([] if ts else [NOTS])
            toks, lp = beam_search(W2, c, gen, enc2, prompt, ts, 32, beam)
            np.save(f"{name}/beam{beam}_eot2_{'timestamps' if ts else 'notimestamps'}.npy", np.array(toks, dtype=np.int32))
            np.save(f"{name}/beam{beam}_eot2_{'timestamps' if ts else 'notimestamps'}_logprob.npy",
                    np.array([lp], dtype=np.float32))
            print(" beam", beam, "timestamps" if ts else "", toks, lp)


if __name__ == "__main__":  # qa_whisper.py (docs/verification) imports the reference above
    make("tiny-a", dict(d_model=64, encoder_layers=2, encoder_attention_heads=4, decoder_layers=2,
                        decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128, num_mel_bins=80,
                        max_source_positions=100, max_target_positions=64), 1)
    make("tiny-b", dict(d_model=96, encoder_layers=2, encoder_attention_heads=6, decoder_layers=2,
                        decoder_attention_heads=6, encoder_ffn_dim=128, decoder_ffn_dim=160, num_mel_bins=128,
                        max_source_positions=150, max_target_positions=96), 2)
