#!/usr/bin/env python3
"""Coefficient tables of the AVX-512 fused GELU (gelu_vec in native/src/cpu/kernels/gemm_kernels.cpp).

0.5 * erf(u / sqrt 2) for u = |x| in [0, U] is cut into NI equal intervals; on interval i, with
t = u * NI / U - i in [0, 1], it is a polynomial of degree DEG in t, fitted in float64 by least squares with
weights raised where the error is largest (near-minimax), then rounded to fp32. The kernel picks the
coefficients per lane with vpermps, so NI is the 16 lanes of a register. Prints the C tables and the error of
gelu(x) = 0.5 x + |x| p(t) evaluated in fp32 against float64 on [-8, 8].

    python3 native/tools/gelu_table.py [DEG=4]
"""
import sys
from math import erf, sqrt

import numpy as np

U, NI = 5.6, 16
DEG = int(sys.argv[1]) if len(sys.argv) > 1 else 4


def fit(i):
    t = np.cos(np.pi * (np.arange(400) + 0.5) / 400) * 0.5 + 0.5
    f = np.array([0.5 * erf((i + tt) * U / NI / sqrt(2)) for tt in t])
    v = np.vander(t, DEG + 1, increasing=True)
    w = np.ones_like(t)
    for _ in range(30):
        c = np.linalg.lstsq(v * w[:, None], f * w, rcond=None)[0]
        e = np.abs(v @ c - f)
        w = w * (1 + e / e.max())
        w /= w.mean()
    return c.astype(np.float32)


coef = np.array([fit(i) for i in range(NI)])  # [NI][DEG + 1]
for k in range(DEG + 1):
    print(f"alignas(64) const float kGeluC{k}[16] = {{" + ", ".join(f"{c:.9e}f" for c in coef[:, k]) + "};")

# the kernel's arithmetic in fp32 (each multiply-add rounded once)
x = np.linspace(-8, 8, 2_000_001).astype(np.float32)
u = np.abs(x)
s = np.minimum(u * np.float32(NI / U), np.float32(NI))
i = np.minimum(s.astype(np.int64), NI - 1)
t = (s - i.astype(np.float32)).astype(np.float32)
p = coef[i, DEG]
for k in range(DEG - 1, -1, -1):
    p = (p.astype(np.float64) * t + coef[i, k]).astype(np.float32)
y = (u.astype(np.float64) * p + (np.float32(0.5) * x)).astype(np.float32)
ref = np.array([0.5 * v * (1 + erf(v / sqrt(2))) for v in x.astype(np.float64)])
err = np.abs(y - ref) / np.maximum(1.0, np.abs(x))
print(f"// degree {DEG}: |gelu - exact| <= {err.max():.2e} max(1, |x|) on [-8, 8]")
