// Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3", SC 2011),
// the counter-based generator of the RBM sampling kernels. One header for the CPU kernels (C++17) and
// the CUDA kernels (nvcc): the same integer arithmetic on both, so CPU and GPU uniforms are
// bit-identical.
//
// Stream layout used by every Tessera draw (see tessera/rbm.h):
//   key     = (lo32(seed), hi32(seed))
//   counter = (lo32(offset + i), hi32(offset + i), sub, 0)   for element i of a draw starting at offset;
//             sub is 0 except for the multinomial draws (sub = the draw's index within its row).
//   uniform = (word0 >> 8) * 2^-24, in [0, 1 - 2^-24], exact in float.
// Element i depends only on (seed, offset + i, sub): results do not depend on how work is split over
// threads or blocks.
#ifndef TESSERA_SRC_COMMON_PHILOX_H
#define TESSERA_SRC_COMMON_PHILOX_H

#include <cstdint>

#if defined(__CUDACC__)
#define TSR_PHILOX_FN __host__ __device__ __forceinline__
#else
#define TSR_PHILOX_FN static inline __attribute__((always_inline))
#endif

namespace tsr {
namespace philox {

constexpr uint32_t kM0 = 0xD2511F53u;
constexpr uint32_t kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kW1 = 0xBB67AE85u;  // sqrt(3) - 1

struct U4 {
  uint32_t x, y, z, w;
};

TSR_PHILOX_FN void mix_round(U4 &c, uint32_t k0, uint32_t k1) {
  const uint64_t p0 = static_cast<uint64_t>(kM0) * c.x;
  const uint64_t p1 = static_cast<uint64_t>(kM1) * c.z;
  const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
  const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
  c = U4{hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0};
}

// The ten-round Philox4x32 bijection of counter c under key (k0, k1).
TSR_PHILOX_FN U4 philox4x32_10(U4 c, uint32_t k0, uint32_t k1) {
  mix_round(c, k0, k1);
  k0 += kW0; k1 += kW1; mix_round(c, k0, k1);
  k0 += kW0; k1 += kW1; mix_round(c, k0, k1);
  k0 += kW0; k1 += kW1; mix_round(c, k0, k1);
  k0 += kW0; k1 += kW1; mix_round(c, k0, k1);
  k0 += kW0; k1 += kW1; mix_round(c, k0, k1);
  k0 += kW0; k1 += kW1; mix_round(c, k0, k1);
  k0 += kW0; k1 += kW1; mix_round(c, k0, k1);
  k0 += kW0; k1 += kW1; mix_round(c, k0, k1);
  k0 += kW0; k1 += kW1; mix_round(c, k0, k1);
  return c;
}

// The block of counter index `ctr` (offset + i) and sub-index `sub` under `seed`.
TSR_PHILOX_FN U4 block(uint64_t seed, uint64_t ctr, uint32_t sub) {
  return philox4x32_10(U4{static_cast<uint32_t>(ctr), static_cast<uint32_t>(ctr >> 32), sub, 0u},
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// A word -> uniform in [0, 1): the top 24 bits times 2^-24 (exact).
TSR_PHILOX_FN float to_uniform(uint32_t word) { return static_cast<float>(word >> 8) * 5.9604644775390625e-8f; }
// A word -> uniform in (0, 1]: for logarithms.
TSR_PHILOX_FN float to_uniform_pos(uint32_t word) {
  return static_cast<float>((word >> 8) + 1u) * 5.9604644775390625e-8f;
}

// Uniform of element `ctr` (sub-index 0): word 0 of its block.
TSR_PHILOX_FN float uniform(uint64_t seed, uint64_t ctr) { return to_uniform(block(seed, ctr, 0u).x); }

}  // namespace philox
}  // namespace tsr

#endif
