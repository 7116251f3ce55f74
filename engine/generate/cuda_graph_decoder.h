#pragma once
// Decode steps replayed from a CUDA graph. At batch 1-8 a 7B decode step is hundreds of small kernels whose
// launch cost exceeds their run time; capturing the step once and replaying it removes that cost. The captured
// step has static shapes (LlamaModel::decode_step_static): input ids and the position live in one device
// buffer that each step overwrites, the KV cache keeps its full capacity, attention covers the whole capacity
// under a mask made on the device. The graph is valid for one cache (batch and capacity fixed).
//
// No CUDA headers here: this header is included by code that builds without CUDA.
#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

namespace awq {

class LlamaModel;
struct KVCache;

class CudaGraphDecoder {
public:
    // True when this build has CUDA and `model` runs on a CUDA device without offload.
    static bool supported(const LlamaModel& model);
    // Capacity to allocate for `tokens` so that the attention kernels see an aligned key length.
    static int64_t padded_capacity(int64_t tokens);

    // Warms up (lazy allocations, cuBLAS workspaces, the 4-bit kernels' workspace) and captures one decode
    // step for `cache` at its current length. The warm-up writes a dummy token's K/V into slot cache.length,
    // which the first step() overwrites before anything reads it. Throws awq::Error when capture fails (the
    // CUDA state is cleaned up, so the caller may continue eagerly).
    // With device_greedy the captured step also picks each row's next token on the device (argmax of the
    // logits, first index on ties: the host sampler's temperature-0 rule), writes it as the next step's input
    // and advances the position. Steps then chain on the device and the host can queue the next one before
    // it has read this one's token: the GPU no longer idles for the logits' copy, the host's argmax and the
    // launch between steps (queue_greedy_step / greedy_tokens).
    CudaGraphDecoder(LlamaModel& model, KVCache& cache, bool device_greedy = false);
    ~CudaGraphDecoder();
    CudaGraphDecoder(const CudaGraphDecoder&) = delete;
    CudaGraphDecoder& operator=(const CudaGraphDecoder&) = delete;

    // ids [B, 1] (any device, integer) -> logits [B, 1, V] on the device: the graph's output buffer, valid
    // until the next step. Appends the tokens to the cache (cache.length += 1).
    at::Tensor step(const at::Tensor& ids);

    // Device-greedy decoders only. Queues one step without waiting for anything: its input is `first_ids`
    // ([B] host ids, for the first step after the prefill) or, when empty, the previous step's tokens. Appends
    // to the cache (cache.length += 1). Returns a ticket for greedy_tokens(). At most kGreedyInFlight tickets
    // may be unread; queueing past that (or past the cache's capacity) throws awq::Error.
    static constexpr int kGreedyInFlight = 4;
    int64_t queue_greedy_step(const std::vector<int32_t>& first_ids = {});
    // Waits for the step of `ticket` (the oldest unread one) and returns its token per row.
    std::vector<int32_t> greedy_tokens(int64_t ticket);
    // Waits for every queued step (the caller stops early, e.g. at EOS, with steps still in flight).
    void drain();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace awq
