#include "chat/jinja_filters.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "chat/jinja_access.h"
#include "chat/jinja_args.h"
#include "chat/jinja_error.h"
#include "chat/jinja_json.h"
#include "chat/jinja_methods.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_unicode.h"

namespace awq::jinja {

namespace {

const std::string_view kFilters[] = {
    "abs",    "attr",      "capitalize", "count",    "d",       "default", "dictsort", "e",      "escape",
    "first",  "float",     "format",     "indent",   "int",     "items",   "join",     "last",   "length",
    "list",   "lower",     "map",        "max",      "min",     "reject",  "rejectattr", "replace", "reverse",
    "round",  "safe",      "select",     "selectattr", "sort",  "string",  "sum",      "title",  "tojson",
    "trim",   "unique",    "upper",
};
const std::string_view kUnsupportedFilters[] = {
    "batch", "center", "filesizeformat", "forceescape", "groupby", "pprint", "random", "slice", "striptags",
    "truncate", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
};
const std::string_view kTests[] = {
    "boolean", "callable", "defined", "divisibleby", "eq",      "equalto",  "==",  "escaped",     "even",
    "false",   "filter",   "float",   "ge",          ">=",      "gt",       ">",   "greaterthan", "in",
    "integer", "iterable", "le",      "<=",          "lower",   "lt",       "<",   "lessthan",    "mapping",
    "ne",      "!=",       "none",    "number",      "odd",     "sameas",   "sequence", "string", "test",
    "true",    "undefined", "upper",
};

template <size_t N>
bool listed(const std::string_view (&names)[N], std::string_view name) {
    return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

std::string soft_str(const Value& v) { return to_str(v); }

// Jinja's map/select/reject/unique/items are generators: an error while producing an item (a non-iterable
// input, a test that cannot compare) surfaces only when iteration reaches it. Items are produced eagerly
// here and the first error is kept for that moment.
template <typename Produce>
Value generator(Produce produce) {
    std::vector<Value> out;
    std::string error;
    try {
        produce(out);
    } catch (const TemplateError& e) {
        error = e.what();
        if (error.empty()) error = "error while producing a generator item";
    }
    return Value::sequence(std::move(out), SeqKind::Generator, std::move(error));
}

// Jinja's make_attrgetter: "a.b.0" walks getitem with digit parts as integers.
Value lookup_attribute(const Value& item, const Value& attribute) {
    if (attribute.is_none() || attribute.is_undefined()) return item;
    if (!attribute.is_string()) return get_item(item, attribute);
    Value v = item;
    const std::string& path = attribute.as_string();
    size_t start = 0;
    while (true) {
        const size_t dot = path.find('.', start);
        const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
        v = get_item(v, digits ? Value(parse_index(part)) : Value(part));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return v;
}

Value ignore_case(const Value& v) { return v.is_string() ? Value(py_lower(v.as_string())) : v; }

// Python float(str): optional sign, digits with single '_' separators, fraction, exponent, inf/nan.
bool parse_py_float(const std::string& text, double& out) {
    const std::string s = utf8_encode(py_strip(utf8_decode(text), true, true));
    std::string lower = py_lower(s);
    size_t i = 0;
    std::string clean;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) clean.push_back(s[i++]);
    const std::string rest = lower.substr(i);
    if (rest == "inf" || rest == "infinity" || rest == "nan") {
        out = rest == "nan" ? std::nan("") : HUGE_VAL;
        if (clean == "-") out = -out;
        return true;
    }
    bool digits = false, prev_digit = false;
    bool seen_dot = false, seen_exp = false;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c >= '0' && c <= '9') {
            clean.push_back(c);
            digits = prev_digit = true;
        } else if (c == '_') {
            if (!prev_digit || i + 1 >= s.size() || !(s[i + 1] >= '0' && s[i + 1] <= '9')) return false;
            prev_digit = false;
        } else if (c == '.' && !seen_dot && !seen_exp) {
            seen_dot = true;
            prev_digit = false;
            clean.push_back(c);
        } else if ((c == 'e' || c == 'E') && digits && !seen_exp) {
            seen_exp = true;
            prev_digit = false;
            clean.push_back('e');
            if (i + 1 < s.size() && (s[i + 1] == '+' || s[i + 1] == '-')) clean.push_back(s[++i]);
            if (i + 1 >= s.size()) return false;
        } else {
            return false;
        }
    }
    if (!digits) return false;
    char* end = nullptr;
    out = std::strtod(clean.c_str(), &end);
    return end && *end == '\0';
}

// Python int(str, base).
bool parse_py_int(const std::string& text, int64_t base, int64_t& out) {
    if (base != 0 && (base < 2 || base > 36)) return false;
    const std::string s = utf8_encode(py_strip(utf8_decode(text), true, true));
    size_t i = 0;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    auto prefix_base = [&](size_t at) -> int {
        if (at + 1 >= s.size() || s[at] != '0') return 0;
        const char p = static_cast<char>(s[at + 1] | 0x20);
        return p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    };
    bool allow_leading_underscore = false;
    const int pb = prefix_base(i);
    if (base == 0) {
        base = pb ? pb : 10;
        if (pb) {
            i += 2;
            allow_leading_underscore = true;
        }
    } else if (pb && pb == base) {
        i += 2;
        allow_leading_underscore = true;
    }
    if (allow_leading_underscore && i < s.size() && s[i] == '_') ++i;
    if (i >= s.size()) return false;
    const size_t digits_start = i;
    int64_t v = 0;
    bool prev_digit = false;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '_') {
            if (!prev_digit || i + 1 >= s.size()) return false;
            prev_digit = false;
            continue;
        }
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'z') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'Z') d = c - 'A' + 10;
        else return false;
        if (d >= base) return false;
        if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
            throw TemplateError("integer '" + text + "' is too large");
        prev_digit = true;
    }
    if (!prev_digit) return false;
    (void)digits_start;
    out = negative ? -v : v;
    return true;
}

Value filter_int(const BoundArgs& a, const Value& v) {
    const Value fallback = a.get(0, Value(int64_t{0}));
    const int64_t base = a.get_int(1, 10);
    if (v.is_undefined()) throw_undefined(v);
    int64_t out;
    if (v.is_string()) {
        if (parse_py_int(v.as_string(), base, out)) return Value(out);
        double f;
        if (parse_py_float(v.as_string(), f) && std::isfinite(f)) {
            if (std::fabs(f) >= 9.2e18) throw TemplateError("integer is too large");
            return Value(static_cast<int64_t>(std::trunc(f)));
        }
        return fallback;
    }
    if (v.is_integral()) return Value(v.as_int());
    if (v.is_float()) {
        const double f = v.as_float();
        if (std::isinf(f)) throw TemplateError("cannot convert float infinity to integer");
        if (std::isnan(f)) return fallback;
        if (std::fabs(f) >= 9.2e18) throw TemplateError("integer is too large");
        return Value(static_cast<int64_t>(std::trunc(f)));
    }
    return fallback;
}

Value filter_float(const BoundArgs& a, const Value& v) {
    const Value fallback = a.get(0, Value(0.0));
    if (v.is_undefined()) throw_undefined(v);
    if (v.is_number()) return Value(v.as_float());
    if (v.is_string()) {
        double f;
        if (parse_py_float(v.as_string(), f)) return Value(f);
    }
    return fallback;
}

Value filter_round(const BoundArgs& a, const Value& v) {
    const int64_t precision = a.get_int(0, 0);
    const std::string method = a.get_string(1, "common");
    if (method != "common" && method != "ceil" && method != "floor")
        throw TemplateError("round(): method must be common, ceil or floor");
    if (v.is_undefined()) throw_undefined(v);
    if (!v.is_number()) throw TemplateError("type " + type_name(v) + " doesn't define __round__ method");
    if (method == "common") {
        if (v.is_integral()) {
            if (precision >= 0) return Value(v.as_int());
            // Python rounds ints to a negative number of digits with half-to-even.
            int64_t p = 1;
            for (int64_t k = 0; k < -precision && k < 18; ++k) p *= 10;
            const int64_t x = v.as_int();
            int64_t q = x / p, r = x % p;
            if (r < 0) {
                r += p;
                --q;
            }
            if (2 * r > p || (2 * r == p && (q % 2 != 0))) ++q;
            return Value(q * p);
        }
        const double x = v.as_float();
        if (!std::isfinite(x)) return Value(x);
        if (precision >= 0 && precision <= 300) {
            // printf rounds the exact binary value half-to-even, which is what Python's round() does.
            char buf[512];
            std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), x);
            return Value(std::strtod(buf, nullptr));
        }
        const double p = std::pow(10.0, static_cast<double>(-precision));
        return Value(std::nearbyint(x / p) * p);
    }
    const double p = std::pow(10.0, static_cast<double>(precision));
    const double x = v.as_float() * p;
    return Value((method == "ceil" ? std::ceil(x) : std::floor(x)) / p);
}

Value filter_indent(const BoundArgs& a, const Value& v) {
    std::string indention;
    if (a[0].is_string()) {
        indention = a[0].as_string();
    } else {
        const int64_t width = a.get_int(0, 4);
        indention = std::string(static_cast<size_t>(std::max<int64_t>(width, 0)), ' ');
    }
    const bool first = a.get_bool(1, false);
    const bool blank = a.get_bool(2, false);
    if (v.is_undefined()) throw_undefined(v);
    if (!v.is_string()) throw TemplateError("indent filter expects a string, got " + type_name(v));
    CallArgs no_args;
    const Value lines_v = call_method(Value(v.as_string() + "\n"), "splitlines", no_args);
    std::vector<std::string> lines;
    for (const Value& l : lines_v.as_list().items) lines.push_back(l.as_string());
    std::string rv;
    if (blank) {
        for (size_t i = 0; i < lines.size(); ++i) {
            if (i) rv += "\n" + indention;
            rv += lines[i];
        }
    } else {
        rv = lines.empty() ? std::string() : lines[0];
        for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? lines[i] : indention + lines[i]);
    }
    if (first) rv = indention + rv;
    return Value(rv);
}

Value filter_tojson(const BoundArgs& a, const Value& v) {
    JsonDumpOptions o;
    o.ensure_ascii = a.get_bool(0, false);
    if (a.given(1)) {
        if (a[1].is_string()) {
            o.indent = a[1].as_string();
        } else if (a[1].is_integral()) {
            o.indent = std::string(static_cast<size_t>(std::max<int64_t>(a[1].as_int(), 0)), ' ');
        } else {
            throw TemplateError("tojson(): indent must be an int or a string");
        }
    }
    if (a.given(2)) {
        if (!a[2].is_list() || a[2].as_list().items.size() != 2 || !a[2].as_list().items[0].is_string() ||
            !a[2].as_list().items[1].is_string())
            throw TemplateError("tojson(): separators must be a pair of strings");
        o.item_separator = a[2].as_list().items[0].as_string();
        o.key_separator = a[2].as_list().items[1].as_string();
    }
    o.sort_keys = a.get_bool(3, false);
    return Value(to_json(v, o));
}

std::vector<Value> sorted_values(std::vector<Value> items, const Value& attribute, bool case_sensitive, bool reverse) {
    std::vector<std::string> attrs;
    if (attribute.is_string()) {
        const std::string& s = attribute.as_string();
        size_t start = 0;
        while (true) {
            const size_t comma = s.find(',', start);
            attrs.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    auto key = [&](const Value& item) {
        if (attrs.size() > 1) {
            std::vector<Value> parts;
            for (const auto& at : attrs) {
                Value p = lookup_attribute(item, Value(at));
                parts.push_back(case_sensitive ? p : ignore_case(p));
            }
            return Value::list(std::move(parts));
        }
        Value k = attribute.is_none() || attribute.is_undefined() ? item : lookup_attribute(item, attribute);
        return case_sensitive ? k : ignore_case(k);
    };
    std::vector<std::pair<Value, Value>> keyed;
    for (auto& item : items) keyed.emplace_back(key(item), std::move(item));
    // Python's sorted is stable; reverse=True keeps equal elements in their original order too.
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
        return reverse ? compare(y.first, x.first) < 0 : compare(x.first, y.first) < 0;
    });
    std::vector<Value> out;
    for (auto& kv : keyed) out.push_back(std::move(kv.second));
    return out;
}

// select/reject/selectattr/rejectattr and map are generators that do nothing for a falsy input and check
// their arguments only once iterated, like Jinja's.
Value select_or_reject(const Value& seq, const CallArgs& args, bool select, bool by_attr) {
    return generator([&](std::vector<Value>& out) {
        if (!truthy(seq)) return;
        size_t off = 0;
        Value attribute;
        if (by_attr) {
            if (args.positional.empty()) throw TemplateError("Missing parameter for attribute name");
            attribute = args.positional[0];
            off = 1;
        }
        const bool has_test = args.positional.size() > off;
        std::string test;
        CallArgs test_args;
        if (has_test) {
            test = to_str(args.positional[off]);
            if (!is_test(test)) throw TemplateError("No test named '" + test + "' found.");
            test_args.positional.assign(args.positional.begin() + static_cast<long>(off) + 1, args.positional.end());
            test_args.keyword = args.keyword;
        }
        for (const Value& item : iterate(seq)) {
            const Value probe = by_attr ? lookup_attribute(item, attribute) : item;
            const bool ok = has_test ? apply_test(test, probe, test_args) : truthy(probe);
            if (ok == select) out.push_back(item);
        }
    });
}

Value filter_map(const Value& seq, const CallArgs& args) {
    return generator([&](std::vector<Value>& out) {
        if (!truthy(seq)) return;
        if (args.positional.empty()) {
            Value attribute, fallback(None{});
            bool has_attribute = false;
            for (const auto& kw : args.keyword) {
                if (kw.first == "attribute") {
                    attribute = kw.second;
                    has_attribute = true;
                } else if (kw.first == "default") {
                    fallback = kw.second;
                } else {
                    throw TemplateError("Unexpected keyword argument '" + kw.first + "'");
                }
            }
            if (!has_attribute) throw TemplateError("map requires a filter argument");
            for (const Value& item : iterate(seq)) {
                Value v = lookup_attribute(item, attribute);
                if (v.is_undefined() && !fallback.is_none()) v = fallback;
                out.push_back(std::move(v));
            }
            return;
        }
        const std::string filter = to_str(args.positional[0]);
        if (!is_filter(filter)) throw TemplateError("No filter named '" + filter + "' found.");
        CallArgs rest;
        rest.positional.assign(args.positional.begin() + 1, args.positional.end());
        rest.keyword = args.keyword;
        for (const Value& item : iterate(seq)) out.push_back(apply_filter(filter, item, rest));
    });
}

Value min_or_max(const BoundArgs& a, const Value& seq, bool want_max) {
    const bool case_sensitive = a.get_bool(0, false);
    const Value attribute = a.get(1, Value(None{}));
    const std::vector<Value> items = iterate(seq);
    if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
    size_t best = 0;
    auto key = [&](const Value& v) {
        Value k = lookup_attribute(v, attribute);
        return case_sensitive ? k : ignore_case(k);
    };
    Value best_key = key(items[0]);
    for (size_t i = 1; i < items.size(); ++i) {
        Value k = key(items[i]);
        const int c = compare(k, best_key);
        if (want_max ? c > 0 : c < 0) {
            best = i;
            best_key = std::move(k);
        }
    }
    return items[best];
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out.push_back(c);
        }
    }
    return out;
}

// Jinja's title filter: capitalise after '-', whitespace and opening brackets (not Python's str.title).
std::string jinja_title(const std::string& s) {
    const std::u32string u = utf8_decode(s);
    std::u32string out;
    auto is_sep = [](char32_t c) { return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_isspace(c); };
    size_t i = 0;
    while (i < u.size()) {
        size_t j = i;
        const bool sep = is_sep(u[i]);
        while (j < u.size() && is_sep(u[j]) == sep) ++j;
        for (size_t k = i; k < j; ++k) out.push_back(k == i ? py_upper(u[k]) : py_lower(u[k]));
        i = j;
    }
    return utf8_encode(out);
}

bool test_modulo(const Value& v, int64_t divisor, int64_t remainder) {
    return equals(binary_op("%", v, Value(divisor)), Value(remainder));
}

}  // namespace

bool is_filter(std::string_view name) { return listed(kFilters, name); }
bool is_unsupported_jinja_filter(std::string_view name) { return listed(kUnsupportedFilters, name); }
bool is_test(std::string_view name) { return listed(kTests, name); }

Value apply_filter(const std::string& name, const Value& v, const CallArgs& args) {
    if (name == "abs") {
        BoundArgs a(name, args, {});
        if (v.is_undefined()) throw_undefined(v);
        if (v.is_float()) return Value(std::fabs(v.as_float()));
        if (v.is_integral()) {
            if (v.as_int() == INT64_MIN) throw TemplateError("integer overflow");
            return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
        }
        throw TemplateError("bad operand type for abs(): '" + type_name(v) + "'");
    }
    if (name == "attr") {
        BoundArgs a(name, args, {"name"}, 1);
        return get_python_attr(v, soft_str(a[0]));
    }
    if (name == "capitalize") return Value(py_capitalize(soft_str(v)));
    if (name == "count" || name == "length") {
        BoundArgs a(name, args, {});
        return Value(length(v));
    }
    if (name == "d" || name == "default") {
        BoundArgs a(name, args, {"default_value", "boolean"});
        if (v.is_undefined() || (a.get_bool(1, false) && !truthy(v))) return a.get(0, Value(std::string()));
        return v;
    }
    if (name == "dictsort") {
        BoundArgs a(name, args, {"case_sensitive", "by", "reverse"});
        const std::string by = a.get_string(1, "key");
        if (by != "key" && by != "value") throw TemplateError("You can only sort by either \"key\" or \"value\"");
        if (!v.is_dict()) throw TemplateError("dictsort filter expects a mapping, got " + type_name(v));
        std::vector<Value> pairs;
        for (const auto& kv : v.as_dict().items) pairs.push_back(Value::list({kv.first, kv.second}, true));
        return Value::list(sorted_values(std::move(pairs), Value(by == "key" ? int64_t{0} : int64_t{1}),
                                         a.get_bool(0, false), a.get_bool(2, false)));
    }
    if (name == "e" || name == "escape") {
        BoundArgs a(name, args, {});
        return Value(html_escape(soft_str(v)));
    }
    if (name == "first") {
        BoundArgs a(name, args, {});
        Value first;
        if (!first_item(v, first)) return Value::undefined("No first item, sequence was empty.");
        return first;
    }
    if (name == "float") {
        BoundArgs a(name, args, {"default"});
        return filter_float(a, v);
    }
    if (name == "format") {
        if (!args.positional.empty() && !args.keyword.empty())
            throw TemplateError("can't handle positional and keyword arguments at the same time");
        if (!args.keyword.empty()) {
            std::vector<std::pair<Value, Value>> kw;
            for (const auto& k : args.keyword) kw.emplace_back(Value(k.first), k.second);
            return Value(py_percent_format(soft_str(v), Value::dict(std::move(kw))));
        }
        return Value(py_percent_format(soft_str(v), Value::list(args.positional, true)));
    }
    if (name == "indent") {
        BoundArgs a(name, args, {"width", "first", "blank"});
        return filter_indent(a, v);
    }
    if (name == "int") {
        BoundArgs a(name, args, {"default", "base"});
        return filter_int(a, v);
    }
    if (name == "items") {
        BoundArgs a(name, args, {});
        return generator([&](std::vector<Value>& pairs) {
            if (v.is_undefined()) return;
            if (!v.is_dict()) throw TemplateError("Can only get item pairs from a mapping.");
            for (const auto& kv : v.as_dict().items) pairs.push_back(Value::list({kv.first, kv.second}, true));
        });
    }
    if (name == "join") {
        BoundArgs a(name, args, {"d", "attribute"});
        const std::string sep = soft_str(a.get(0, Value(std::string())));
        std::string out;
        bool first = true;
        for (const Value& item : iterate(v)) {
            if (!first) out += sep;
            first = false;
            out += soft_str(a.given(1) ? lookup_attribute(item, a[1]) : item);
        }
        return Value(out);
    }
    if (name == "last") {
        BoundArgs a(name, args, {});
        if ((!v.is_list() && !v.is_string() && !v.is_dict() && !v.is_undefined()) ||
            (v.is_list() && v.as_list().is_iterator()))
            throw TemplateError("'" + type_name(v) + "' object is not reversible");
        const std::vector<Value> items = iterate(v);
        if (items.empty()) return Value::undefined("No last item, sequence was empty.");
        return items.back();
    }
    if (name == "list") {
        BoundArgs a(name, args, {});
        return Value::list(iterate(v));
    }
    if (name == "lower") {
        BoundArgs a(name, args, {});
        return Value(py_lower(soft_str(v)));
    }
    if (name == "upper") {
        BoundArgs a(name, args, {});
        return Value(py_upper(soft_str(v)));
    }
    if (name == "map") return filter_map(v, args);
    if (name == "max" || name == "min") {
        BoundArgs a(name, args, {"case_sensitive", "attribute"});
        return min_or_max(a, v, name == "max");
    }
    if (name == "select" || name == "reject") return select_or_reject(v, args, name == "select", false);
    if (name == "selectattr" || name == "rejectattr")
        return select_or_reject(v, args, name == "selectattr", true);
    if (name == "replace") {
        BoundArgs a(name, args, {"old", "new", "count"}, 2);
        CallArgs call;
        call.positional = {Value(soft_str(a[0])), Value(soft_str(a[1])), a.given(2) ? a[2] : Value(int64_t{-1})};
        return call_method(Value(soft_str(v)), "replace", call);
    }
    if (name == "reverse") {
        BoundArgs a(name, args, {});
        if (v.is_string()) {
            std::u32string u = utf8_decode(v.as_string());
            std::reverse(u.begin(), u.end());
            return Value(utf8_encode(u));
        }
        const bool iterator = v.is_list() && v.as_list().is_iterator();
        if (!v.is_list() && !v.is_dict() && !v.is_undefined()) throw TemplateError("argument must be iterable");
        std::vector<Value> items = iterate(v);
        std::reverse(items.begin(), items.end());
        // reversed() works on sequences and dicts and gives an iterator; a generator is listed first.
        return iterator ? Value::list(std::move(items)) : Value::sequence(std::move(items), SeqKind::ReverseIterator);
    }
    if (name == "round") {
        BoundArgs a(name, args, {"precision", "method"});
        return filter_round(a, v);
    }
    if (name == "safe") {
        BoundArgs a(name, args, {});
        return v;
    }
    if (name == "sort") {
        BoundArgs a(name, args, {"reverse", "case_sensitive", "attribute"});
        return Value::list(sorted_values(iterate(v), a.get(2, Value(None{})), a.get_bool(1, false), a.get_bool(0, false)));
    }
    if (name == "string") {
        BoundArgs a(name, args, {});
        return Value(soft_str(v));
    }
    if (name == "sum") {
        BoundArgs a(name, args, {"attribute", "start"});
        Value total = a.get(1, Value(int64_t{0}));
        for (const Value& item : iterate(v)) total = binary_op("+", total, a.given(0) ? lookup_attribute(item, a[0]) : item);
        return total;
    }
    if (name == "title") {
        BoundArgs a(name, args, {});
        return Value(jinja_title(soft_str(v)));
    }
    if (name == "tojson") {
        BoundArgs a(name, args, {"ensure_ascii", "indent", "separators", "sort_keys"});
        return filter_tojson(a, v);
    }
    if (name == "trim") {
        BoundArgs a(name, args, {"chars"});
        CallArgs call;
        if (a.given(0)) call.positional.push_back(a[0]);
        return call_method(Value(soft_str(v)), "strip", call);
    }
    if (name == "unique") {
        BoundArgs a(name, args, {"case_sensitive", "attribute"});
        const bool case_sensitive = a.get_bool(0, false);
        return generator([&](std::vector<Value>& out) {
            std::vector<Value> seen;
            for (const Value& item : iterate(v)) {
                Value k = a.given(1) ? lookup_attribute(item, a[1]) : item;
                if (!case_sensitive) k = ignore_case(k);
                if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) {
                    seen.push_back(k);
                    out.push_back(item);
                }
            }
        });
    }
    throw TemplateError("No filter named '" + name + "' found.");
}

bool apply_test(const std::string& name, const Value& v, const CallArgs& args) {
    auto one_arg = [&]() -> Value {
        BoundArgs a(name, args, {"other"}, 1);
        return a[0];
    };
    auto no_args = [&]() { BoundArgs a(name, args, {}); };
    if (name == "defined") return no_args(), !v.is_undefined();
    if (name == "undefined") return no_args(), v.is_undefined();
    if (name == "none") return no_args(), v.is_none();
    if (name == "boolean") return no_args(), v.is_bool();
    if (name == "true") return no_args(), v.is_bool() && v.as_bool();
    if (name == "false") return no_args(), v.is_bool() && !v.as_bool();
    if (name == "integer") return no_args(), v.is_int();
    if (name == "float") return no_args(), v.is_float();
    if (name == "number") return no_args(), v.is_number();
    if (name == "string") return no_args(), v.is_string();
    if (name == "mapping") return no_args(), v.is_dict();
    if (name == "sequence") return no_args(), v.is_string() || v.is_plain_list() || v.is_dict() || v.is_undefined();
    if (name == "iterable") return no_args(), v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
    if (name == "callable") return no_args(), v.is_callable() || v.is_undefined();
    if (name == "escaped") return no_args(), false;
    if (name == "lower" || name == "upper") {
        no_args();
        const std::string s = to_str(v);
        CallArgs none;
        return truthy(call_method(Value(s), name == "lower" ? "islower" : "isupper", none));
    }
    if (name == "odd") return no_args(), test_modulo(v, 2, 1);
    if (name == "even") return no_args(), test_modulo(v, 2, 0);
    if (name == "divisibleby") {
        BoundArgs a(name, args, {"num"}, 1);
        return equals(binary_op("%", v, a[0]), Value(int64_t{0}));
    }
    if (name == "filter") return no_args(), v.is_string() && is_filter(v.as_string());
    if (name == "test") return no_args(), v.is_string() && is_test(v.as_string());
    if (name == "eq" || name == "equalto" || name == "==") return equals(v, one_arg());
    if (name == "ne" || name == "!=") return !equals(v, one_arg());
    if (name == "gt" || name == ">" || name == "greaterthan") return compare(v, one_arg()) > 0;
    if (name == "ge" || name == ">=") return compare(v, one_arg()) >= 0;
    if (name == "lt" || name == "<" || name == "lessthan") return compare(v, one_arg()) < 0;
    if (name == "le" || name == "<=") return compare(v, one_arg()) <= 0;
    if (name == "in") {
        BoundArgs a(name, args, {"seq"}, 1);
        return contains(a[0], v);
    }
    if (name == "sameas") {
        const Value other = one_arg();
        if (v.identity() || other.identity()) return v.identity() == other.identity();
        return v.type() == other.type() && equals(v, other);
    }
    throw TemplateError("No test named '" + name + "' found.");
}

}  // namespace awq::jinja
