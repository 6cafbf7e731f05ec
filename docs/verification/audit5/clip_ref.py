import json, struct, sys, os, re, numpy as np, torch, torch.nn.functional as F
sys.argv_saved = sys.argv
src = open(os.path.join(os.environ.get('TESSERA_ROOT', '.'), 'models/src/test/resources/vision/make_fixtures.py')).read()
g = {}; exec(src[:src.index("make_vit('vit-a'")], g)
from vit_ref import preprocess, expand
def load_st(path):
    b = open(path, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n]); out = {}
    for k, v in h.items():
        s, e = v['data_offsets']; out[k] = torch.tensor(np.frombuffer(b[8 + n + s:8 + n + e], '<f4').reshape(v['shape']).copy()).double()
    return out
def words(t):
    vocab = json.load(open(mdir + '/tokenizer.json'))['model']['vocab']
    ids = [vocab.get(w, 0) for w in re.findall(r'\w+|[^\w\s]+', t.lower())]
    ctx = cfg['text_config']['max_position_embeddings']
    return [97] + ids[:ctx - 2] + [98]
def image_embeds(px):
    v = cfg['vision_config']; dv, pv = v['hidden_size'], v['patch_size']; eps = v.get('layer_norm_eps', 1e-5)
    x = F.conv2d(px, p['vision_model.embeddings.patch_embedding.weight'], stride=pv).flatten(2).transpose(1, 2)
    x = torch.cat([p['vision_model.embeddings.class_embedding'].expand(px.shape[0], 1, dv), x], 1) + p['vision_model.embeddings.position_embedding.weight']
    x = F.layer_norm(x, (dv,), p['vision_model.pre_layrnorm.weight'], p['vision_model.pre_layrnorm.bias'], eps)
    for i in range(v['num_hidden_layers']):
        x = g['layer'](x, p, 'vision_model.encoder.layers.%d.' % i, v['num_attention_heads'], v['hidden_act'], eps, False)
    pooled = F.layer_norm(x[:, 0], (dv,), p['vision_model.post_layernorm.weight'], p['vision_model.post_layernorm.bias'], eps)
    return F.linear(pooled, p['visual_projection.weight'])
def text_embeds(texts):
    t = cfg['text_config']; dt = t['hidden_size']; eps = t.get('layer_norm_eps', 1e-5); out = []
    for s in texts:
        ids = words(s); n = len(ids)
        h = p['text_model.embeddings.token_embedding.weight'][torch.tensor([ids])] + p['text_model.embeddings.position_embedding.weight'][:n]
        for i in range(t['num_hidden_layers']):
            h = g['layer'](h, p, 'text_model.encoder.layers.%d.' % i, t['num_attention_heads'], t['hidden_act'], eps, True)
        h = F.layer_norm(h, (dt,), p['text_model.final_layer_norm.weight'], p['text_model.final_layer_norm.bias'], eps)
        pos = int(np.argmax(ids)) if t.get('eos_token_id', 2) == 2 else ids.index(t['eos_token_id'])
        out.append(F.linear(h[0, pos], p['text_projection.weight']))
    return torch.stack(out)
def rel(a, b): return float(np.linalg.norm(a - b) / np.linalg.norm(b))
if __name__ == '__main__':
    mode, mdir, got_f = sys.argv[1:4]; rest = sys.argv[4:]
    cfg = json.load(open(mdir + '/config.json')); p = load_st(mdir + '/model.safetensors')
    pcf = mdir + '/preprocessor_config.json'; pc = json.load(open(pcf)) if os.path.exists(pcf) else {}
    def pixels(args):
        if len(args) == 1 and args[0].endswith('.npy'): return torch.tensor(np.load(args[0])).double()
        return torch.tensor(np.stack([preprocess(f, pc, cfg['vision_config']['image_size'], clip=True) for f in expand(args)])).double()
    with torch.no_grad():
        if mode == 'image':
            ref = image_embeds(pixels(rest)).numpy(); got = np.load(got_f)
        elif mode == 'text':
            ref = text_embeds(rest).numpy(); got = np.load(got_f)
        else:  # zeroshot: rest = labels-string then images; got_f = json output
            labels = [l.strip() for l in rest[0].split(',') if l.strip()]
            im = image_embeds(pixels(rest[1:])); tx = text_embeds(labels)
            ni, nt = im / im.norm(dim=-1, keepdim=True), tx / tx.norm(dim=-1, keepdim=True)
            ref = (p['logit_scale'].exp() * ni @ nt.T).softmax(-1).numpy()
            d = json.load(open(got_f)); got = np.array([[x['probs'][l] for l in labels] for x in d])
            print('best labels ok:', [x['label'] for x in d] == [labels[i] for i in ref.argmax(1)])
    print(f'{mode} {mdir}: shape {got.shape} vs {ref.shape}; rel {rel(got, ref):.2e}; maxabs {np.abs(got-ref).max():.2e}', 'OK' if got.shape == ref.shape and rel(got, ref) <= 1e-4 else 'FAIL')
