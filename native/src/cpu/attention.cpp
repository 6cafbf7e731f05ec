// extern "C" CPU entry point of tessera/attention.h: argument fence (the second one, after Java's),
// choice of the per-ISA kernel table (the level tsr_cpu_simd() reports), and the split of the work
// into tasks (batch, head, query block[, key chunk]) over the thread pool. When the tasks are too few
// for the pool (decode: a few query rows against a long KV cache), the keys are split into chunks and
// the partial softmax results merged by log-sum-exp.
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "common/error.h"
#include "kernels/attention_table.h"
#include "tessera/attention.h"
#include "isa_select.h"
#include "threadpool.h"

namespace tsr {
namespace {

const AttentionKernels &AK() {
  static const AttentionKernels &k = TSR_ISA_TABLE(AttentionKernels, attention_kernels);
  return k;
}

#define ATT_CHECK(cond, ...)              \
  do {                                    \
    if (__builtin_expect(!(cond), 0)) {   \
      ::tsr::set_last_error(__VA_ARGS__); \
      return TSR_ERR_ARG;                 \
    }                                     \
  } while (0)

constexpr int64_t kMinKeysPerSplit = 256;

// 64-byte aligned float scratch owned by one range of tasks.
struct Scratch {
  std::unique_ptr<float[]> raw;
  float *p = nullptr;
  explicit Scratch(int64_t n) : raw(new float[n + 16]) {
    auto a = reinterpret_cast<uintptr_t>(raw.get());
    p = raw.get() + ((64 - a % 64) % 64) / sizeof(float);
  }
};

}  // namespace
}  // namespace tsr

extern "C" int tsr_cpu_attention_f32(const float *q, const float *k, const float *v, float *out, int64_t batch,
                                     int64_t heads_q, int64_t heads_kv, int64_t seq_q, int64_t seq_k,
                                     int64_t head_dim, int64_t kv_capacity, const void *key_mask, int mask_dtype,
                                     float scale, int causal) {
  using namespace tsr;
  ATT_CHECK(batch >= 1 && heads_q >= 1 && heads_kv >= 1 && seq_q >= 0 && seq_k >= 0,
            "tsr_cpu_attention_f32: bad sizes batch=%lld heads_q=%lld heads_kv=%lld seq_q=%lld seq_k=%lld",
            (long long)batch, (long long)heads_q, (long long)heads_kv, (long long)seq_q, (long long)seq_k);
  ATT_CHECK(head_dim >= 1 && head_dim <= TSR_ATTENTION_MAX_HEAD_DIM,
            "tsr_cpu_attention_f32: head_dim %lld outside 1..%d", (long long)head_dim, TSR_ATTENTION_MAX_HEAD_DIM);
  ATT_CHECK(heads_q % heads_kv == 0, "tsr_cpu_attention_f32: heads_q %lld is not a multiple of heads_kv %lld",
            (long long)heads_q, (long long)heads_kv);
  ATT_CHECK(kv_capacity >= seq_k, "tsr_cpu_attention_f32: kv_capacity %lld < seq_k %lld", (long long)kv_capacity,
            (long long)seq_k);
  ATT_CHECK(key_mask == nullptr || mask_dtype == TSR_I32 || mask_dtype == TSR_I64,
            "tsr_cpu_attention_f32: key mask dtype %d is not TSR_I32 or TSR_I64", mask_dtype);
  if (seq_q == 0) return TSR_OK;
  ATT_CHECK(q && out && (seq_k == 0 || (k && v)), "tsr_cpu_attention_f32: null pointer");
  const int64_t d = head_dim, group = heads_q / heads_kv;
  const int64_t threads = cpu_threads();
  // query rows per task: the largest block (each block packs every K^T tile once, so bigger blocks
  // pack less) that still gives the pool at least two tasks per thread, never under 32 rows
  int64_t qrows = kAttnQueryBlock;
  while (qrows > 32 && batch * heads_q * ((seq_q + qrows - 1) / qrows) < 2 * threads) qrows /= 2;
  const int64_t nqb = (seq_q + qrows - 1) / qrows;
  const int64_t items = batch * heads_q * nqb;
  // key chunks per item: enough tasks for the pool, each chunk at least kMinKeysPerSplit keys
  int64_t splits = 1;
  if (items < 2 * threads && seq_k >= 2 * kMinKeysPerSplit) {
    splits = (2 * threads + items - 1) / items;
    const int64_t max_splits = seq_k / kMinKeysPerSplit;
    if (splits > max_splits) splits = max_splits;
  }
  const int64_t chunk = splits > 1 ? (seq_k + splits - 1) / splits : seq_k;
  const int64_t scratch_n = attn_scratch_floats(d);
  const AttentionKernels &K = AK();
  const int64_t mask_es = mask_dtype == TSR_I64 ? 8 : 4;
  const int64_t limit_base = causal ? seq_k - seq_q : INT64_MAX;

  auto make_task = [&](int64_t item, float *scr) {
    AttnBlock t{};
    const int64_t qb = item % nqb, bh = item / nqb;
    const int64_t h = bh % heads_q, b = bh / heads_q;
    const int64_t kvh = b * heads_kv + h / group;
    const int64_t row0 = qb * qrows;
    t.q = q + (bh * seq_q + row0) * d;
    t.k = k + kvh * kv_capacity * d;
    t.v = v + kvh * kv_capacity * d;
    t.q_stride = d;
    t.k_stride = d;
    t.v_stride = d;
    t.head_dim = d;
    t.nq = seq_q - row0 < qrows ? seq_q - row0 : qrows;
    t.kbeg = 0;
    t.kend = seq_k;
    t.limit0 = causal ? limit_base + row0 : INT64_MAX;
    t.mask = key_mask ? static_cast<const char *>(key_mask) + b * seq_k * mask_es : nullptr;
    t.mask_dtype = mask_dtype;
    t.scale = scale;
    t.out = out + (bh * seq_q + row0) * d;
    t.out_stride = d;
    t.scratch = scr;
    return t;
  };

  try {
    if (splits == 1) {
      parallel_for(items, 1, [&](int64_t b0, int64_t b1) {
        Scratch scr(scratch_n);
        for (int64_t it = b0; it < b1; ++it) K.block(make_task(it, scr.p));
      });
      return TSR_OK;
    }
    // split keys: partial (o, m, l) per (item, split), then a log-sum-exp merge per item
    const int64_t qbk = qrows;
    std::vector<float> po(static_cast<size_t>(items * splits * qbk * d));
    std::vector<float> pm(static_cast<size_t>(items * splits * qbk)), pl(pm.size());
    parallel_for(items * splits, 1, [&](int64_t b0, int64_t b1) {
      Scratch scr(scratch_n);
      for (int64_t task = b0; task < b1; ++task) {
        const int64_t item = task / splits, sp = task % splits;
        AttnBlock t = make_task(item, scr.p);
        t.kbeg = sp * chunk < seq_k ? sp * chunk : seq_k;
        t.kend = t.kbeg + chunk < seq_k ? t.kbeg + chunk : seq_k;
        const int64_t base = (item * splits + sp) * qbk;
        t.out = po.data() + base * d;
        t.out_stride = d;
        t.m = pm.data() + base;
        t.l = pl.data() + base;
        K.block(t);
      }
    });
    parallel_for(items, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t item = b0; item < b1; ++item) {
        const int64_t qb = item % nqb, bh = item / nqb;
        const int64_t row0 = qb * qrows;
        const int64_t nq = seq_q - row0 < qrows ? seq_q - row0 : qrows;
        const int64_t base = item * splits * qbk;  // the item's parts are qbk rows apart
        K.merge(po.data() + base * d, pm.data() + base, pl.data() + base, splits, qbk, nq, d,
                out + (bh * seq_q + row0) * d);
      }
    });
  } catch (const std::bad_alloc &) {
    set_last_error("tsr_cpu_attention_f32: out of host memory for the attention scratch");
    return TSR_ERR_ARG;
  }
  return TSR_OK;
}
