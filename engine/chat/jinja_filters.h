#pragma once
// Jinja's builtin filters and tests with Jinja 3.1 semantics, plus transformers' own tojson filter
// (json.dumps with ensure_ascii=False and the indent/separators/sort_keys options). Names are checked at
// parse time, so a template using an unknown filter fails when it is loaded, as in Jinja.
#include <string>
#include <string_view>

#include "chat/jinja_value.h"

namespace awq::jinja {

bool is_filter(std::string_view name);
bool is_unsupported_jinja_filter(std::string_view name);  // exists in Jinja but not in this interpreter
bool is_test(std::string_view name);

Value apply_filter(const std::string& name, const Value& input, const CallArgs& args);
bool apply_test(const std::string& name, const Value& input, const CallArgs& args);

}  // namespace awq::jinja
