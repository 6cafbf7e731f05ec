package dev.tessera.bindings.jni;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI entry points of {@code native/include/tessera/attention.h}: fused scaled dot-product attention
 * (layout {@code [batch, heads, seq, head_dim]}, grouped-query, causal and key-padding masks; strided views
 * on the CPU, KV-cache views through {@code kvCapacity}) on the CPU (host addresses, fp32) and on CUDA (device addresses, a
 * dtype code, a workspace and a {@code cudaStream_t}). Same conventions as
 * {@link dev.tessera.bindings.TesseraNative}: raw addresses, status codes, arguments validated by the
 * runtime ({@code dev.tessera.runtime.Attention}) before the call.
 */
@Platform(include = {"tessera/tessera.h", "tessera/attention.h"}, link = "tessera")
public final class AttentionNative {
    static {
        // libtessera itself is packaged once, beside TesseraNative: load it first so this JNI library
        // links against the already-loaded copy.
        dev.tessera.bindings.NativeLibrary.load();
        Loader.load();
    }

    private AttentionNative() {}

    // ---- CPU ----
    /**
     * Strided views: q, k, v and out {@code [batch, heads, seq, head_dim]} with a unit last-dim stride and the
     * given batch / head / row strides in floats (see {@code tsr_cpu_attention_strided_f32} in attention.h).
     */
    public static native int tsr_cpu_attention_strided_f32(@Cast("const float*") long q, long qStrideB,
            long qStrideH, long qStrideS, @Cast("const float*") long k, long kStrideB, long kStrideH, long kStrideS,
            @Cast("const float*") long v, long vStrideB, long vStrideH, long vStrideS, @Cast("float*") long out,
            long outStrideB, long outStrideH, long outStrideS, long batch, long headsQ, long headsKv, long seqQ,
            long seqK, long headDim, @Cast("const void*") long keyMask, int maskDtype, float scale, int causal);

    /** Contiguous q / out, k / v with {@code kvCapacity} rows per head. */
    public static native int tsr_cpu_attention_f32(@Cast("const float*") long q, @Cast("const float*") long k,
            @Cast("const float*") long v, @Cast("float*") long out, long batch, long headsQ, long headsKv, long seqQ,
            long seqK, long headDim, long kvCapacity, @Cast("const void*") long keyMask, int maskDtype, float scale,
            int causal);

    // ---- CUDA ----
    /** Workspace bytes for {@link #tsr_cuda_attention} on the current device, or a negative status. */
    public static native long tsr_cuda_attention_workspace_bytes(int dtype, long batch, long headsQ, long headsKv,
            long seqQ, long seqK, long headDim);

    /** {@code TSR_ATTENTION_KERNEL_AUTO}: the library's choice of tensor-core kernel (currently V1). */
    public static final int KERNEL_AUTO = 0;
    /** {@code TSR_ATTENTION_KERNEL_V1}: flash_mma (64 query rows per block, single-buffered key tiles). */
    public static final int KERNEL_V1 = 1;
    /** {@code TSR_ATTENTION_KERNEL_V2}: flash_mma_v2 (128 query rows per block, double-buffered key tiles). */
    public static final int KERNEL_V2 = 2;
    /** {@code TSR_ATTENTION_KERNEL_SIMT}: flash_simt (a value of {@link #tsr_cuda_attention_last_kernel} only). */
    public static final int KERNEL_SIMT = 3;
    /** {@code TSR_ATTENTION_KERNEL_SIMT_ROWS}: flash_simt_rows, the F32 prefill kernel (a last-kernel value only). */
    public static final int KERNEL_SIMT_ROWS = 4;
    /**
     * {@code TSR_ATTENTION_KERNEL_WGMMA}: flash_wgmma (Hopper wgmma, sm_90a; 128 query rows per block in two
     * warpgroups, double-buffered 128-key tiles); AUTO's pick on compute capability 9.0 for head_dim 128, head_dim
     * 64 without a causal mask and head_dim 64 causal from 4096 query rows. On a
     * device other than compute capability 9.0 the F16/BF16 tensor-core path returns {@code TSR_ERR_UNSUPPORTED}.
     */
    public static final int KERNEL_WGMMA = 5;

    /**
     * The kernel the calling thread's last successful {@link #tsr_cuda_attention} queued ({@link #KERNEL_V1},
     * {@link #KERNEL_V2}, {@link #KERNEL_WGMMA}, {@link #KERNEL_SIMT}, {@link #KERNEL_SIMT_ROWS}; 0 none yet): for
     * tests and benchmarks.
     */
    public static native int tsr_cuda_attention_last_kernel();

    /** {@code TSR_WGMMA_SCHEDULE_PINGPONG}: flash_wgmma's default schedule (a last-schedule value). */
    public static final int SCHEDULE_PINGPONG = 1;
    /** {@code TSR_WGMMA_SCHEDULE_LOCKSTEP}: flash_wgmma's first schedule ({@code TESSERA_WGMMA_SCHEDULE=lockstep}). */
    public static final int SCHEDULE_LOCKSTEP = 2;
    /**
     * {@code TSR_WGMMA_SCHEDULE_WS}: flash_wgmma_ws, the warp-specialised TMA kernel ({@code TESSERA_WGMMA_SCHEDULE=ws},
     * {@code ws2}, {@code ws3}, and {@code wsp}, {@code wsp2}, {@code wsp3} for its persistent grid; not yet run on a
     * GPU).
     */
    public static final int SCHEDULE_WS = 3;

    /**
     * The flash_wgmma schedule of the calling thread's last successful {@link #tsr_cuda_attention} ({@link
     * #SCHEDULE_PINGPONG}, {@link #SCHEDULE_LOCKSTEP}, {@link #SCHEDULE_WS}), or 0 when it ran another kernel: for
     * probes and A / B timings (a {@code ws} request runs ping-pong where it has no tensor maps).
     */
    public static native int tsr_cuda_attention_last_schedule();

    /**
     * Queues the attention on {@code stream}; {@code kernel} is one of {@link #KERNEL_AUTO}, {@link #KERNEL_V1},
     * {@link #KERNEL_V2}, {@link #KERNEL_WGMMA} (F16/BF16 tensor-core path only; every kernel computes the same
     * function).
     */
    public static native int tsr_cuda_attention(int dtype, @Cast("const void*") long q, @Cast("const void*") long k,
            @Cast("const void*") long v, @Cast("void*") long out, long batch, long headsQ, long headsKv, long seqQ,
            long seqK, long headDim, long kvCapacity, @Cast("const void*") long keyMask, int maskDtype, float scale,
            int causal, @Cast("void*") long workspace, long workspaceBytes, @Cast("void*") long stream, int kernel);
}
