#pragma once
// JSON in and out of the interpreter: template inputs arrive as JSON (keys keep their order, as Python
// dicts do) and the tojson filter writes exactly what Python's json.dumps writes, which is how
// transformers defines tojson for chat templates.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/jinja_value.h"

namespace awq::jinja {

Value from_json(const nlohmann::ordered_json& j);

struct JsonDumpOptions {
    bool ensure_ascii = false;
    std::optional<std::string> indent;  // the indent unit; absent = single line
    std::optional<std::string> item_separator;  // default ", " (single line) or "," (indented)
    std::optional<std::string> key_separator;   // default ": "
    bool sort_keys = false;
};

std::string to_json(const Value& v, const JsonDumpOptions& options);

}  // namespace awq::jinja
