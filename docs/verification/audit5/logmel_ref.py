import numpy as np, torch, torchaudio, subprocess, sys, json
torch.set_default_dtype(torch.float64)
MF = np.load('/work/shared/data/whisper/mel_filters.npz')
def decode(path):
    info = json.loads(subprocess.run(['ffprobe','-v','error','-show_streams','-of','json',path],capture_output=True,check=True).stdout)
    s = [s for s in info['streams'] if s['codec_type']=='audio'][0]
    ch = int(s['channels']); sr = int(s['sample_rate'])
    args = ['ffmpeg','-v','error','-i',path,'-f','f64le','-acodec','pcm_f64le']
    if sr != 16000: args += ['-ar','16000']
    raw = subprocess.run(args+['-'],capture_output=True,check=True).stdout
    x = np.frombuffer(raw, np.float64).reshape(-1, ch).mean(1)
    return x, ch, sr
def logmel(x, n_mels=80, pad=True, fb='whisper'):
    x = torch.tensor(x)
    if pad:
        x = torch.nn.functional.pad(x, (0, 480000 - x.shape[0])) if x.shape[0] < 480000 else x[:480000]
    win = torch.hann_window(400, dtype=torch.float64)
    st = torch.stft(x, 400, 160, window=win, center=True, pad_mode='reflect', return_complex=True)
    mag = st[..., :-1].abs()**2
    if fb == 'whisper':
        F = torch.tensor(MF[f'mel_{n_mels}']).double()
    else:
        F = torchaudio.functional.melscale_fbanks(201, 0., 8000., n_mels, 16000, norm='slaney', mel_scale='slaney').double().T
    mel = F @ mag
    l = torch.clamp(mel, min=1e-10).log10()
    l = torch.maximum(l, l.max() - 8.0)
    return ((l + 4.0) / 4.0).numpy()
if __name__ == '__main__':
    path, out, n_mels, pad = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == 'pad'
    x, ch, sr = decode(path)
    got = np.load(out)
    try:
        ref = logmel(x, n_mels, pad)
        ref2 = logmel(x, n_mels, pad, fb='ta')
    except Exception as e:
        print(f'{path}: ref failed ({str(e)[:80]}); got {got.shape} {got.dtype}'); sys.exit()
    if got.shape != ref.shape:
        print(f'{path} n={len(x)} ch={ch} sr={sr}: SHAPE got {got.shape} ref {ref.shape}'); sys.exit()
    e = np.abs(got - ref).max(); e2 = np.abs(got - ref2).max()
    print(f'{path} n={len(x)} ch={ch} sr={sr} mels={n_mels} pad={pad}: shape {got.shape} {got.dtype} maxabs(whisper fb)={e:.2e} maxabs(torchaudio fb)={e2:.2e} {"OK" if max(e,e2)<=1e-4 else "FAIL"}')
