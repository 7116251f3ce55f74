// Error text of the decode kernels (decode_ops.h), per calling thread like awq_w4a16_last_error().
#include "decode_common.cuh"

namespace {
thread_local std::string g_error;
}

namespace awq::cuda::decode {

int fail(const std::string& msg) {
    g_error = "decode: " + msg;
    return 1;
}

int fail_cuda(const char* kernel, cudaError_t e) {
    return fail(std::string(kernel) + " launch failed: " + cudaGetErrorString(e));
}

}  // namespace awq::cuda::decode

extern "C" const char* awq_decode_last_error(void) { return g_error.c_str(); }
