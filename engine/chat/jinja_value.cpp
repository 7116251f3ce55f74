#include "chat/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/jinja_error.h"
#include "chat/jinja_unicode.h"

namespace awq::jinja {

const Value* DictData::find(const Value& key) const {
    if (key.is_list() && !key.is_tuple()) throw TemplateError("unhashable type: 'list'");
    if (key.is_dict()) throw TemplateError("unhashable type: 'dict'");
    for (const auto& kv : items)
        if (equals(kv.first, key)) return &kv.second;
    return nullptr;
}

void DictData::set(Value key, Value value) {
    for (auto& kv : items)
        if (equals(kv.first, key)) {
            kv.second = std::move(value);
            return;
        }
    items.emplace_back(std::move(key), std::move(value));
}

const Value* NamespaceData::find(const std::string& name) const {
    for (const auto& kv : attrs)
        if (kv.first == name) return &kv.second;
    return nullptr;
}

void NamespaceData::set(const std::string& name, Value value) {
    for (auto& kv : attrs)
        if (kv.first == name) {
            kv.second = std::move(value);
            return;
        }
    attrs.emplace_back(name, std::move(value));
}

namespace {
constexpr int kMaxNesting = 512;
thread_local int nesting_depth = 0;

[[noreturn]] void too_deep() {
    throw TemplateError("value nested too deeply (more than " + std::to_string(kMaxNesting) + " levels)");
}
}  // namespace

int Value::depth() const {
    if (type() == Type::List) return std::get<ListPtr>(v_)->depth;
    if (type() == Type::Dict) return std::get<DictPtr>(v_)->depth;
    return 0;
}

// Deep containers would also be destroyed recursively, so the limit is enforced when they are built.
Value::Value(ListPtr l) : v_(std::move(l)) {
    const ListData& d = *std::get<ListPtr>(v_);
    int deepest = 0;
    for (const Value& v : d.items) deepest = std::max(deepest, v.depth());
    if (deepest + 1 > kMaxNesting) too_deep();
    d.depth = deepest + 1;
}

Value::Value(DictPtr p) : v_(std::move(p)) {
    const DictData& d = *std::get<DictPtr>(v_);
    int deepest = 0;
    for (const auto& kv : d.items) deepest = std::max({deepest, kv.first.depth(), kv.second.depth()});
    if (deepest + 1 > kMaxNesting) too_deep();
    d.depth = deepest + 1;
}

Value Value::list(std::vector<Value> items, bool is_tuple) {
    auto l = std::make_shared<ListData>();
    l->items = std::move(items);
    l->is_tuple = is_tuple;
    return Value(ListPtr(std::move(l)));
}

Value Value::sequence(std::vector<Value> items, SeqKind kind, std::string deferred_error) {
    auto l = std::make_shared<ListData>();
    l->items = std::move(items);
    l->kind = kind;
    l->deferred_error = std::move(deferred_error);
    return Value(ListPtr(std::move(l)));
}

Value Value::dict(std::vector<std::pair<Value, Value>> items) {
    auto d = std::make_shared<DictData>();
    d->items = std::move(items);
    return Value(DictPtr(std::move(d)));
}

Value Value::callable(std::string name, std::function<Value(CallArgs&)> fn) {
    auto c = std::make_shared<CallableData>();
    c->name = std::move(name);
    c->fn = std::move(fn);
    return Value(CallablePtr(std::move(c)));
}

int64_t Value::as_int() const {
    if (is_bool()) return as_bool() ? 1 : 0;
    return std::get<int64_t>(v_);
}

double Value::as_float() const {
    if (is_float()) return std::get<double>(v_);
    return static_cast<double>(as_int());
}

const void* Value::identity() const {
    switch (type()) {
        case Type::List: return std::get<ListPtr>(v_).get();
        case Type::Dict: return std::get<DictPtr>(v_).get();
        case Type::Namespace: return std::get<NamespacePtr>(v_).get();
        case Type::Callable: return std::get<CallablePtr>(v_).get();
        default: return nullptr;
    }
}

NestingGuard::NestingGuard() {
    if (++nesting_depth > kMaxNesting) {
        --nesting_depth;
        too_deep();
    }
}

NestingGuard::~NestingGuard() { --nesting_depth; }

void throw_undefined(const Value& v) {
    const std::string& hint = v.undefined_hint();
    throw TemplateError(hint.empty() ? std::string("value is undefined") : hint);
}

std::string type_name(const Value& v) {
    switch (v.type()) {
        case Value::Type::Undefined: return "Undefined";
        case Value::Type::None: return "NoneType";
        case Value::Type::Bool: return "bool";
        case Value::Type::Int: return "int";
        case Value::Type::Float: return "float";
        case Value::Type::String: return "str";
        case Value::Type::List:
            switch (v.seq_kind()) {
                case SeqKind::Generator: return "generator";
                case SeqKind::ReverseIterator: return "list_reverseiterator";
                case SeqKind::DictItems: return "dict_items";
                case SeqKind::DictKeys: return "dict_keys";
                case SeqKind::DictValues: return "dict_values";
                case SeqKind::Plain: break;
            }
            return v.is_tuple() ? "tuple" : "list";
        case Value::Type::Dict: return "dict";
        case Value::Type::Namespace: return "Namespace";
        case Value::Type::Callable: return "function";
    }
    return "object";
}

int64_t parse_index(const std::string& digits) {
    int64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') throw TemplateError("invalid index '" + digits + "'");
        if (__builtin_mul_overflow(v, int64_t{10}, &v) || __builtin_add_overflow(v, int64_t{c - '0'}, &v)) return INT64_MAX;
    }
    return v;
}

bool truthy(const Value& v) {
    switch (v.type()) {
        case Value::Type::Undefined:
        case Value::Type::None: return false;
        case Value::Type::Bool: return v.as_bool();
        case Value::Type::Int: return v.as_int() != 0;
        case Value::Type::Float: return v.as_float() != 0.0;
        case Value::Type::String: return !v.as_string().empty();
        case Value::Type::List: return v.as_list().is_iterator() || !v.as_list().items.empty();
        case Value::Type::Dict: return !v.as_dict().items.empty();
        case Value::Type::Namespace:
        case Value::Type::Callable: return true;
    }
    return false;
}

std::string py_float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    if (d == 0.0) return std::signbit(d) ? "-0.0" : "0.0";
    char buf[64];
    // Shortest digits that round-trip, as Python's repr() uses; only the layout differs from to_chars.
    const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string s(buf, res.ptr);
    std::string sign;
    if (s[0] == '-') {
        sign = "-";
        s.erase(0, 1);
    }
    const size_t epos = s.find('e');
    const int exp = std::stoi(s.substr(epos + 1));
    std::string digits;
    for (size_t i = 0; i < epos; ++i)
        if (s[i] != '.') digits.push_back(s[i]);
    std::string out;
    if (exp < -4 || exp >= 16) {
        out = digits.substr(0, 1);
        if (digits.size() > 1) out += "." + digits.substr(1);
        char e[16];
        std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        out += e;
    } else if (exp >= 0) {
        const size_t int_digits = static_cast<size_t>(exp) + 1;
        if (digits.size() <= int_digits) {
            out = digits + std::string(int_digits - digits.size(), '0') + ".0";
        } else {
            out = digits.substr(0, int_digits) + "." + digits.substr(int_digits);
        }
    } else {
        out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    }
    return sign + out;
}

std::string py_str_repr(const std::string& s) {
    const bool has_single = s.find('\'') != std::string::npos;
    const bool has_double = s.find('"') != std::string::npos;
    const char quote = (has_single && !has_double) ? '"' : '\'';
    std::string out(1, quote);
    char esc[16];
    for (char32_t c : utf8_decode(s)) {
        if (c == static_cast<char32_t>(quote) || c == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(c));
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c < 0x20 || c == 0x7F) {
            std::snprintf(esc, sizeof esc, "\\x%02x", static_cast<unsigned>(c));
            out += esc;
        } else if (c < 0x7F || py_isprintable(c)) {
            utf8_append(out, c);
        } else if (c <= 0xFF) {
            std::snprintf(esc, sizeof esc, "\\x%02x", static_cast<unsigned>(c));
            out += esc;
        } else if (c <= 0xFFFF) {
            std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
            out += esc;
        } else {
            std::snprintf(esc, sizeof esc, "\\U%08x", static_cast<unsigned>(c));
            out += esc;
        }
    }
    out.push_back(quote);
    return out;
}

std::string to_repr(const Value& v) {
    const NestingGuard guard;
    switch (v.type()) {
        case Value::Type::String: return py_str_repr(v.as_string());
        case Value::Type::List: {
            const ListData& l = v.as_list();
            if (l.is_iterator()) return "<" + type_name(v) + " object>";  // Python adds an address
            if (l.kind != SeqKind::Plain) return type_name(v) + "(" + to_repr(Value::list(l.items)) + ")";
            std::string out = l.is_tuple ? "(" : "[";
            for (size_t i = 0; i < l.items.size(); ++i) {
                if (i) out += ", ";
                out += to_repr(l.items[i]);
            }
            if (l.is_tuple && l.items.size() == 1) out += ",";
            out += l.is_tuple ? ")" : "]";
            return out;
        }
        case Value::Type::Dict: {
            std::string out = "{";
            bool first = true;
            for (const auto& kv : v.as_dict().items) {
                if (!first) out += ", ";
                first = false;
                out += to_repr(kv.first) + ": " + to_repr(kv.second);
            }
            return out + "}";
        }
        case Value::Type::Undefined: return "Undefined";
        default: return to_str(v);
    }
}

std::string to_str(const Value& v) {
    switch (v.type()) {
        case Value::Type::Undefined: return "";
        case Value::Type::None: return "None";
        case Value::Type::Bool: return v.as_bool() ? "True" : "False";
        case Value::Type::Int: return std::to_string(v.as_int());
        case Value::Type::Float: return py_float_repr(v.as_float());
        case Value::Type::String: return v.as_string();
        case Value::Type::List:
        case Value::Type::Dict: return to_repr(v);
        case Value::Type::Namespace: {
            std::string out = "<Namespace {";
            bool first = true;
            for (const auto& kv : v.as_namespace().attrs) {
                if (!first) out += ", ";
                first = false;
                out += py_str_repr(kv.first) + ": " + to_repr(kv.second);
            }
            return out + "}>";
        }
        case Value::Type::Callable: return "<function " + v.as_callable().name + ">";
    }
    return "";
}

namespace {

int compare_numbers(const Value& a, const Value& b) {
    if (a.is_integral() && b.is_integral()) {
        const int64_t x = a.as_int(), y = b.as_int();
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    const double x = a.as_float(), y = b.as_float();
    return x < y ? -1 : (x > y ? 1 : 0);
}

}  // namespace

bool equals(const Value& a, const Value& b) {
    if (a.is_undefined() || b.is_undefined()) return a.is_undefined() && b.is_undefined();
    const NestingGuard guard;
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
        return a.as_int() == b.as_int();
    }
    if (a.type() != b.type()) return false;
    switch (a.type()) {
        case Value::Type::None: return true;
        case Value::Type::String: return a.as_string() == b.as_string();
        case Value::Type::List: {
            const ListData& x = a.as_list();
            const ListData& y = b.as_list();
            if (x.kind != y.kind) return false;
            if (x.kind == SeqKind::DictKeys || x.kind == SeqKind::DictItems) {  // set-like views
                if (x.items.size() != y.items.size()) return false;
                for (const Value& e : x.items) {
                    bool found = false;
                    for (const Value& f : y.items) found = found || equals(e, f);
                    if (!found) return false;
                }
                return true;
            }
            if (x.kind != SeqKind::Plain) return &x == &y;
            if (x.is_tuple != y.is_tuple || x.items.size() != y.items.size()) return false;
            for (size_t i = 0; i < x.items.size(); ++i)
                if (!equals(x.items[i], y.items[i])) return false;
            return true;
        }
        case Value::Type::Dict: {
            const DictData& x = a.as_dict();
            const DictData& y = b.as_dict();
            if (x.items.size() != y.items.size()) return false;
            for (const auto& kv : x.items) {
                const Value* other = y.find(kv.first);
                if (!other || !equals(kv.second, *other)) return false;
            }
            return true;
        }
        default: return a.identity() == b.identity();
    }
}

int compare(const Value& a, const Value& b) {
    const NestingGuard guard;
    if (a.is_undefined()) throw_undefined(a);
    if (b.is_undefined()) throw_undefined(b);
    if (a.is_number() && b.is_number()) return compare_numbers(a, b);
    if (a.is_string() && b.is_string()) {
        const int c = a.as_string().compare(b.as_string());  // UTF-8 byte order is code point order
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    if (a.is_plain_list() && b.is_plain_list() && a.is_tuple() == b.is_tuple()) {
        const auto& x = a.as_list().items;
        const auto& y = b.as_list().items;
        for (size_t i = 0; i < x.size() && i < y.size(); ++i)
            if (!equals(x[i], y[i])) return compare(x[i], y[i]);
        return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
    }
    throw TemplateError("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

}  // namespace awq::jinja
