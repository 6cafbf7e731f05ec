// Host memory for CPU tensors (tsr_host_alloc / tsr_host_free in tessera/tessera.h).
//
// Blocks of 2 MiB and more start on a 2 MiB boundary and are advised as transparent huge pages. With plain
// malloc, where a block's 4 KiB pages land physically decides how its lines spread over the L2 sets, and that was
// visible from one process to the next: the whole MiniLM forward at batch 1 took 14.4 or 16.2 ms depending on the
// run (6 of 6 runs at 14.3-14.4 ms once malloc's blocks were huge pages). A huge page fixes the placement of 2 MiB
// at once. Where the kernel does not offer THP (or only for madvise'd memory and it is off), madvise fails
// harmlessly and the block behaves like any other.
#include <cstdint>
#include <cstdlib>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "tessera/tessera.h"

namespace {
constexpr int64_t kHuge = int64_t(2) << 20;
constexpr int64_t kAlign = 64;
}  // namespace

extern "C" void *tsr_host_alloc(int64_t bytes) {
  if (bytes < 1) bytes = 1;
  void *p = nullptr;
  if (bytes >= kHuge) {
    if (posix_memalign(&p, static_cast<size_t>(kHuge), static_cast<size_t>(bytes)) != 0) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // whole huge pages inside the block only
    const int64_t whole = bytes / kHuge * kHuge;
    if (whole > 0) madvise(p, static_cast<size_t>(whole), MADV_HUGEPAGE);
#endif
    return p;
  }
  if (posix_memalign(&p, static_cast<size_t>(kAlign), static_cast<size_t>(bytes)) != 0) return nullptr;
  return p;
}

extern "C" void tsr_host_free(void *p) { std::free(p); }
