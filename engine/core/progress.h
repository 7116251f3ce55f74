#pragma once
// Long operations (load, convert, perplexity, quantize, export) take a Progress: a callback for
// "step i of n, phase" and a cancel flag that the caller (GUI thread, Ctrl-C handler) may set at any time.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/error.h"

namespace awq {

struct ProgressEvent {
    std::string phase;    // e.g. "perplexity", "block 3/30: scale search"
    int64_t done = 0;
    int64_t total = 0;
};

struct Progress {
    std::function<void(const ProgressEvent&)> on_progress;  // may be empty
    const std::atomic<bool>* cancel = nullptr;             // may be null

    void report(const std::string& phase, int64_t done, int64_t total) const {
        if (on_progress) on_progress(ProgressEvent{phase, done, total});
    }
    bool cancelled() const { return cancel && cancel->load(std::memory_order_relaxed); }
    // Call at every safe point; throws awq::Cancelled.
    void check_cancel() const {
        if (cancelled()) throw Cancelled();
    }
};

}  // namespace awq
