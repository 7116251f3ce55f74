#pragma once
// Hopper's asynchronous copy machinery (sm_90), as the warp-specialized W4A16 kernel uses it: transaction-count
// barriers in shared memory (mbarrier), the tensor memory accelerator (TMA: a 2-D tile of a row-major matrix into
// shared memory, in the 128-byte swizzle), plain bulk copies of contiguous bytes, named barriers for a subset of
// the block's warps, and the per-warpgroup register budget (setmaxnreg).
//
// Protocol of a full / empty pair of barriers per pipeline stage: the producer thread waits until the stage is
// empty, announces the bytes it will copy (arrive.expect_tx) and starts the copies, which complete the
// transaction on the stage's full barrier; consumers wait for the full barrier's phase, read, and arrive on the
// empty barrier. Phases alternate, so a waiter names the parity of the phase it waits for; a freshly initialized
// barrier counts its previous phase (parity 1) as complete, which lets the producer's first pass run.
#include <cuda.h>
#include <stdint.h>

namespace awq::cuda {

__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// Makes the initializations visible to the async proxy (the TMA unit completes transactions on them).
__device__ __forceinline__ void mbar_init_fence() { asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory"); }

__device__ __forceinline__ void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Spins until the phase of parity `parity` has completed. SEM: "" (acquire at CTA scope) or ".acquire.cluster"
// where the phase may have been completed by arrivals from other blocks of the cluster (mbar_arrive_remote),
// whose reads before them must be ordered before what this thread does next.
#define AWQ_MBAR_WAIT(SEM)                                                                 \
    asm volatile(                                                                          \
        "{\n.reg .pred done;\n"                                                            \
        "WAIT_%=:\n"                                                                       \
        "mbarrier.try_wait.parity" SEM ".shared::cta.b64 done, [%0], %1;\n"                \
        "@!done bra WAIT_%=;\n}\n" ::"r"(bar),                                             \
        "r"(parity)                                                                        \
        : "memory")
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) { AWQ_MBAR_WAIT(""); }
__device__ __forceinline__ void mbar_wait_cluster(uint32_t bar, uint32_t parity) { AWQ_MBAR_WAIT(".acquire.cluster"); }
#undef AWQ_MBAR_WAIT

// Arrive on the barrier at the same shared-memory offset as `bar` in block `rank` of the cluster.
__device__ __forceinline__ void mbar_arrive_remote(uint32_t bar, uint32_t rank) {
    asm volatile(
        "{\n.reg .b32 remote;\n"
        "mapa.shared::cluster.u32 remote, %0, %1;\n"
        "mbarrier.arrive.release.cluster.shared::cluster.b64 _, [remote];\n}\n" ::"r"(bar),
        "r"(rank)
        : "memory");
}
__device__ __forceinline__ uint32_t cluster_rank() {
    uint32_t r;
    asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
    return r;
}
// Every thread of every block of the cluster; orders shared-memory writes (barrier inits too) before the others'
// accesses after it.
__device__ __forceinline__ void cluster_sync_all() {
    asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}

// A box of a 2-D tensor map (coordinates: innermost first) into shared memory; completes on `bar`.
__device__ __forceinline__ void tma_load_2d(uint32_t dst, const CUtensorMap* map, int c0, int c1, uint32_t bar) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::
            "r"(dst),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(bar)
        : "memory");
}
// The same box into the same shared-memory offset of every block in `mask` (bits = cluster ranks, this block's
// included), completing on the barrier at `bar`'s offset in each of them.
__device__ __forceinline__ void tma_load_2d_multicast(uint32_t dst, const CUtensorMap* map, int c0, int c1,
                                                      uint32_t bar, uint16_t mask) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster"
        " [%0], [%1, {%2, %3}], [%4], %5;\n" ::"r"(dst),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(bar), "h"(mask)
        : "memory");
}
// `bytes` contiguous bytes (16-byte aligned at both ends, a multiple of 16) into shared memory; completes on `bar`.
__device__ __forceinline__ void bulk_load(uint32_t dst, const void* src, uint32_t bytes, uint32_t bar) {
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(dst),
                 "l"(src), "r"(bytes), "r"(bar)
                 : "memory");
}

// Stream-K's counters (global memory, GPU scope). A release add publishes what this thread has seen, including what
// other threads of the block stored before a barrier it passed (the release is cumulative); an acquire load makes
// what the releasing threads published visible to this thread and, past a barrier, to the block. One thread's
// release after a named barrier replaces a __threadfence() in every thread (MEMBAR.SC.GPU + ERRBAR + CCTL.IVALL).
__device__ __forceinline__ void red_add_release_gpu(int* p, int v) {
    asm volatile("red.release.gpu.global.add.s32 [%0], %1;\n" ::"l"(p), "r"(v) : "memory");
}
__device__ __forceinline__ int ld_acquire_gpu(const int* p) {
    int v;
    asm volatile("ld.acquire.gpu.global.s32 %0, [%1];\n" : "=r"(v) : "l"(p) : "memory");
    return v;
}

// Barrier `id` (1..15; 0 is __syncthreads) over `threads` threads, a multiple of 32.
__device__ __forceinline__ void named_barrier(int id, int threads) {
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// Registers per thread of the executing warpgroup, from here on (every warp of the warpgroup executes it).
template <int N> __device__ __forceinline__ void regs_dec() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N)); }
template <int N> __device__ __forceinline__ void regs_inc() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N)); }

}  // namespace awq::cuda
