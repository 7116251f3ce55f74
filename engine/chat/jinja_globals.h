#pragma once
// The global functions a chat template can call under transformers: Jinja's range/joiner, and the ones
// transformers adds or replaces: raise_exception, strftime_now, dict and namespace.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_strftime.h"
#include "chat/jinja_value.h"

namespace awq::jinja {

// Objects a render creates that can form reference cycles (a namespace stored in itself): the owner
// releases them when the render ends so nothing outlives it.
class RenderObjects {
public:
    void track(const NamespacePtr& ns) { namespaces_.push_back(ns); }
    ~RenderObjects() {
        for (auto& weak : namespaces_)
            if (NamespacePtr ns = weak.lock()) ns->attrs.clear();
    }

private:
    std::vector<std::weak_ptr<NamespaceData>> namespaces_;
};

// `now`: the time strftime_now() reports; absent = the local clock at call time.
std::vector<std::pair<std::string, Value>> make_globals(const std::optional<DateTime>& now,
                                                        const std::shared_ptr<RenderObjects>& objects);

}  // namespace awq::jinja
