// Horizontal reductions of a vector of N floats (GCC vector extensions) by halving: log2 N vector steps instead
// of N dependent scalar ones. Included by the per-ISA kernel files (compiled once per ISA; internal linkage).
#ifndef TESSERA_SRC_CPU_KERNELS_HREDUCE_H
#define TESSERA_SRC_CPU_KERNELS_HREDUCE_H

#include <cstdint>
#include <cstring>

#include "vmath.h"

namespace tsr {
namespace {

// NaN-propagating max: once a NaN is seen it stays.
inline float nmax(float m, float x) { return vm::sel((x > m) | (x != x), x, m); }

// NaN-propagating max (hmax) and sum (hsum) of the lanes.
template <int N>
struct HV {
  typedef float f __attribute__((vector_size(N * sizeof(float))));
  typedef int32_t i __attribute__((vector_size(N * sizeof(float))));
};
template <int N>
inline float hmax(typename HV<N>::f v) {
  if constexpr (N == 2) {
    return nmax(v[0], v[1]);
  } else {
    typename HV<N / 2>::f lo, hi;
    std::memcpy(&lo, &v, sizeof lo);
    std::memcpy(&hi, reinterpret_cast<const char *>(&v) + sizeof lo, sizeof hi);
    const typename HV<N / 2>::i upd = (hi > lo) | (hi != hi);
    return hmax<N / 2>(upd ? hi : lo);
  }
}
template <int N>
inline float hsum(typename HV<N>::f v) {
  if constexpr (N == 2) {
    return v[0] + v[1];
  } else {
    typename HV<N / 2>::f lo, hi;
    std::memcpy(&lo, &v, sizeof lo);
    std::memcpy(&hi, reinterpret_cast<const char *>(&v) + sizeof lo, sizeof hi);
    return hsum<N / 2>(lo + hi);
  }
}

}  // namespace
}  // namespace tsr

#endif
