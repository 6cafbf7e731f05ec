package dev.tessera.runtime.backend;

import static dev.tessera.bindings.jni.RbmNative.*;
import static dev.tessera.runtime.backend.CpuRbmKernels.addr;
import static dev.tessera.runtime.backend.CpuRbmKernels.cols;
import static dev.tessera.runtime.backend.CpuRbmKernels.rows;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.rbm.RbmKernels;

/**
 * The CUDA backend's RBM kernels: libtessera's {@code tsr_cuda_rbm_*}, queued on the backend's stream of
 * the tensors' device (asynchronous; nothing here synchronises).
 */
final class CudaRbmKernels implements RbmKernels {
    private final CudaBackend backend;

    CudaRbmKernels(CudaBackend backend) {
        this.backend = backend;
    }

    private long stream(Tensor t) {
        return backend.stream(t.device());
    }

    @Override
    public void uniform(long seed, long offset, Tensor out) {
        NativeStatus.check(tsr_cuda_rbm_uniform(seed, offset, out.address(), out.numel(), stream(out)),
                "tsr_cuda_rbm_uniform");
    }

    @Override
    public void sigmoidSample(Tensor pre, Tensor bias, Tensor biasScale, Tensor extra, Tensor prob, Tensor sample,
            long seed, long offset) {
        NativeStatus.check(tsr_cuda_rbm_sigmoid_sample(pre.address(), addr(bias), addr(biasScale), addr(extra),
                prob.address(), addr(sample), rows(prob), cols(prob), seed, offset, stream(prob)),
                "tsr_cuda_rbm_sigmoid_sample");
    }

    @Override
    public void gaussianSample(Tensor pre, Tensor bias, Tensor mean, Tensor sample, long seed, long offset) {
        NativeStatus.check(tsr_cuda_rbm_gaussian_sample(pre.address(), addr(bias), mean.address(), addr(sample),
                rows(mean), cols(mean), seed, offset, stream(mean)), "tsr_cuda_rbm_gaussian_sample");
    }

    @Override
    public void softmaxSample(Tensor pre, Tensor bias, Tensor totals, Tensor prob, Tensor mean, Tensor sample,
            Tensor workspace, long seed, long offset) {
        NativeStatus.check(tsr_cuda_rbm_softmax_sample(pre.address(), addr(bias), addr(totals), prob.address(),
                addr(mean), addr(sample), addr(workspace), rows(prob), cols(prob), seed, offset, stream(prob)),
                "tsr_cuda_rbm_softmax_sample");
    }

    @Override
    public void rowSums(Tensor x, Tensor out) {
        NativeStatus.check(tsr_cuda_rbm_row_sums(x.address(), out.address(), rows(x), cols(x), stream(x)),
                "tsr_cuda_rbm_row_sums");
    }

    @Override
    public void colStats(Tensor pos, Tensor posScale, float alphaPos, Tensor neg, Tensor negScale, float alphaNeg,
            Tensor out) {
        NativeStatus.check(tsr_cuda_rbm_col_stats(pos.address(), addr(posScale), rows(pos), alphaPos, addr(neg),
                addr(negScale), neg == null ? 0 : rows(neg), alphaNeg, out.address(), out.numel(), stream(out)),
                "tsr_cuda_rbm_col_stats");
    }

    @Override
    public void update(Tensor param, Tensor velocity, Tensor grad, float lr, float momentum, float decay) {
        NativeStatus.check(tsr_cuda_rbm_update(param.address(), velocity.address(), grad.address(), param.numel(), lr,
                momentum, decay, stream(param)), "tsr_cuda_rbm_update");
    }

    @Override
    public void freeEnergy(int visibleType, Tensor v, Tensor pre, Tensor vbias, Tensor hbias, Tensor totals,
            Tensor out) {
        NativeStatus.check(tsr_cuda_rbm_free_energy(visibleType, v.address(), pre.address(), vbias.address(),
                hbias.address(), addr(totals), out.address(), rows(v), cols(v), cols(pre), stream(v)),
                "tsr_cuda_rbm_free_energy");
    }

    @Override
    public void squaredError(Tensor a, Tensor b, Tensor out) {
        NativeStatus.check(tsr_cuda_rbm_sq_error(a.address(), b.address(), out.address(), rows(a), cols(a),
                stream(a)), "tsr_cuda_rbm_sq_error");
    }
}
