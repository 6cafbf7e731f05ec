// flash_simt_rows: the F32 prefill attention on CUDA cores, four query rows per warp.
//
// flash_simt (attention.cu) gives each warp one query row: per 32-key tile every lane reads a whole K row and the
// query from shared memory for one dot product (two loads per FMA), then 32 shuffles feed P to the PV loop, and a
// block of 4 rows stages the whole K / V of its (batch, KV head) from global memory. On an H100 that ran the
// MiniLM-shaped attention (32 x 12 heads x 128 x 128, head_dim 32) at ~2.4 TFLOP/s, 40% of the model's forward.
// Here a warp owns kRowsPerWarp = 4 rows (16 per block of 4 warps), so every K and V value read from shared memory
// feeds four FMAs, the four rows' chains are independent, K / V tiles are staged once per 16 rows with 16-byte
// loads, and P goes through a small shared buffer read back as float4 broadcasts instead of shuffles.
//
//   scores   lane j scores key j0 + j for the warp's 4 rows: per 4 columns one float4 of K (row stride ks with
//            ks / 4 odd: the 8 lanes of a 16-byte phase hit distinct banks) and four float4 broadcasts of Q
//   softmax  per row, as flash_simt (log2 domain, NaN-propagating max, online rescaling; a row with nothing visible
//            yet is left untouched)
//   PV       lane c accumulates columns c, c + 32, ... of the 4 rows: per key one V value (row-contiguous, no
//            conflicts) times the 4 rows' probabilities (float4 broadcasts from Ps)
//
// Same function as flash_simt (masks, causal alignment to the end of the keys, GQA rows of a group sharing the KV
// head, zero rows, NaN propagation), same summation order within a dot product. Applies to F32, head_dim a multiple
// of 4 up to 128, 16-byte aligned q / k / v, no key split; tsr_cuda_attention picks it for prefill when the grid
// has enough blocks (see the dispatch). native/test/attention_simt_emulated.cpp runs it (and flash_simt) on the CPU
// against a float64 reference.
//
// Needs, from the including file: kSK, kSimtWarps, kSimtThreads, SimtArgs (attention_mma.cuh), nanmax, warp_sum,
// key_kept, i64min, i64max, and float4 / __syncthreads / __syncwarp / __shfl_xor_sync.
#ifndef TESSERA_SRC_CUDA_ATTENTION_SIMT_ROWS_CUH
#define TESSERA_SRC_CUDA_ATTENTION_SIMT_ROWS_CUH

constexpr int kRowsPerWarp = 4;
constexpr int kRowsPerBlock = kSimtWarps * kRowsPerWarp;

// K row stride in floats: a multiple of 4 (float4 rows) with ks / 4 odd (conflict-free float4 reads by 8 lanes).
__host__ __device__ __forceinline__ int simt_rows_k_stride(int d) { return d % 8 == 0 ? d + 4 : d; }

inline int64_t simt_rows_smem_bytes(int64_t d) {
  const int64_t ks = simt_rows_k_stride(static_cast<int>(d));
  return (kSK * ks + kSK * d + kRowsPerBlock * d + kSimtWarps * kRowsPerWarp * kSK + kSK) *
         static_cast<int64_t>(sizeof(float));
}

// DPL = output columns per lane (head_dim <= 32 * DPL). a.rowblocks counts blocks of kRowsPerBlock rows.
template <int DPL>
__global__ void __launch_bounds__(kSimtThreads) flash_simt_rows(SimtArgs a) {
  constexpr int R = kRowsPerWarp;
  extern __shared__ float4 fsm_rows[];  // 16-byte aligned rows
  float *const fsm = reinterpret_cast<float *>(fsm_rows);
  const int di = static_cast<int>(a.d);
  const int d4 = di / 4;
  const int64_t sk = a.seq_k, sq = a.seq_q;
  const int ks = simt_rows_k_stride(di);
  float *Ks = fsm;                        // [kSK][ks]
  float *Vs = Ks + kSK * ks;              // [kSK][di]
  float *Qs = Vs + kSK * di;              // [kRowsPerBlock][di], scaled to the log2 domain
  float *Ps = Qs + kRowsPerBlock * di;    // [kSimtWarps][R][kSK]: this tile's probabilities
  float *kept = Ps + kSimtWarps * R * kSK;  // [kSK]: 0 = usable key, -inf = padding or past the tile

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int64_t rb = blockIdx.x % a.rowblocks, bkv = blockIdx.x / a.rowblocks;
  const int64_t b = bkv / a.heads_kv, kvh = bkv % a.heads_kv;
  const int64_t group = a.heads_q / a.heads_kv;
  const int64_t nrows = group * sq;
  const int64_t shift = sk - sq;
  const int64_t kvoff = (b * a.heads_kv + kvh) * a.cap * a.d;
  const float *kp = static_cast<const float *>(a.k) + kvoff;
  const float *vp = static_cast<const float *>(a.v) + kvoff;
  const void *mrow = a.mask ? static_cast<const char *>(a.mask) + b * sk * (a.mask_dtype == TSR_I64 ? 8 : 4)
                            : nullptr;

  // this warp's rows (in (head of the group, query) order, as flash_simt)
  int64_t orow[R], lim[R];
  bool valid[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int64_t row = rb * kRowsPerBlock + warp * R + r;
    valid[r] = row < nrows;
    const int64_t h = kvh * group + (valid[r] ? row / sq : 0), i = valid[r] ? row % sq : 0;
    orow[r] = (b * a.heads_q + h) * sq + i;
    lim[r] = a.causal ? i + shift : sk - 1;  // the row sees keys j <= lim
    const float *qrow = static_cast<const float *>(a.q) + orow[r] * a.d;
    for (int c = lane; c < di; c += 32) Qs[(warp * R + r) * di + c] = valid[r] ? qrow[c] * a.scale_log2 : 0.0f;
  }
  // keys any row of the block may see
  int64_t ke = sk;
  if (a.causal) {
    const int64_t last_row = i64min(nrows, (rb + 1) * kRowsPerBlock) - 1;
    int64_t last = -1;
    for (int64_t row = rb * kRowsPerBlock; row <= last_row; ++row) last = i64max(last, row % sq + shift);
    ke = i64min(ke, last + 1);
  }

  float acc[R][DPL];
  float m[R], l[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
#pragma unroll
    for (int x = 0; x < DPL; ++x) acc[r][x] = 0.0f;
  }
  float *pw = Ps + warp * R * kSK;
  for (int64_t j0 = 0; j0 < ke; j0 += kSK) {
    const int nk = static_cast<int>(i64min(kSK, ke - j0));
    __syncthreads();  // previous tile consumed (and Qs written, first time)
    for (int r = warp; r < kSK; r += kSimtWarps) {
      const bool in = r < nk;
      const float4 *kg = reinterpret_cast<const float4 *>(kp + (j0 + r) * a.d);
      const float4 *vg = reinterpret_cast<const float4 *>(vp + (j0 + r) * a.d);
      for (int c4 = lane; c4 < d4; c4 += 32) {
        const float4 z = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        *reinterpret_cast<float4 *>(Ks + r * ks + 4 * c4) = in ? kg[c4] : z;
        *reinterpret_cast<float4 *>(Vs + r * di + 4 * c4) = in ? vg[c4] : z;
      }
    }
    if (tid < kSK) kept[tid] = (tid < nk && key_kept(mrow, a.mask_dtype, j0 + tid)) ? 0.0f : -INFINITY;
    __syncthreads();

    // scores of key j0 + lane for the 4 rows
    float s[R];
#pragma unroll
    for (int r = 0; r < R; ++r) s[r] = 0.0f;
    const float *kr = Ks + lane * ks;
    const float *qw = Qs + warp * R * di;
    for (int c = 0; c < di; c += 4) {
      const float4 kk = *reinterpret_cast<const float4 *>(kr + c);
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const float4 qq = *reinterpret_cast<const float4 *>(qw + r * di + c);
        s[r] = fmaf(qq.x, kk.x, s[r]);
        s[r] = fmaf(qq.y, kk.y, s[r]);
        s[r] = fmaf(qq.z, kk.z, s[r]);
        s[r] = fmaf(qq.w, kk.w, s[r]);
      }
    }
    const bool key_ok = kept[lane] == 0.0f;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const float sr = (key_ok && j0 + lane <= lim[r]) ? s[r] : -INFINITY;
      float mx = sr;
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) mx = nanmax(mx, __shfl_xor_sync(0xffffffffu, mx, o));
      const float mnew = nanmax(m[r], mx);
      float p = 0.0f;
      if (mnew != -INFINITY) {  // warp-uniform: something visible
        p = exp2f(sr - mnew);
        const float corr = exp2f(m[r] - mnew);
        l[r] = l[r] * corr + warp_sum(p);
        m[r] = mnew;
#pragma unroll
        for (int x = 0; x < DPL; ++x) acc[r][x] *= corr;
      }
      pw[r * kSK + lane] = p;
    }
    __syncwarp();
    // PV over the tile's keys, four at a time (probabilities past nk are 0, V rows past nk are 0)
    for (int j = 0; j < nk; j += 4) {
      float4 pr[R];
#pragma unroll
      for (int r = 0; r < R; ++r) pr[r] = *reinterpret_cast<const float4 *>(pw + r * kSK + j);
#pragma unroll
      for (int jj = 0; jj < 4; ++jj) {
        const float *vr = Vs + (j + jj) * di;
#pragma unroll
        for (int x = 0; x < DPL; ++x) {
          const int c = lane + 32 * x;
          const float v = c < di ? vr[c] : 0.0f;
#pragma unroll
          for (int r = 0; r < R; ++r) {
            const float p = jj == 0 ? pr[r].x : jj == 1 ? pr[r].y : jj == 2 ? pr[r].z : pr[r].w;
            acc[r][x] = fmaf(p, v, acc[r][x]);
          }
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    if (!valid[r]) continue;
    float *op = static_cast<float *>(a.out) + orow[r] * a.d;
    const float inv = l[r] == 0.0f ? 0.0f : 1.0f / l[r];
#pragma unroll
    for (int x = 0; x < DPL; ++x) {
      const int c = lane + 32 * x;
      if (c < di) op[c] = inv == 0.0f ? 0.0f : acc[r][x] * inv;
    }
  }
}

#endif  // TESSERA_SRC_CUDA_ATTENTION_SIMT_ROWS_CUH
