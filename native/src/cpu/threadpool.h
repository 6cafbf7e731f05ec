// Persistent worker pool of the CPU backend. parallel_for(n, grain, fn) calls fn(begin, end) on
// disjoint ranges covering [0, n); the calling thread takes part. Work of at most `grain` items runs
// inline on the caller with no synchronisation at all. Calls from inside a parallel region, and
// calls made while another thread is using the pool, also run inline (never a deadlock).
#ifndef TESSERA_SRC_CPU_THREADPOOL_H
#define TESSERA_SRC_CPU_THREADPOOL_H

#include <cstdint>
#include <type_traits>

namespace tsr {

// Configured participant count (workers + caller): TESSERA_NUM_THREADS, else the hardware
// concurrency, unless changed by cpu_set_threads.
int cpu_threads();
// n >= 1 (smaller values are taken as 1); the pool resizes on its next parallel call.
void cpu_set_threads(int n);

using RangeFn = void (*)(void *ctx, int64_t begin, int64_t end);
// Splits [0, n) into up to `tasks` ranges and runs them on the pool (see parallel_for).
void parallel_run(int64_t n, int64_t tasks, RangeFn fn, void *ctx);

// Tasks [0, n) dealt out as one region of consecutive tasks per participant (regions of them, equal shares):
// participant `self` runs its region from the front, in order, then takes tasks one at a time from the back of
// whichever region has most left, until every region is empty, so a participant slowed down (a busy core, an
// efficiency core, a VM's neighbour) hands its tail to the others. fn(ctx, self, task, ahead): ahead is the task
// this participant will most likely run next (-1: none known), for prefetching. A participant's calls all run on
// one thread, one after another; the participants of one call may share a thread (run one after another) when
// the pool is busy or the call is nested. n >= 2^31 throws std::length_error (guarded() reports it; no product
// that fits in memory comes near: a GEMM task is a row block of up to 288 rows times 32 columns).
using RegionTaskFn = void (*)(void *ctx, int self, int64_t task, int64_t ahead);
void parallel_regions(int64_t n, int regions, RegionTaskFn fn, void *ctx);

template <class F>
inline void parallel_for(int64_t n, int64_t grain, F &&fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (n <= grain) {
    fn(int64_t(0), n);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  parallel_run(n, (n + grain - 1) / grain,
               [](void *ctx, int64_t b, int64_t e) { (*static_cast<Fn *>(ctx))(b, e); },
               const_cast<void *>(static_cast<const void *>(&fn)));
}

}  // namespace tsr

#endif
