// extern "C" CPU entry point of tessera/attention.h: argument fence (the second one, after Java's),
// choice of the per-ISA kernel table (the level tsr_cpu_simd() reports), and the split of the work
// into tasks (batch, head, query block[, key chunk]) over the thread pool. When the rows make few tasks
// (decode: a few query rows against a long KV cache), the keys are split into chunks and the partial
// softmax results merged by log-sum-exp. The cuts depend on the sizes only, never on the thread count,
// so every thread count gives the same bits. Grouped-query decode runs the query heads of a KV head as
// the rows of one block.
#include <atomic>
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
// key splitting aims at this many (row group, key chunk) tasks: enough for a pool of up to ~32 threads
constexpr int64_t kSplitTasks = 64;

// 64-byte aligned float scratch owned by one range of tasks.
struct Scratch {
  std::unique_ptr<float[]> raw;
  float *p = nullptr;
  explicit Scratch(int64_t n) : raw(new float[n + 16]) {
    auto a = reinterpret_cast<uintptr_t>(raw.get());
    p = raw.get() + ((64 - a % 64) % 64) / sizeof(float);
  }
};

// Strides in floats of one [batch, heads, rows, head_dim] operand (the last dim is unit stride).
struct View {
  int64_t sb, sh, sr;
};

// Checks that no two elements of `out` [batch, heads, rows, d] (strides v, unit last dim) share an address:
// sorted by stride, each dim of size > 1 must step past everything the smaller dims span.
bool no_self_overlap(View v, int64_t batch, int64_t heads, int64_t rows, int64_t d) {
  int64_t size[3] = {batch, heads, rows}, stride[3] = {v.sb, v.sh, v.sr};
  for (int i = 1; i < 3; ++i)  // insertion sort by stride
    for (int j = i; j > 0 && stride[j] < stride[j - 1]; --j) {
      int64_t t = stride[j]; stride[j] = stride[j - 1]; stride[j - 1] = t;
      t = size[j]; size[j] = size[j - 1]; size[j - 1] = t;
    }
  int64_t span = d;  // floats covered by the dims below, from the first element
  for (int i = 0; i < 3; ++i) {
    if (size[i] <= 1) continue;
    if (stride[i] < span) return false;
    span += (size[i] - 1) * stride[i];
  }
  return true;
}

int attention_impl(const char *fn, const float *q, View qs, const float *k, View ks, const float *v, View vs,
                   float *out, View os, int64_t batch, int64_t heads_q, int64_t heads_kv, int64_t seq_q,
                   int64_t seq_k, int64_t head_dim, const void *key_mask, int mask_dtype, float scale, int causal) {
  ATT_CHECK(batch >= 1 && heads_q >= 1 && heads_kv >= 1 && seq_q >= 0 && seq_k >= 0,
            "%s: bad sizes batch=%lld heads_q=%lld heads_kv=%lld seq_q=%lld seq_k=%lld", fn, (long long)batch,
            (long long)heads_q, (long long)heads_kv, (long long)seq_q, (long long)seq_k);
  ATT_CHECK(head_dim >= 1 && head_dim <= TSR_ATTENTION_MAX_HEAD_DIM, "%s: head_dim %lld outside 1..%d", fn,
            (long long)head_dim, TSR_ATTENTION_MAX_HEAD_DIM);
  ATT_CHECK(heads_q % heads_kv == 0, "%s: heads_q %lld is not a multiple of heads_kv %lld", fn,
            (long long)heads_q, (long long)heads_kv);
  ATT_CHECK(key_mask == nullptr || mask_dtype == TSR_I32 || mask_dtype == TSR_I64,
            "%s: key mask dtype %d is not TSR_I32 or TSR_I64", fn, mask_dtype);
  const View *views[4] = {&qs, &ks, &vs, &os};
  const char *names[4] = {"q", "k", "v", "out"};
  const int64_t rows_of[4] = {seq_q, seq_k, seq_k, seq_q};
  for (int i = 0; i < 4; ++i) {
    const View &w = *views[i];
    ATT_CHECK(w.sb >= 0 && w.sh >= 0 && w.sr >= 0,
              "%s: negative stride for %s: batch %lld, head %lld, row %lld (floats)", fn, names[i], (long long)w.sb,
              (long long)w.sh, (long long)w.sr);
    ATT_CHECK(rows_of[i] <= 1 || w.sr >= head_dim,
              "%s: row stride %lld of %s is below head_dim %lld (rows would overlap)", fn, (long long)w.sr,
              names[i], (long long)head_dim);
  }
  ATT_CHECK(no_self_overlap(os, batch, heads_q, seq_q, head_dim),
            "%s: out strides (batch %lld, head %lld, row %lld floats) make elements of out [%lld, %lld, %lld, %lld] "
            "overlap",
            fn, (long long)os.sb, (long long)os.sh, (long long)os.sr, (long long)batch, (long long)heads_q,
            (long long)seq_q, (long long)head_dim);
  if (seq_q == 0) return TSR_OK;
  ATT_CHECK(q && out && (seq_k == 0 || (k && v)), "%s: null pointer", fn);
  const int64_t d = head_dim;
  // a single row's stride is never used to step: make it head_dim so the kernels see a plain layout
  if (seq_q == 1) qs.sr = os.sr = d;
  // rows in groups of 32 per head: what decides the key split below, taken before the GQA regrouping so that a
  // grouped call splits its keys as the same call with K / V repeated per query head would (the same bits)
  const int64_t row_units = batch * heads_q * ((seq_q + 31) / 32);
  // Grouped-query decode: the query heads sharing a KV head become the rows of one block ([B, Hkv, group, D], rows
  // a head apart), so each K / V tile is packed and read once per group instead of once per query head. A row's
  // result does not depend on its block, so the bits are those of one block per head. With one query row, causal
  // lets every key through.
  if (seq_q == 1 && heads_q > heads_kv && heads_q / heads_kv <= kAttnQueryBlock) {
    seq_q = heads_q / heads_kv;
    qs = View{qs.sb, qs.sh * seq_q, qs.sh};
    os = View{os.sb, os.sh * seq_q, os.sh};
    heads_q = heads_kv;
    causal = 0;
  }
  const int64_t group = heads_q / heads_kv;
  if (seq_k <= 1) ks.sr = vs.sr = d;
  const int64_t threads = cpu_threads();
  // query rows per task: the largest block (each block packs every K^T tile once, so bigger blocks
  // pack less) that still gives the pool at least two tasks per thread, never under 32 rows
  int64_t qrows = kAttnQueryBlock;
  while (qrows > 32 && batch * heads_q * ((seq_q + qrows - 1) / qrows) < 2 * threads) qrows /= 2;
  const int64_t nqb = (seq_q + qrows - 1) / qrows;
  const int64_t items = batch * heads_q * nqb;
  // Key chunks per item when the rows alone make few tasks (decode: a few query rows against a long KV cache),
  // each chunk at least kMinKeysPerSplit keys. The count depends on the problem only, never on the thread count:
  // a split changes the order of a row's sums, so deciding it by the pool's size would give other bits on another
  // machine (a row does not depend on the block it is computed in, so qrows may follow the pool).
  int64_t splits = 1;
  if (row_units < kSplitTasks && seq_k >= 2 * kMinKeysPerSplit) {
    splits = (kSplitTasks + row_units - 1) / row_units;
    const int64_t max_splits = seq_k / kMinKeysPerSplit;
    if (splits > max_splits) splits = max_splits;
  }
  // chunks of whole key tiles: only the last one ends in a partial tile
  int64_t chunk = seq_k;
  if (splits > 1) {
    chunk = ((seq_k + splits - 1) / splits + kAttnKeyTile - 1) / kAttnKeyTile * kAttnKeyTile;
    splits = (seq_k + chunk - 1) / chunk;
  }
  const int64_t scratch_n = attn_scratch_floats(d);
  const AttentionKernels &K = AK();
  const int64_t mask_es = mask_dtype == TSR_I64 ? 8 : 4;
  const int64_t limit_base = causal ? seq_k - seq_q : INT64_MAX;

  auto make_task = [&](int64_t item, float *scr) {
    AttnBlock t{};
    const int64_t qb = item % nqb, bh = item / nqb;
    const int64_t h = bh % heads_q, b = bh / heads_q;
    const int64_t hkv = h / group;
    const int64_t row0 = qb * qrows;
    t.q = q + b * qs.sb + h * qs.sh + row0 * qs.sr;
    t.k = seq_k ? k + b * ks.sb + hkv * ks.sh : k;
    t.v = seq_k ? v + b * vs.sb + hkv * vs.sh : v;
    t.q_stride = qs.sr;
    t.k_stride = ks.sr;
    t.v_stride = vs.sr;
    t.head_dim = d;
    t.nq = seq_q - row0 < qrows ? seq_q - row0 : qrows;
    t.kbeg = 0;
    t.kend = seq_k;
    t.limit0 = causal ? limit_base + row0 : INT64_MAX;
    t.mask = key_mask ? static_cast<const char *>(key_mask) + b * seq_k * mask_es : nullptr;
    t.mask_dtype = mask_dtype;
    t.scale = scale;
    t.out = out + b * os.sb + h * os.sh + row0 * os.sr;
    t.out_stride = os.sr;
    t.scratch = scr;
    return t;
  };

  // a scratch buffer that cannot be allocated (here or in a pool worker) ends as TSR_ERR_NO_MEMORY through the
  // entry points' tsr::guarded
  if (splits == 1) {
    // The kernel re-reads a block's query rows for every group of keys: rows far apart (heads sliced out of a
    // fused projection are 3·H·D floats apart) share few L1 sets and get evicted between reads. Gathering the
    // block's rows into a contiguous per-thread buffer first (16 KiB for 128 rows of 32) measured 2-4% faster
    // on MiniLM's attention; k is packed by the kernel anyway and v / out gained nothing from the same.
    const bool gather_q = qs.sr != d;
    parallel_for(items, 1, [&](int64_t b0, int64_t b1) {
      Scratch scr(scratch_n);
      std::unique_ptr<Scratch> qbuf(gather_q ? new Scratch(qrows * d) : nullptr);
      for (int64_t it = b0; it < b1; ++it) {
        AttnBlock t = make_task(it, scr.p);
        if (gather_q) {
          for (int64_t r = 0; r < t.nq; ++r)
            std::memcpy(qbuf->p + r * d, t.q + r * t.q_stride, static_cast<size_t>(d) * sizeof(float));
          t.q = qbuf->p;
          t.q_stride = d;
        }
        K.block(t);
      }
    });
    return TSR_OK;
  }
  // split keys: partial (o, m, l) per (item, split) in contiguous buffers; the task that finishes an item's last
  // part merges its parts by log-sum-exp, in part order (the same sums whichever thread gets there last), in the
  // same pass over the pool: a second parallel_for for the merges cost a decode call ~10-20 us of pool wake-up.
  const int64_t qbk = qrows < seq_q ? qrows : seq_q;  // rows per part (a decode call has one)
  std::unique_ptr<float[]> po(new float[items * splits * qbk * d]);
  std::unique_ptr<float[]> pm(new float[items * splits * qbk]), pl(new float[items * splits * qbk]);
  std::unique_ptr<std::atomic<int64_t>[]> parts_done(new std::atomic<int64_t>[items]);
  for (int64_t i = 0; i < items; ++i) parts_done[i].store(0, std::memory_order_relaxed);
  // the merge kernel writes rows head_dim apart: straight into out when its rows are, else into a
  // contiguous block copied out row by row
  const bool dense_out = os.sr == d;
  parallel_for(items * splits, 1, [&](int64_t b0, int64_t b1) {
    Scratch scr(scratch_n);
    std::vector<float> tmp;
    for (int64_t task = b0; task < b1; ++task) {
      const int64_t item = task / splits, sp = task % splits;
      AttnBlock t = make_task(item, scr.p);
      t.kbeg = sp * chunk < seq_k ? sp * chunk : seq_k;
      t.kend = t.kbeg + chunk < seq_k ? t.kbeg + chunk : seq_k;
      const int64_t base = (item * splits + sp) * qbk;
      t.out = po.get() + base * d;
      t.out_stride = d;
      t.m = pm.get() + base;
      t.l = pl.get() + base;
      K.block(t);
      // acq_rel: this part's writes are published, and the last one sees every other part's
      if (parts_done[item].fetch_add(1, std::memory_order_acq_rel) != splits - 1) continue;
      const int64_t qb = item % nqb, bh = item / nqb;
      const int64_t h = bh % heads_q, b = bh / heads_q;
      const int64_t row0 = qb * qrows;
      const int64_t nq = seq_q - row0 < qrows ? seq_q - row0 : qrows;
      const int64_t ibase = item * splits * qbk;  // the item's parts are qbk rows apart
      float *dst = out + b * os.sb + h * os.sh + row0 * os.sr;
      if (!dense_out && tmp.empty()) tmp.resize(static_cast<size_t>(qbk * d));
      K.merge(po.get() + ibase * d, pm.get() + ibase, pl.get() + ibase, splits, qbk, nq, d,
              dense_out ? dst : tmp.data());
      if (!dense_out)
        for (int64_t r = 0; r < nq; ++r)
          std::memcpy(dst + r * os.sr, tmp.data() + r * d, static_cast<size_t>(d) * sizeof(float));
    }
  });
  return TSR_OK;
}

}  // namespace
}  // namespace tsr

extern "C" int tsr_cpu_attention_strided_f32(const float *q, int64_t q_stride_b, int64_t q_stride_h,
                                             int64_t q_stride_s, const float *k, int64_t k_stride_b,
                                             int64_t k_stride_h, int64_t k_stride_s, const float *v,
                                             int64_t v_stride_b, int64_t v_stride_h, int64_t v_stride_s, float *out,
                                             int64_t out_stride_b, int64_t out_stride_h, int64_t out_stride_s,
                                             int64_t batch, int64_t heads_q, int64_t heads_kv, int64_t seq_q,
                                             int64_t seq_k, int64_t head_dim, const void *key_mask, int mask_dtype,
                                             float scale, int causal) {
  using namespace tsr;
  return guarded(__func__, [&] {
    return attention_impl("tsr_cpu_attention_strided_f32", q, View{q_stride_b, q_stride_h, q_stride_s}, k,
                          View{k_stride_b, k_stride_h, k_stride_s}, v, View{v_stride_b, v_stride_h, v_stride_s}, out,
                          View{out_stride_b, out_stride_h, out_stride_s}, batch, heads_q, heads_kv, seq_q, seq_k,
                          head_dim, key_mask, mask_dtype, scale, causal);
  });
}

extern "C" int tsr_cpu_attention_f32(const float *q, const float *k, const float *v, float *out, int64_t batch,
                                     int64_t heads_q, int64_t heads_kv, int64_t seq_q, int64_t seq_k,
                                     int64_t head_dim, int64_t kv_capacity, const void *key_mask, int mask_dtype,
                                     float scale, int causal) {
  using namespace tsr;
  const char *fn = "tsr_cpu_attention_f32";
  ATT_CHECK(kv_capacity >= seq_k, "%s: kv_capacity %lld < seq_k %lld", fn, (long long)kv_capacity,
            (long long)seq_k);
  const int64_t d = head_dim;
  const View qo{heads_q * seq_q * d, seq_q * d, d};
  const View kv{heads_kv * kv_capacity * d, kv_capacity * d, d};
  return guarded(fn, [&] {
    return attention_impl(fn, q, qo, k, kv, v, kv, out, qo, batch, heads_q, heads_kv, seq_q, seq_k, head_dim,
                          key_mask, mask_dtype, scale, causal);
  });
}
