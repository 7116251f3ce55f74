#include "tokenizer/post_processor.h"

namespace awq {

void PostProcessor::apply(std::vector<int32_t>& ids, bool add_special) const {
    if (!add_special || (prefix_.empty() && suffix_.empty())) return;
    ids.insert(ids.begin(), prefix_.begin(), prefix_.end());
    ids.insert(ids.end(), suffix_.begin(), suffix_.end());
}

void PostProcessor::append(const PostProcessor& outer) {
    prefix_.insert(prefix_.begin(), outer.prefix_.begin(), outer.prefix_.end());
    suffix_.insert(suffix_.end(), outer.suffix_.begin(), outer.suffix_.end());
}

}  // namespace awq
