// The fused activations of tessera/gemm.h (TSR_ACT_*) in float64, from their definitions: the reference of the
// native GEMM tests (gemm_test.cpp, qgemm_test.cpp).
#ifndef TESSERA_TEST_REF_ACT_H
#define TESSERA_TEST_REF_ACT_H

#include <cmath>

#include "tessera/gemm.h"

namespace tsr_test {

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

}  // namespace tsr_test

#endif
