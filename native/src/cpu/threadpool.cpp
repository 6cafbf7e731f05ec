// Persistent worker pool (see threadpool.h). Workers spin briefly on a generation counter after
// each job, then sleep on a condition variable. A job is a set of equal ranges claimed through one
// atomic ticket (generation << 32 | ranges left), so a late worker can never take a range of a
// newer job by mistake. An exception thrown by a range (std::bad_alloc of a scratch buffer, say) is
// caught where it was thrown, the job still runs to its end, and the first one is rethrown on the
// calling thread: never std::terminate in a worker, never a caller unwinding while workers still
// use its stack.
#include "threadpool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace tsr {
namespace {

thread_local bool tl_in_pool = false;  // worker thread, or caller inside a parallel region

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

constexpr int kMaxThreads = 1024;
constexpr int kWorkerSpins = 1 << 13;  // pause iterations before a worker sleeps (~tens of us)
constexpr int kCallerSpins = 1 << 12;  // pause iterations before a waiting caller yields

int default_threads() {
  if (const char *s = std::getenv("TESSERA_NUM_THREADS")) {
    char *end = nullptr;
    const long v = std::strtol(s, &end, 10);
    if (end != s && v >= 1) return v > kMaxThreads ? kMaxThreads : static_cast<int>(v);
  }
  const unsigned hc = std::thread::hardware_concurrency();
  if (hc == 0) return 1;
  return hc > static_cast<unsigned>(kMaxThreads) ? kMaxThreads : static_cast<int>(hc);
}

class Pool {
 public:
  int threads() {
    int t = desired_.load(std::memory_order_relaxed);
    if (t == 0) {
      int expected = 0;
      desired_.compare_exchange_strong(expected, default_threads());
      t = desired_.load(std::memory_order_relaxed);
    }
    return t;
  }
  void set_threads(int n) { desired_.store(n < 1 ? 1 : (n > kMaxThreads ? kMaxThreads : n)); }

  void run(int64_t n, int64_t tasks, RangeFn fn, void *ctx) {
    std::unique_lock<std::mutex> submit(submit_mu_, std::try_to_lock);
    if (!submit.owns_lock()) {  // another thread is using the pool: do it here
      run_inline(n, fn, ctx);
      return;
    }
    const int want = threads();
    if (want - 1 != static_cast<int>(workers_.size())) resize(want - 1);
    const int64_t parts = static_cast<int64_t>(workers_.size()) + 1;
    if (parts <= 1) {
      run_inline(n, fn, ctx);
      return;
    }
    // Up to 16 tasks per participant each task is a range of its own (equal work items, e.g. the heads of an
    // attention call, then split evenly: 12 heads on 2 threads are 6 + 6, where 8 ranges of 1 or 2 heads could
    // end 7 + 5); more tasks are grouped into 4 ranges per participant.
    int64_t chunks = tasks <= parts * 16 ? tasks : parts * 4;
    if (chunks < 1) chunks = 1;
    fn_ = fn;
    ctx_ = ctx;
    n_ = n;
    chunks_ = chunks;
    done_.store(0, std::memory_order_relaxed);
    claiming_.store(false, std::memory_order_relaxed);
    failed_.store(false, std::memory_order_relaxed);
    const uint32_t g = ++gen_value_;
    ticket_.store((static_cast<uint64_t>(g) << 32) | static_cast<uint64_t>(chunks), std::memory_order_release);
    gen_.store(g, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(mu_);
      cv_.notify_all();
    }
    tl_in_pool = true;
    run_chunks(g);
    int spins = 0;
    while (done_.load(std::memory_order_acquire) < chunks) {
      if (++spins < kCallerSpins) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
    tl_in_pool = false;
    if (failed_.load(std::memory_order_acquire)) {  // every range has ended: the job's state is ours again
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

 private:
  static void run_inline(int64_t n, RangeFn fn, void *ctx) {
    struct Restore {
      bool was;
      ~Restore() { tl_in_pool = was; }
    } restore{tl_in_pool};
    tl_in_pool = true;
    fn(ctx, 0, n);
  }

  // Claims and runs ranges of job g until none is left.
  void run_chunks(uint32_t g) {
    for (;;) {
      uint64_t t = ticket_.load(std::memory_order_acquire);
      for (;;) {
        if (static_cast<uint32_t>(t >> 32) != g || (t & 0xffffffffu) == 0) return;
        if (ticket_.compare_exchange_weak(t, t - 1, std::memory_order_acq_rel, std::memory_order_acquire)) break;
      }
      // The job cannot end before this range is done, so its fields are stable here.
      const int64_t k = chunks_ - static_cast<int64_t>(t & 0xffffffffu);
      const int64_t b = k * n_ / chunks_, e = (k + 1) * n_ / chunks_;
      if (b < e) {
        try {
          fn_(ctx_, b, e);
        } catch (...) {
          bool expected = false;  // the first failure is kept; later ones are dropped
          if (claiming_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
            error_ = std::current_exception();
            failed_.store(true, std::memory_order_release);
          }
        }
      }
      done_.fetch_add(1, std::memory_order_release);
    }
  }

  void worker(uint32_t seen) {
    tl_in_pool = true;
    for (;;) {
      uint32_t g = gen_.load(std::memory_order_acquire);
      for (int spins = 0; g == seen && spins < kWorkerSpins && !stop_.load(std::memory_order_relaxed); ++spins) {
        cpu_relax();
        g = gen_.load(std::memory_order_acquire);
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(mu_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        cv_.wait(lk, [&] { return gen_.load(std::memory_order_seq_cst) != seen || stop_.load(); });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
        g = gen_.load(std::memory_order_acquire);
      }
      if (stop_.load()) return;
      seen = g;
      run_chunks(g);
    }
  }

  // Called with submit_mu_ held and no job running.
  void resize(int nworkers) {
    if (!workers_.empty()) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        stop_.store(true);
        cv_.notify_all();
      }
      for (auto &t : workers_) t.join();
      workers_.clear();
      stop_.store(false);
    }
    for (int i = 0; i < nworkers; ++i) {
      try {
        workers_.emplace_back([this, g = gen_value_] { worker(g); });
      } catch (...) {
        break;  // could not start more threads: use those we have
      }
    }
  }

  std::atomic<int> desired_{0};
  std::mutex submit_mu_;
  std::vector<std::thread> workers_;
  uint32_t gen_value_ = 0;  // last published generation (guarded by submit_mu_)

  // Current job (written by the submitter before the ticket is published).
  RangeFn fn_ = nullptr;
  void *ctx_ = nullptr;
  int64_t n_ = 0;
  int64_t chunks_ = 0;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int64_t> done_{0};
  // First exception of the current job (written by the range that claims it, read by the caller after done_).
  std::exception_ptr error_;
  std::atomic<bool> claiming_{false}, failed_{false};

  std::atomic<uint32_t> gen_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

// Never destroyed: worker threads may still be parked when the process exits.
Pool &pool() {
  static Pool *p = new Pool();
  return *p;
}

}  // namespace

int cpu_threads() { return pool().threads(); }
void cpu_set_threads(int n) { pool().set_threads(n); }

namespace {

// Tasks [front, end) of one participant's region as front << 32 | end, taken by compare-and-swap; on its own line.
struct alignas(64) Region {
  std::atomic<uint64_t> range{0};
};

// Takes a task from the front (owner) or the back (thief) of a region; -1 when it is empty.
int64_t take(Region &r, bool front) {
  uint64_t v = r.range.load(std::memory_order_relaxed);
  for (;;) {
    const uint32_t f = static_cast<uint32_t>(v >> 32), e = static_cast<uint32_t>(v);
    if (f >= e) return -1;
    const uint64_t w = front ? (uint64_t(f + 1) << 32) | e : (uint64_t(f) << 32) | (e - 1);
    if (r.range.compare_exchange_weak(v, w, std::memory_order_relaxed, std::memory_order_relaxed)) {
      return front ? f : e - 1;
    }
  }
}

struct RegionJob {
  Region *regions;
  int count;
  RegionTaskFn fn;
  void *ctx;
};

void run_region(const RegionJob &j, int self) {
  Region &own = j.regions[self];
  for (int64_t t = take(own, true); t >= 0; t = take(own, true)) {
    const int64_t end = static_cast<uint32_t>(own.range.load(std::memory_order_relaxed));
    j.fn(j.ctx, self, t, t + 1 < end ? t + 1 : -1);
  }
  for (;;) {
    int victim = -1;
    int64_t most = 0;
    for (int i = 0; i < j.count; ++i) {
      const uint64_t v = j.regions[i].range.load(std::memory_order_relaxed);
      const int64_t left = int64_t(static_cast<uint32_t>(v)) - int64_t(static_cast<uint32_t>(v >> 32));
      if (left > most) {
        most = left;
        victim = i;
      }
    }
    if (victim < 0) return;
    const int64_t t = take(j.regions[victim], false);
    if (t >= 0) j.fn(j.ctx, self, t, t - 1);
  }
}

}  // namespace

void parallel_regions(int64_t n, int regions, RegionTaskFn fn, void *ctx) {
  if (n <= 0) return;
  if (n >= (int64_t(1) << 31)) throw std::length_error("parallel_regions: 2^31 tasks or more");
  if (regions < 1) regions = 1;
  if (regions > n) regions = static_cast<int>(n);
  std::unique_ptr<Region[]> r(new Region[regions]);
  for (int i = 0; i < regions; ++i) {
    const uint64_t b = uint64_t(i * n / regions), e = uint64_t((i + 1) * n / regions);
    r[i].range.store(b << 32 | e, std::memory_order_relaxed);
  }
  RegionJob job{r.get(), regions, fn, ctx};
  parallel_run(
      regions, regions,
      [](void *c, int64_t b, int64_t e) {
        for (int64_t self = b; self < e; ++self) run_region(*static_cast<const RegionJob *>(c), static_cast<int>(self));
      },
      &job);
}

void parallel_run(int64_t n, int64_t tasks, RangeFn fn, void *ctx) {
  if (n <= 0) return;
  if (tl_in_pool || tasks <= 1) {  // nested call or a single range: inline
    fn(ctx, 0, n);
    return;
  }
  pool().run(n, tasks, fn, ctx);
}

}  // namespace tsr
