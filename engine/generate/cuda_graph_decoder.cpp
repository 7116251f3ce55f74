#include "generate/cuda_graph_decoder.h"

#include <string>

#include <ATen/ATen.h>

#include "core/error.h"
#include "model/llama_model.h"

#ifdef AWQ_HAVE_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace awq {

int64_t CudaGraphDecoder::padded_capacity(int64_t tokens) { return (tokens + 63) / 64 * 64; }

#ifdef AWQ_HAVE_CUDA

struct CudaGraphDecoder::Impl {
    LlamaModel* model = nullptr;
    KVCache* cache = nullptr;
    int64_t batch = 0;
    at::Tensor input;     // int64 [B + 1] on the device: the B token ids, then the position (one copy per step)
    at::Tensor ids;       // [B, 1] view of input
    at::Tensor position;  // [1] view of input
    at::Tensor cos, sin;  // [capacity, head_dim]
    at::Tensor logits;    // the graph's output
    at::cuda::CUDAGraph graph;
    // Device greedy: slot t % kGreedyInFlight of `tokens` (pinned host memory) receives ticket t's tokens,
    // ready when events[slot] has completed.
    bool greedy = false;
    at::Tensor tokens;  // int64 [kGreedyInFlight, B], pinned
    cudaEvent_t events[kGreedyInFlight] = {};
    int64_t queued = 0, read = 0;  // tickets issued, tickets read

    ~Impl() {
        if (queued > read) (void)cudaEventSynchronize(events[(queued - 1) % kGreedyInFlight]);
        for (cudaEvent_t e : events)
            if (e) (void)cudaEventDestroy(e);
    }
};

bool CudaGraphDecoder::supported(const LlamaModel& model) { return model.device().is_cuda() && !model.offload(); }

CudaGraphDecoder::CudaGraphDecoder(LlamaModel& model, KVCache& cache, bool device_greedy)
    : impl_(std::make_unique<Impl>()) {
    if (!supported(model)) throw Error("cuda graph", "needs the model on a CUDA device without offload");
    if (cache.k.empty()) throw Error("cuda graph", "empty KV cache");
    if (cache.length >= cache.capacity) throw Error("cuda graph", "KV cache full: no slot for a decode step");
    Impl& m = *impl_;
    m.model = &model;
    m.cache = &cache;
    m.batch = cache.k[0].size(0);
    const at::Device dev = model.device();
    c10::cuda::CUDAGuard device_guard(dev);
    m.input = at::zeros({m.batch + 1}, at::TensorOptions().device(dev).dtype(at::kLong));
    m.ids = m.input.narrow(0, 0, m.batch).view({m.batch, 1});
    m.position = m.input.narrow(0, m.batch, 1);
    m.position.fill_(cache.length);
    std::tie(m.cos, m.sin) = model.rope_tables(cache.capacity);

    // Capture needs a stream other than the legacy default one; it must first see the prefill's writes.
    c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream(dev.index());
    c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, dev.index());
    caller.synchronize();
    c10::cuda::CUDAStreamGuard stream_guard(side);
    // Warm-up outside the capture: first-use allocations (cuBLAS handle and workspace for this stream, the
    // 4-bit kernels' workspace, the allocator's blocks) must not happen while capturing.
    {
        at::Tensor warm = model.decode_step_static(m.ids, m.position, cache, m.cos, m.sin);
        if (device_greedy) (void)warm.reshape({m.batch, -1}).argmax(1);  // its first-use work, outside the capture
    }
    side.synchronize();
    bool capturing = false;
    try {
        m.graph.capture_begin();
        capturing = true;
        m.logits = model.decode_step_static(m.ids, m.position, cache, m.cos, m.sin);
        if (device_greedy) {
            // The next step's input: this step's argmax per row, and the next slot.
            at::Tensor next = m.input.narrow(0, 0, m.batch);
            at::argmax_out(next, m.logits.reshape({m.batch, -1}), 1, false);
            m.position.add_(1);
        }
        capturing = false;
        m.graph.capture_end();
    } catch (const std::exception& e) {
        // Something in the step cannot be captured (a host synchronisation, a launch on the legacy stream...).
        // End the capture so that the allocator and the stream return to normal, then report.
        if (capturing) {
            try {
                m.graph.capture_end();
            } catch (...) {
            }
        }
        (void)cudaGetLastError();  // capture errors are not sticky; clear them for the eager path
        m.logits = at::Tensor();
        std::string what = e.what();
        if (what.size() > 400) what = what.substr(0, 400) + "...";
        throw Error("cuda graph", "capturing the decode step failed: " + what);
    }
    side.synchronize();
    if (device_greedy) {
        m.greedy = true;
        m.tokens = at::empty({kGreedyInFlight, m.batch}, at::TensorOptions().dtype(at::kLong).pinned_memory(true));
        for (cudaEvent_t& e : m.events)
            if (cudaEventCreateWithFlags(&e, cudaEventDisableTiming) != cudaSuccess)
                throw Error("cuda graph", "could not create the events of device-greedy decoding");
    }
}

CudaGraphDecoder::~CudaGraphDecoder() = default;

int64_t CudaGraphDecoder::queue_greedy_step(const std::vector<int32_t>& first_ids) {
    Impl& m = *impl_;
    if (!m.greedy) throw Error("cuda graph", "queue_greedy_step needs a decoder captured with device_greedy");
    if (m.cache->length >= m.cache->capacity)
        throw Error("cuda graph", "KV cache full: " + std::to_string(m.cache->capacity) + " tokens");
    if (m.queued - m.read >= kGreedyInFlight)
        throw Error("cuda graph", "more than " + std::to_string(kGreedyInFlight) + " greedy steps queued and unread");
    c10::cuda::CUDAGuard device_guard(m.model->device());
    if (!first_ids.empty()) {
        if ((int64_t)first_ids.size() != m.batch)
            throw Error("cuda graph", "first ids: " + std::to_string(first_ids.size()) + " for batch " + std::to_string(m.batch));
        at::Tensor host = at::empty({m.batch + 1}, at::kLong);
        for (int64_t b = 0; b < m.batch; ++b) host.data_ptr<int64_t>()[b] = first_ids[b];
        host.data_ptr<int64_t>()[m.batch] = m.cache->length;
        m.input.copy_(host);
    }
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream(m.model->device().index()).stream();
    m.graph.replay();
    const int slot = (int)(m.queued % kGreedyInFlight);
    cudaError_t e = cudaMemcpyAsync(m.tokens.data_ptr<int64_t>() + slot * m.batch, m.input.data_ptr<int64_t>(),
                                    m.batch * sizeof(int64_t), cudaMemcpyDeviceToHost, stream);
    if (e == cudaSuccess) e = cudaEventRecord(m.events[slot], stream);
    if (e != cudaSuccess) throw Error("cuda graph", std::string("queueing a greedy step: ") + cudaGetErrorString(e));
    m.cache->length += 1;
    return m.queued++;
}

std::vector<int32_t> CudaGraphDecoder::greedy_tokens(int64_t ticket) {
    Impl& m = *impl_;
    if (!m.greedy) throw Error("cuda graph", "greedy_tokens needs a decoder captured with device_greedy");
    if (ticket != m.read || ticket >= m.queued)
        throw Error("cuda graph", "greedy tokens are read in order: expected ticket " + std::to_string(m.read));
    const int slot = (int)(ticket % kGreedyInFlight);
    if (cudaError_t e = cudaEventSynchronize(m.events[slot]); e != cudaSuccess)
        throw Error("cuda graph", std::string("decode step failed: ") + cudaGetErrorString(e));
    const int64_t* p = m.tokens.data_ptr<int64_t>() + slot * m.batch;
    std::vector<int32_t> out(p, p + m.batch);
    ++m.read;
    return out;
}

void CudaGraphDecoder::drain() {
    Impl& m = *impl_;
    if (m.queued > m.read) {
        (void)cudaEventSynchronize(m.events[(m.queued - 1) % kGreedyInFlight]);
        m.read = m.queued;
    }
}

at::Tensor CudaGraphDecoder::step(const at::Tensor& ids) {
    Impl& m = *impl_;
    if (ids.dim() != 2 || ids.size(0) != m.batch || ids.size(1) != 1)
        throw Error("cuda graph", "decode step takes ids [" + std::to_string(m.batch) + ", 1]");
    if (m.cache->length >= m.cache->capacity)
        throw Error("cuda graph", "KV cache full: " + std::to_string(m.cache->capacity) + " tokens");
    c10::cuda::CUDAGuard device_guard(m.model->device());
    at::Tensor host = at::empty({m.batch + 1}, at::kLong);
    host.narrow(0, 0, m.batch).copy_(ids.reshape({m.batch}).to(at::kCPU, at::kLong));
    host.data_ptr<int64_t>()[m.batch] = m.cache->length;
    m.input.copy_(host);
    m.graph.replay();
    m.cache->length += 1;
    return m.logits;
}

#else  // no CUDA in this build

struct CudaGraphDecoder::Impl {};

bool CudaGraphDecoder::supported(const LlamaModel&) { return false; }

CudaGraphDecoder::CudaGraphDecoder(LlamaModel&, KVCache&, bool) {
    throw Error("cuda graph", "this build has no CUDA support");
}

CudaGraphDecoder::~CudaGraphDecoder() = default;

at::Tensor CudaGraphDecoder::step(const at::Tensor&) { throw Error("cuda graph", "this build has no CUDA support"); }
int64_t CudaGraphDecoder::queue_greedy_step(const std::vector<int32_t>&) {
    throw Error("cuda graph", "this build has no CUDA support");
}
std::vector<int32_t> CudaGraphDecoder::greedy_tokens(int64_t) { throw Error("cuda graph", "this build has no CUDA support"); }
void CudaGraphDecoder::drain() {}

#endif

}  // namespace awq
