"""The .npy variants NpyTest reads: one float32 array [2, 3, 5] saved by NumPy in each dtype, byte order and memory
order Npy.read accepts, plus kinds it refuses. Run from this folder:  /usr/bin/python3 make_npy_fixtures.py
(NumPy 1.24 wrote the committed files). NpyTest compares every variant with ref_f4.npy: exactly, except float16,
compared with ref_f2_as_f4.npy (the same values rounded to float16 by NumPy).
"""
import numpy as np

rng = np.random.default_rng(7)
x = (rng.standard_normal((2, 3, 5)) * 10).astype(np.float32)
x[0, 0, 0], x[1, 2, 4] = 1e-6, -65000.0  # a float16 subnormal and a value near float16's largest
np.save('ref_f4.npy', x)
np.save('ref_f2_as_f4.npy', x.astype(np.float16).astype(np.float32))
np.save('f8_c.npy', x.astype('<f8'))
np.save('f4_big.npy', x.astype('>f4'))
np.save('f2_c.npy', x.astype('<f2'))
np.save('f4_fortran.npy', np.asfortranarray(x))
np.save('f8_big_fortran.npy', np.asfortranarray(x.astype('>f8')))
ints = np.arange(30, dtype=np.int64).reshape(2, 3, 5) * 1000003 - 7
np.save('ref_i8.npy', ints)
np.save('i4_fortran.npy', np.asfortranarray(ints.astype('<i4')))
np.save('i8_big.npy', ints.astype('>i8'))
np.save('u1_refused.npy', np.arange(6, dtype=np.uint8))
np.save('c8_refused.npy', np.arange(6, dtype=np.complex64))
np.save('i2_refused.npy', np.arange(6, dtype=np.int16))
for f in ['f4_fortran', 'f8_big_fortran', 'i4_fortran']:
    assert np.load(f + '.npy').flags['F_CONTIGUOUS'], f
print('ok')
