#include "chat/jinja_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chat/jinja_error.h"
#include "chat/jinja_unicode.h"

namespace awq::jinja {

Value from_json(const nlohmann::ordered_json& j) {
    const NestingGuard guard;
    switch (j.type()) {
        case nlohmann::ordered_json::value_t::null: return Value(None{});
        case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
        case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
        case nlohmann::ordered_json::value_t::number_unsigned: {
            const uint64_t u = j.get<uint64_t>();
            if (u > static_cast<uint64_t>(INT64_MAX)) throw TemplateError("integer " + std::to_string(u) + " is too large");
            return Value(static_cast<int64_t>(u));
        }
        case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
        case nlohmann::ordered_json::value_t::string: {
            const std::string& s = j.get_ref<const std::string&>();
            utf8_decode(s);  // rejects malformed UTF-8 up front
            return Value(s);
        }
        case nlohmann::ordered_json::value_t::array: {
            std::vector<Value> items;
            items.reserve(j.size());
            for (const auto& e : j) items.push_back(from_json(e));
            return Value::list(std::move(items));
        }
        case nlohmann::ordered_json::value_t::object: {
            std::vector<std::pair<Value, Value>> items;
            items.reserve(j.size());
            for (auto it = j.begin(); it != j.end(); ++it) {
                utf8_decode(it.key());
                items.emplace_back(Value(it.key()), from_json(it.value()));
            }
            return Value::dict(std::move(items));
        }
        default: throw TemplateError("unsupported JSON value (binary or discarded)");
    }
}

namespace {

void dump_string(std::string& out, const std::string& s, bool ensure_ascii) {
    out.push_back('"');
    char esc[16];
    for (char32_t c : utf8_decode(s)) {
        switch (c) {
            case '"': out += "\\\""; continue;
            case '\\': out += "\\\\"; continue;
            case '\n': out += "\\n"; continue;
            case '\r': out += "\\r"; continue;
            case '\t': out += "\\t"; continue;
            case '\b': out += "\\b"; continue;
            case '\f': out += "\\f"; continue;
            default: break;
        }
        if (c < 0x20 || (ensure_ascii && c > 0x7E)) {
            if (c > 0xFFFF) {
                const char32_t v = c - 0x10000;
                std::snprintf(esc, sizeof esc, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                              static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
            } else {
                std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
            }
            out += esc;
        } else {
            utf8_append(out, c);
        }
    }
    out.push_back('"');
}

std::string float_json(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    return py_float_repr(d);
}

std::string key_json(const Value& k) {
    switch (k.type()) {
        case Value::Type::String: return k.as_string();
        case Value::Type::Bool: return k.as_bool() ? "true" : "false";
        case Value::Type::Int: return std::to_string(k.as_int());
        case Value::Type::Float: return float_json(k.as_float());
        case Value::Type::None: return "null";
        default:
            throw TemplateError("keys must be str, int, float, bool or None, not " + type_name(k));
    }
}

class Dumper {
public:
    explicit Dumper(const JsonDumpOptions& o) : o_(o) {
        item_sep_ = o.item_separator ? *o.item_separator : (o.indent ? "," : ", ");
        key_sep_ = o.key_separator ? *o.key_separator : ": ";
    }

    void dump(std::string& out, const Value& v, int level) {
        const NestingGuard guard;
        switch (v.type()) {
            case Value::Type::None: out += "null"; return;
            case Value::Type::Bool: out += v.as_bool() ? "true" : "false"; return;
            case Value::Type::Int: out += std::to_string(v.as_int()); return;
            case Value::Type::Float: out += float_json(v.as_float()); return;
            case Value::Type::String: dump_string(out, v.as_string(), o_.ensure_ascii); return;
            case Value::Type::List: {
                if (!v.is_plain_list())
                    throw TemplateError("Object of type " + type_name(v) + " is not JSON serializable");
                const auto& items = v.as_list().items;
                if (items.empty()) {
                    out += "[]";
                    return;
                }
                out.push_back('[');
                for (size_t i = 0; i < items.size(); ++i) {
                    if (i) out += item_sep_;
                    newline(out, level + 1);
                    dump(out, items[i], level + 1);
                }
                newline(out, level);
                out.push_back(']');
                return;
            }
            case Value::Type::Dict: {
                std::vector<const std::pair<Value, Value>*> items;
                for (const auto& kv : v.as_dict().items) items.push_back(&kv);
                if (items.empty()) {
                    out += "{}";
                    return;
                }
                if (o_.sort_keys)
                    std::stable_sort(items.begin(), items.end(),
                                     [](const auto* a, const auto* b) { return compare(a->first, b->first) < 0; });
                out.push_back('{');
                for (size_t i = 0; i < items.size(); ++i) {
                    if (i) out += item_sep_;
                    newline(out, level + 1);
                    dump_string(out, key_json(items[i]->first), o_.ensure_ascii);
                    out += key_sep_;
                    dump(out, items[i]->second, level + 1);
                }
                newline(out, level);
                out.push_back('}');
                return;
            }
            default:
                throw TemplateError("Object of type " + type_name(v) + " is not JSON serializable");
        }
    }

private:
    void newline(std::string& out, int level) const {
        if (!o_.indent) return;
        out.push_back('\n');
        for (int i = 0; i < level; ++i) out += *o_.indent;
    }

    const JsonDumpOptions& o_;
    std::string item_sep_, key_sep_;
};

}  // namespace

std::string to_json(const Value& v, const JsonDumpOptions& options) {
    std::string out;
    Dumper(options).dump(out, v, 0);
    return out;
}

}  // namespace awq::jinja
