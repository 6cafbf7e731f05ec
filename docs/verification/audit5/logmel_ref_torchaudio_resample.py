import os, sys, numpy as np, torch, torchaudio
sys.path.insert(0, '.')
from logmel_ref import logmel
for f in sys.argv[1:]:
    x, sr = torchaudio.load(f)
    x = x.double().mean(0)
    if sr != 16000:
        x = torchaudio.functional.resample(x, sr, 16000)
    import subprocess
    subprocess.run(['java', '-jar', os.path.join(os.environ.get('TESSERA_ROOT', '.'), 'cli/target/tessera-cli.jar'), 'logmel', f, '--out', 'ta.npy', '--no-pad'], capture_output=True, check=True)
    got = np.load('ta.npy'); ref = logmel(x.numpy(), 80, False)
    n = min(got.shape[1], ref.shape[1])
    e = np.abs(got[:, :n] - ref[:, :n])
    print(f'{f} sr={sr}: frames ours {got.shape[1]} ref {ref.shape[1]}; maxabs {e.max():.3e}, interior (frames 3..n-3) {e[:, 3:n-3].max():.3e}, mean {e.mean():.2e}')
