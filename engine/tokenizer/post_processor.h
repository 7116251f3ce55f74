#pragma once
// Post-processors of tokenizer.json ("post_processor") reduced to what they do to the ids of a single
// sequence: TemplateProcessing (and Bert/Roberta) put special tokens around it when add_special is set;
// ByteLevel only adjusts offsets, which this engine does not track.
#include <cstdint>
#include <optional>
#include <vector>

namespace awq {

class PostProcessor {
public:
    // The single-sequence template: ids before and after the sequence. An empty template adds nothing.
    PostProcessor() = default;
    PostProcessor(std::vector<int32_t> prefix, std::vector<int32_t> suffix)
        : prefix_(std::move(prefix)), suffix_(std::move(suffix)) {}

    void apply(std::vector<int32_t>& ids, bool add_special) const;

    // Chaining (a "Sequence" of processors): the other's tokens go outside this one's.
    void append(const PostProcessor& outer);

    const std::vector<int32_t>& prefix() const { return prefix_; }
    const std::vector<int32_t>& suffix() const { return suffix_; }

private:
    std::vector<int32_t> prefix_, suffix_;
};

}  // namespace awq
