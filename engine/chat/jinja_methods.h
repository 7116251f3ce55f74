#pragma once
// Python methods that chat templates call on values: str (strip, split, startswith, replace, format, ...),
// dict (items, keys, values, get) and the read-only list methods. Methods that mutate a list or dict are
// refused, as Jinja's ImmutableSandboxedEnvironment (used by transformers) refuses them.
#include <string>

#include "chat/jinja_value.h"

namespace awq::jinja {

bool has_method(const Value& obj, const std::string& name);
// The type name ("list"/"dict") when `name` is a mutating method the sandbox refuses, else null.
const char* unsafe_method(const Value& obj, const std::string& name);
Value bound_method(const Value& obj, const std::string& name);
Value call_method(const Value& obj, const std::string& name, CallArgs& args);

// Python str.format() with positional/keyword fields and !r/!s conversions (no format specs).
std::string py_format(const std::string& format, const CallArgs& args);
// printf-style formatting: `format % args` (the % operator and the format filter).
std::string py_percent_format(const std::string& format, const Value& args);

}  // namespace awq::jinja
