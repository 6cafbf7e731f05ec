// The CPU backend's worker pool (src/cpu/threadpool.cpp, compiled into this test on its own): every index of
// [0, n) is handed to exactly one range, for task counts on both sides of the pool's grouping threshold (up to 16
// tasks per participant are ranges of their own, more are grouped into 4 ranges per participant), for 1 to 5
// participants; nested calls run inline; callers on several threads at once (the pool serves one, the others run
// inline) still cover everything exactly once; equal work items are split evenly when they are few (12 items on
// 2 threads: no range of more than one item); a range that throws (in a worker or in the caller) has its
// exception rethrown on the calling thread once every range has ended, and the pool runs the next job normally.
// parallel_regions: every task exactly once, each participant's tasks on one thread in its own region's order
// before any other, `ahead` naming a task of the job, and a slow participant's tail taken over by the others.
// Exits non-zero on the first failure, naming it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu/threadpool.h"

namespace {

int failures = 0;

void check(bool ok, const char *what, int64_t n, int64_t tasks, int threads) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAIL %s (n %lld, tasks %lld, threads %d)\n", what, static_cast<long long>(n),
                 static_cast<long long>(tasks), threads);
  }
}

struct Cover {
  std::vector<std::atomic<int>> hits;
  std::atomic<int64_t> ranges{0}, widest{0};
  explicit Cover(int64_t n) : hits(static_cast<size_t>(n)) {}
};

void mark(void *ctx, int64_t b, int64_t e) {
  Cover &c = *static_cast<Cover *>(ctx);
  for (int64_t i = b; i < e; ++i) c.hits[static_cast<size_t>(i)].fetch_add(1, std::memory_order_relaxed);
  c.ranges.fetch_add(1, std::memory_order_relaxed);
  int64_t w = c.widest.load();
  while (e - b > w && !c.widest.compare_exchange_weak(w, e - b)) {
  }
}

bool exactly_once(const Cover &c) {
  return std::all_of(c.hits.begin(), c.hits.end(), [](const std::atomic<int> &h) { return h.load() == 1; });
}

// parallel_regions bookkeeping: who ran each task, on which thread, in which order.
struct Regions {
  int64_t n;
  std::vector<std::atomic<int>> hits, by;
  std::vector<std::thread::id> thread_of;
  std::vector<std::vector<int64_t>> order;  // per participant (only that participant appends to it)
  std::atomic<bool> bad_ahead{false}, moved{false};
  int slow = -1;  // participant whose tasks sleep
  std::mutex mu;
  Regions(int64_t n_, int participants)
      : n(n_), hits(static_cast<size_t>(n_)), by(static_cast<size_t>(n_)), thread_of(participants),
        order(participants) {}
};

void region_task(void *ctx, int self, int64_t t, int64_t ahead) {
  Regions &r = *static_cast<Regions *>(ctx);
  if (ahead < -1 || ahead >= r.n) r.bad_ahead = true;
  r.hits[static_cast<size_t>(t)].fetch_add(1);
  r.by[static_cast<size_t>(t)].store(self);
  {
    std::lock_guard<std::mutex> lk(r.mu);
    if (r.order[self].empty()) {
      r.thread_of[self] = std::this_thread::get_id();
    } else if (r.thread_of[self] != std::this_thread::get_id()) {
      r.moved = true;
    }
  }
  r.order[self].push_back(t);
  if (self == r.slow) std::this_thread::sleep_for(std::chrono::microseconds(300));
}

void check_regions(int threads) {
  for (int64_t n : {1, 2, 5, 13, 64, 1001}) {
    for (int participants : {1, 2, 3, 7}) {
      Regions r(n, participants);
      r.slow = participants > 1 && threads > 1 ? 0 : -1;
      tsr::parallel_regions(n, participants, region_task, &r);
      const bool once = std::all_of(r.hits.begin(), r.hits.end(), [](const std::atomic<int> &h) { return h.load() == 1; });
      check(once, "parallel_regions: every task exactly once", n, participants, threads);
      check(!r.bad_ahead, "parallel_regions: ahead is a task of the job or -1", n, participants, threads);
      check(!r.moved, "parallel_regions: a participant's tasks run on one thread", n, participants, threads);
      // each participant starts with its own region (equal shares, in order) as far as it got before others took
      // its tail; tasks of other regions come after, taken from their backs
      const int regions = static_cast<int>(std::min<int64_t>(participants, n));
      bool ordered = true;
      for (int p = 0; p < regions; ++p) {
        const int64_t b = p * n / regions, e = (p + 1) * n / regions;
        int64_t expect = b;
        size_t i = 0;
        for (; i < r.order[p].size() && r.order[p][i] == expect && expect < e; ++i) ++expect;
        for (; i < r.order[p].size(); ++i) ordered = ordered && (r.order[p][i] < b || r.order[p][i] >= expect);
      }
      check(ordered, "parallel_regions: own region first, in order", n, participants, threads);
      if (r.slow == 0 && n >= 1000) {  // 300 us per task of participant 0 (0.1 s or more): the others take some
        int64_t taken = 0;
        for (int64_t t = 0; t < n / regions; ++t) taken += r.by[static_cast<size_t>(t)].load() != 0;
        check(taken > 0, "parallel_regions: a slow participant's tail is taken over", n, participants, threads);
      }
    }
  }
}

}  // namespace

int main() {
  for (int threads = 1; threads <= 5; ++threads) {
    tsr::cpu_set_threads(threads);
    for (int64_t n : {1, 2, 7, 12, 31, 64, 97, 1000, 4099}) {
      for (int64_t tasks : {1, 2, 3, 8, 12, 16, 31, 32, 33, 64, 65, 80, 81, 200, 5000}) {
        Cover c(n);
        tsr::parallel_run(n, tasks, mark, &c);
        check(exactly_once(c), "every index exactly once", n, tasks, threads);
        check(c.ranges.load() <= std::max<int64_t>(tasks, 1), "no more ranges than tasks", n, tasks, threads);
      }
    }
    // few equal items: one per range (12 attention heads on 2 threads split 6 + 6, not 1-2 per range)
    {
      Cover c(12);
      tsr::parallel_run(12, 12, mark, &c);
      // (one participant: the caller runs the whole job as one range)
      check(exactly_once(c) && c.widest.load() == (threads == 1 ? 12 : 1), "12 items in 12 tasks: one item per range",
            12, 12, threads);
    }
    // nested: a range that calls the pool again runs the inner job inline, covering it exactly once
    {
      constexpr int64_t kOuter = 16, kInner = 50;
      Cover inner(kOuter * kInner);
      struct Ctx {
        Cover *inner;
      } ctx{&inner};
      tsr::parallel_run(
          kOuter, kOuter,
          [](void *p, int64_t b, int64_t e) {
            Cover *in = static_cast<Ctx *>(p)->inner;
            for (int64_t o = b; o < e; ++o) {
              struct Slice {
                Cover *c;
                int64_t base;
              } s{in, o * kInner};
              tsr::parallel_run(
                  kInner, 8,
                  [](void *q, int64_t bb, int64_t ee) {
                    const Slice &sl = *static_cast<Slice *>(q);
                    mark(sl.c, sl.base + bb, sl.base + ee);
                  },
                  &s);
            }
          },
          &ctx);
      check(exactly_once(inner), "nested calls cover exactly once", kOuter * kInner, kOuter, threads);
    }
    // several callers at once: one gets the pool, the others run inline; all cover exactly once
    {
      constexpr int kCallers = 4;
      constexpr int64_t kN = 20000;
      std::vector<Cover *> covers;
      for (int i = 0; i < kCallers; ++i) covers.push_back(new Cover(kN));
      std::vector<std::thread> callers;
      for (int i = 0; i < kCallers; ++i) {
        callers.emplace_back([&covers, i] {
          for (int rep = 0; rep < 20; ++rep) {
            Cover fresh(kN);
            tsr::parallel_run(kN, 64, mark, &fresh);
            if (!exactly_once(fresh)) covers[static_cast<size_t>(i)]->hits[0].fetch_add(100);
          }
          tsr::parallel_run(kN, 64, mark, covers[static_cast<size_t>(i)]);
        });
      }
      for (auto &t : callers) t.join();
      for (Cover *c : covers) {
        check(exactly_once(*c), "concurrent callers cover exactly once", kN, 64, threads);
        delete c;
      }
    }
  }
  // exceptions: thrown by the range holding index `bad` (or by every range), caught and rethrown on the caller
  for (int threads = 1; threads <= 5; ++threads) {
    tsr::cpu_set_threads(threads);
    for (int64_t bad : {int64_t(-1), int64_t(0), int64_t(500), int64_t(999)}) {
      constexpr int64_t kN = 1000;
      struct Ctx {
        Cover cover{kN};
        int64_t bad;
        std::atomic<int64_t> bad_b{-1}, bad_e{-1};
      } ctx;
      ctx.bad = bad;
      std::string caught;
      try {
        tsr::parallel_run(
            kN, 40,
            [](void *p, int64_t b, int64_t e) {
              Ctx &c = *static_cast<Ctx *>(p);
              // slow ranges, so that the workers wake up and take some of them (a fast job is done by the caller alone)
              std::this_thread::sleep_for(std::chrono::microseconds(300));
              if (c.bad >= b && c.bad < e) {
                c.bad_b.store(b);
                c.bad_e.store(e);
              }
              if (c.bad < 0 || (c.bad >= b && c.bad < e)) throw std::runtime_error("range " + std::to_string(b));
              mark(&c.cover, b, e);
            },
            &ctx);
      } catch (const std::runtime_error &ex) {
        caught = ex.what();
      }
      check(caught.rfind("range ", 0) == 0, "a throwing range's exception reaches the caller", kN, 40, threads);
      if (bad >= 0) {  // every other range ran to its end exactly once
        bool ok = ctx.bad_b.load() >= 0;
        for (int64_t i = 0; i < kN; ++i) {
          const bool in_bad = i >= ctx.bad_b.load() && i < ctx.bad_e.load();
          ok = ok && ctx.cover.hits[static_cast<size_t>(i)].load() == (in_bad ? 0 : 1);
        }
        check(ok, "only the throwing range is missing", kN, 40, threads);
      }
      // the pool is usable again, its workers included (the caller is not left marked as inside a parallel region)
      struct After {
        Cover cover{kN};
        std::mutex mu;
        std::set<std::thread::id> ids;
      } after;
      tsr::parallel_run(
          kN, 40,
          [](void *p, int64_t b, int64_t e) {
            After &a = *static_cast<After *>(p);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));  // long enough for a sleeping worker to wake
            {
              std::lock_guard<std::mutex> lk(a.mu);
              a.ids.insert(std::this_thread::get_id());
            }
            mark(&a.cover, b, e);
          },
          &after);
      check(exactly_once(after.cover), "the job after an exception covers exactly once", kN, 40, threads);
      const int used = static_cast<int>(after.ids.size());
      check(threads == 1 ? used == 1 : used >= 2, "the job after an exception runs on the workers too", kN, 40,
            threads);
    }
  }
  for (int threads = 1; threads <= 4; ++threads) {
    tsr::cpu_set_threads(threads);
    check_regions(threads);
  }
  if (failures == 0) std::printf("threadpool_test: all passed\n");
  return failures == 0 ? 0 : 1;
}
