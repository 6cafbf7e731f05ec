// Dimension collapsing for strided views, shared by the CPU (cpu/dispatch.cpp) and CUDA (cuda/core.cu) copies and
// strided binary ops: one piece of host code, exercised by the CPU tests on every build.
#pragma once

#include <array>
#include <cstdint>

namespace tsr {

// Collapses a view of `shape` (ndim dims, row-major element order) seen through K stride sets (in elements):
// drops size-1 dims and merges dim d into the dim before it where every stride set allows it
// (stride[d - 1] == stride[d] * shape[d]). Writes the collapsed shape and the K collapsed stride sets (room for
// ndim entries each) and returns the collapsed rank, 0 for a single element. The row-major order of the elements
// is unchanged, so every view is walked the same way over the collapsed dims. Callers have ruled out a zero-size
// view (nothing to walk) and ndim beyond their own limit.
template <int K>
inline int collapse_dims(int ndim, const int64_t *shape, std::array<const int64_t *, K> strides, int64_t *out_shape,
                         std::array<int64_t *, K> out_strides) {
  int nd = 0;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;
    bool merge = nd > 0;
    for (int k = 0; k < K && merge; ++k) merge = out_strides[k][nd - 1] == strides[k][d] * shape[d];
    if (merge) {
      out_shape[nd - 1] *= shape[d];
    } else {
      out_shape[nd++] = shape[d];
    }
    for (int k = 0; k < K; ++k) out_strides[k][nd - 1] = strides[k][d];
  }
  return nd;
}

}  // namespace tsr
