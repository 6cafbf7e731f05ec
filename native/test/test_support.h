// Shared by the native kernel tests (attention_test.cpp, gemm_test.cpp, qgemm_test.cpp, stem_test.cpp): random
// normal inputs, the fused activations of tessera/gemm.h (TSR_ACT_*) in float64 from their definitions, the run of a
// call at 1, 2, 3 ... threads and the check that every thread count gave the same bits.
#ifndef TESSERA_TEST_SUPPORT_H
#define TESSERA_TEST_SUPPORT_H

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "tessera/gemm.h"
#include "tessera/tessera.h"

namespace tsr_test {

// n standard normal floats (drawn in double, rounded) from rng.
inline std::vector<float> randn(std::mt19937_64 &rng, int64_t n) {
  std::normal_distribution<double> d(0.0, 1.0);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto &x : v) x = static_cast<float>(d(rng));
  return v;
}

inline double ref_act(int act, double x) {
  switch (act) {
    case TSR_ACT_GELU: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    case TSR_ACT_GELU_TANH: return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case TSR_ACT_SILU: return x / (1.0 + std::exp(-x));
    case TSR_ACT_QUICK_GELU: return x / (1.0 + std::exp(-1.702 * x));
    case TSR_ACT_RELU: return x > 0 ? x : 0.0;
    default: return x;
  }
}

// call(outs[t]) (returning a TSR_* status) with t + 1 library threads for t < counts. A status other than TSR_OK is
// printed as a failure with the library's error and ends the run: false.
template <class F>
inline bool run_at_thread_counts(const char *name, std::vector<float> *outs, int counts, F &&call) {
  for (int t = 0; t < counts; ++t) {
    tsr_cpu_set_threads(t + 1);
    if (call(outs[t]) != TSR_OK) {
      std::printf("FAIL %s: status at %d thread(s) (%s)\n", name, t + 1, tsr_last_error());
      return false;
    }
  }
  return true;
}

// outs[t] is the result at t + 1 threads; prints each thread count whose bits differ from one thread's and returns
// how many did.
inline int thread_counts_differing(const char *name, const std::vector<float> *outs, int counts) {
  int bad = 0;
  for (int t = 1; t < counts; ++t)
    if (outs[t].size() != outs[0].size() ||
        std::memcmp(outs[0].data(), outs[t].data(), outs[0].size() * sizeof(float)) != 0) {
      ++bad;
      std::printf("FAIL %s: %d threads give other bits than 1\n", name, t + 1);
    }
  return bad;
}

}  // namespace tsr_test

#endif
