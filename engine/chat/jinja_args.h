#pragma once
// Binds the positional and keyword arguments of a call to a builtin (filter, test, method or global) to
// its parameter list, with Python's error messages for missing, duplicate or unexpected arguments.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/jinja_error.h"
#include "chat/jinja_value.h"

namespace awq::jinja {

class BoundArgs {
public:
    // `required`: how many leading parameters must be given.
    BoundArgs(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> params,
              size_t required = 0)
        : function_(function) {
        std::vector<std::string_view> names(params);
        values_.resize(names.size());
        if (args.positional.size() > names.size())
            throw TemplateError(function_ + "() takes at most " + std::to_string(names.size()) + " argument" +
                                (names.size() == 1 ? "" : "s") + " (" + std::to_string(args.positional.size()) +
                                " given)");
        for (size_t i = 0; i < args.positional.size(); ++i) values_[i] = args.positional[i];
        for (const auto& kw : args.keyword) {
            size_t k = 0;
            while (k < names.size() && names[k] != kw.first) ++k;
            if (k == names.size())
                throw TemplateError(function_ + "() got an unexpected keyword argument '" + kw.first + "'");
            if (values_[k]) throw TemplateError(function_ + "() got multiple values for argument '" + kw.first + "'");
            values_[k] = kw.second;
        }
        for (size_t i = 0; i < required; ++i)
            if (!values_[i])
                throw TemplateError(function_ + "() missing required argument '" + std::string(names[i]) + "'");
    }

    bool has(size_t i) const { return values_[i].has_value(); }
    // Given and not None: Python's `if arg is not None`.
    bool given(size_t i) const { return values_[i].has_value() && !values_[i]->is_none(); }
    const Value& operator[](size_t i) const {
        static const Value missing;
        return values_[i] ? *values_[i] : missing;
    }
    Value get(size_t i, Value fallback) const { return values_[i] ? *values_[i] : std::move(fallback); }

    int64_t get_int(size_t i, int64_t fallback) const {
        if (!values_[i] || values_[i]->is_none()) return fallback;
        if (!values_[i]->is_integral())
            throw TemplateError(function_ + "(): expected an integer, got '" + type_name(*values_[i]) + "'");
        return values_[i]->as_int();
    }
    std::string get_string(size_t i, std::string fallback) const {
        if (!values_[i] || values_[i]->is_none()) return fallback;
        if (!values_[i]->is_string())
            throw TemplateError(function_ + "(): expected a string, got '" + type_name(*values_[i]) + "'");
        return values_[i]->as_string();
    }
    bool get_bool(size_t i, bool fallback) const { return values_[i] ? truthy(*values_[i]) : fallback; }

private:
    std::string function_;
    std::vector<std::optional<Value>> values_;
};

}  // namespace awq::jinja
