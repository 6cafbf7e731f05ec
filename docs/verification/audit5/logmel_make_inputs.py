import numpy as np, scipy.io.wavfile as wf, subprocess, os
rng = np.random.default_rng(0)
def speechlike(n, sr=16000, amp=0.3):
    t = np.arange(n)/sr
    x = amp*np.sin(2*np.pi*440*t)*np.sin(2*np.pi*3*t) + 0.05*rng.standard_normal(n)
    return x.astype(np.float32)
cases = {}
for n in [1, 150, 200, 201, 399, 400, 401, 16000, 16000*30, 16000*30+1, 16000*31, 12345]:
    x = speechlike(n)
    wf.write(f'mono16_{n}.wav', 16000, (x*32767).astype(np.int16))
# float32 WAV, int32, 8-bit unsigned
x = speechlike(24000)
wf.write('f32.wav', 16000, x)
wf.write('i32.wav', 16000, (x*2**31*0.99).astype(np.int32))
wf.write('u8.wav', 16000, ((x*127)+128).clip(0,255).astype(np.uint8))
wf.write('f64.wav', 16000, x.astype(np.float64))
# stereo
st = np.stack([speechlike(20000), speechlike(20000, amp=0.1)], 1)
wf.write('stereo.wav', 16000, (st*32767).astype(np.int16))
# silence
wf.write('silence.wav', 16000, np.zeros(16000, np.int16))
wf.write('silence_f.wav', 16000, np.zeros(5000, np.float32))
# low level (near floor)
wf.write('quiet.wav', 16000, (speechlike(16000)*1e-4).astype(np.float32))
# loud clipping float > 1
wf.write('loud.wav', 16000, (speechlike(16000)*5).astype(np.float32))
# other rates
wf.write('r44k.wav', 44100, (speechlike(44100, 44100)*32767).astype(np.int16))
wf.write('r8k.wav', 8000, (speechlike(8000, 8000)*32767).astype(np.int16))
open('empty.wav','wb').close()
open('corrupt.wav','wb').write(b'RIFF\x10\x00\x00\x00WAVEfmt garbage' + bytes(rng.integers(0,256,100, dtype=np.uint8)))
open('text.wav','w').write('hello world\n'*10)
