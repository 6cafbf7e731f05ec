// A/B of two builds of libtessera in one process: each is dlopen'ed from its own path (RTLD_LOCAL: two copies, two
// thread pools) and the two are called in alternation on the same inputs, so a change is timed against the code
// before it under the same load (on a shared VM whose speed moves by tens of percent from one minute to the next,
// separate runs of a benchmark cannot see a 5% change). Prints the median time of each and the ratio A / B
// (> 1: B faster), and whether the two gave the same bits.
//
//   g++ -O2 -std=c++17 bench/native/lib_ab.cpp -ldl -o /tmp/lib_ab
//   cp native/target/cmake/lib/libtessera.so /tmp/a.so      # before the change (e.g. after a git stash)
//   cp native/target/cmake/lib/libtessera.so /tmp/b.so      # after it
//   TESSERA_NUM_THREADS=1 /tmp/lib_ab /tmp/a.so /tmp/b.so attention 197 64 [causal] [rounds]
//   TESSERA_NUM_THREADS=2 /tmp/lib_ab /tmp/a.so /tmp/b.so gemm 128 384 1152 [rounds] [act]
//   TESSERA_NUM_THREADS=1 /tmp/lib_ab /tmp/a.so /tmp/b.so softmax 1024 1024 [rounds]
//
// attention: B=1, H=12, seq S x S, head_dim D, random normal q / k / v, scale 1/sqrt(D); gemm: x [M, K] times a
// packed W [N, K] (no epilogue; with act, a TSR_ACT_* code of gemm.h, + bias then that activation); softmax: rows x cols with an additive -inf causal mask in the input. Each round
// runs ~0.1 s of calls per library; the first two rounds are warm-up.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

typedef int (*AttnFn)(const float *, const float *, const float *, float *, int64_t, int64_t, int64_t, int64_t,
                      int64_t, int64_t, int64_t, const void *, int, float, int);
typedef int64_t (*PackedFloatsFn)(int64_t, int64_t);
typedef int (*PackFn)(const float *, int64_t, int64_t, int64_t, int64_t, float *);
typedef int (*GemmFn)(const float *, int64_t, const float *, int64_t, int64_t, int64_t, const float *, int,
                      const float *, int64_t, float *, int64_t);
typedef int (*SoftmaxFn)(const float *, float *, int64_t, int64_t, int64_t);

void *sym(void *lib, const char *name) {
  void *p = dlsym(lib, name);
  if (p == nullptr) {
    std::fprintf(stderr, "lib_ab: %s not found\n", name);
    std::exit(1);
  }
  return p;
}

long arg(int argc, char **argv, int i, long dflt) { return i < argc ? std::atol(argv[i]) : dflt; }

std::vector<float> randn(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (auto &e : v) e = d(g);
  return v;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: lib_ab A.so B.so attention S D [causal] [rounds] | gemm M K N [rounds] [act] | "
                         "softmax ROWS COLS [rounds]\n");
    return 2;
  }
  void *lib[2];
  for (int i = 0; i < 2; ++i) {
    lib[i] = dlopen(argv[1 + i], RTLD_NOW | RTLD_LOCAL);
    if (lib[i] == nullptr) {
      std::fprintf(stderr, "lib_ab: %s\n", dlerror());
      return 1;
    }
  }
  const std::string op = argv[3];
  std::function<void(int)> call;  // one call of library i
  std::vector<float> out[2];
  double flops = 0;
  int rounds = 30;
  // inputs shared by both sides, kept alive for the calls
  std::vector<float> a, b, c;
  std::vector<float> packed[2];
  if (op == "attention") {
    const long s = arg(argc, argv, 4, 197), d = arg(argc, argv, 5, 64), causal = arg(argc, argv, 6, 0), h = 12;
    rounds = static_cast<int>(arg(argc, argv, 7, rounds));
    a = randn(h * s * d, 1), b = randn(h * s * d, 2), c = randn(h * s * d, 3);
    AttnFn f[2] = {(AttnFn)sym(lib[0], "tsr_cpu_attention_f32"), (AttnFn)sym(lib[1], "tsr_cpu_attention_f32")};
    for (auto &o : out) o.assign(h * s * d, 0.0f);
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    call = [=, &a, &b, &c, &out](int i) {
      f[i](a.data(), b.data(), c.data(), out[i].data(), 1, h, h, s, s, d, s, nullptr, 0, scale, int(causal));
    };
    flops = (causal ? 2.0 : 4.0) * h * s * s * d;
  } else if (op == "gemm") {
    const long m = arg(argc, argv, 4, 128), k = arg(argc, argv, 5, 384), n = arg(argc, argv, 6, 1152);
    rounds = static_cast<int>(arg(argc, argv, 7, rounds));
    const int act = static_cast<int>(arg(argc, argv, 8, -1));  // -1: no epilogue
    a = randn(m * k, 1), b = randn(n * k, 2), c = randn(n, 3);
    for (auto &e : b) e *= 1.0f / std::sqrt(static_cast<float>(k));  // outputs ~N(0, 1): the activations' range
    GemmFn f[2];
    for (int i = 0; i < 2; ++i) {
      f[i] = (GemmFn)sym(lib[i], "tsr_cpu_gemm_packed_f32");
      packed[i].assign(((PackedFloatsFn)sym(lib[i], "tsr_cpu_gemm_packed_floats"))(n, k), 0.0f);
      ((PackFn)sym(lib[i], "tsr_cpu_gemm_pack_f32"))(b.data(), k, 1, n, k, packed[i].data());
      out[i].assign(m * n, 0.0f);
    }
    call = [=, &a, &c, &packed, &out](int i) {
      f[i](a.data(), k, packed[i].data(), m, n, k, act >= 0 ? c.data() : nullptr, act >= 0 ? act : 0, nullptr, 0,
           out[i].data(), n);
    };
    flops = 2.0 * m * n * k;
  } else if (op == "softmax") {
    const long rows = arg(argc, argv, 4, 1024), cols = arg(argc, argv, 5, 1024);
    rounds = static_cast<int>(arg(argc, argv, 6, rounds));
    a = randn(rows * cols, 1);
    for (long r = 0; r < rows; ++r)
      for (long j = r % cols + 1; j < cols; ++j) a[r * cols + j] = -INFINITY;
    SoftmaxFn f[2] = {(SoftmaxFn)sym(lib[0], "tsr_cpu_softmax_f32"), (SoftmaxFn)sym(lib[1], "tsr_cpu_softmax_f32")};
    for (auto &o : out) o.assign(rows * cols, 0.0f);
    call = [=, &a, &out](int i) { f[i](a.data(), out[i].data(), rows, cols, 0); };
  } else {
    std::fprintf(stderr, "lib_ab: unknown op '%s' (attention, gemm, softmax)\n", op.c_str());
    return 2;
  }
  // calls per round: ~0.1 s, from one timed call
  auto t0 = std::chrono::steady_clock::now();
  call(0);
  const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int reps = std::max(1, static_cast<int>(0.1 / std::max(once, 1e-6)));
  std::vector<double> t[2];
  for (int r = 0; r < rounds + 2; ++r)
    for (int i = 0; i < 2; ++i) {
      const auto s0 = std::chrono::steady_clock::now();
      for (int j = 0; j < reps; ++j) call(i);
      if (r >= 2) t[i].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count() / reps);
    }
  double med[2];
  for (int i = 0; i < 2; ++i) {
    std::sort(t[i].begin(), t[i].end());
    med[i] = t[i][t[i].size() / 2];
  }
  const bool same = std::memcmp(out[0].data(), out[1].data(), out[0].size() * sizeof(float)) == 0;
  std::printf("%s:", op.c_str());
  for (int i = 4; i < argc; ++i) std::printf(" %s", argv[i]);
  std::printf("  A %.4f ms  B %.4f ms  A/B %.3f", med[0] * 1e3, med[1] * 1e3, med[0] / med[1]);
  if (flops > 0) std::printf("  (B %.1f GFLOP/s)", flops / med[1] / 1e9);
  std::printf("  %s (%d rounds of %d calls)\n", same ? "same bits" : "BITS DIFFER", rounds, reps);
  return 0;
}
