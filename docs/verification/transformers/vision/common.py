import json, subprocess, numpy as np, os, sys
TESSERA=os.environ.get('TESSERA', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../../tessera'))
ROOT="/tmp/tessera-hf/vision"
def run(args, check=True):
    r=subprocess.run([TESSERA]+args,capture_output=True,text=True)
    if check and r.returncode!=0:
        raise RuntimeError(f"tessera {' '.join(args)} rc={r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    return r
def relerr(a,b):
    a=np.asarray(a,np.float64); b=np.asarray(b,np.float64)
    return float(np.max(np.linalg.norm(a-b,axis=-1)/np.maximum(np.linalg.norm(b,axis=-1),1e-30)))
RESULTS=[]
def record(case, err, ok, note=""):
    RESULTS.append((case,err,ok,note))
    print(f"{'OK ' if ok else 'BAD'} {case:55s} relerr={err:.3e} {note}",flush=True)
