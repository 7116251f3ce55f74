#include "chat/jinja_methods.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chat/jinja_access.h"
#include "chat/jinja_args.h"
#include "chat/jinja_error.h"
#include "chat/jinja_unicode.h"

namespace awq::jinja {

namespace {

const char* const kStringMethods[] = {"strip",   "lstrip",  "rstrip",  "split",   "rsplit",     "splitlines",
                                      "startswith", "endswith", "upper", "lower", "title",      "capitalize",
                                      "replace", "format",  "find",    "rfind",   "count",      "join",
                                      "isdigit", "isalpha", "isalnum", "isspace", "isupper",    "islower"};
const char* const kDictMethods[] = {"items", "keys", "values", "get", "copy"};
const char* const kListMethods[] = {"index", "count", "copy"};
const char* const kDictMutators[] = {"clear", "pop", "popitem", "setdefault", "update"};
const char* const kListMutators[] = {"append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove"};

template <size_t N>
bool listed(const char* const (&names)[N], const std::string& name) {
    return std::find_if(std::begin(names), std::end(names), [&](const char* n) { return name == n; }) != std::end(names);
}

bool is_line_break(char32_t c) {
    return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x85 ||
           c == 0x2028 || c == 0x2029;
}

std::u32string arg_u32(const BoundArgs& a, size_t i, const char* fn) {
    if (!a[i].is_string()) throw TemplateError(std::string(fn) + "() argument must be str, not " + type_name(a[i]));
    return utf8_decode(a[i].as_string());
}

Value str_list(const std::vector<std::u32string>& parts) {
    std::vector<Value> out;
    out.reserve(parts.size());
    for (const auto& p : parts) out.emplace_back(utf8_encode(p));
    return Value::list(std::move(out));
}

std::vector<std::u32string> split_whitespace(const std::u32string& s, int64_t maxsplit) {
    std::vector<std::u32string> out;
    size_t i = 0;
    const size_t n = s.size();
    while (true) {
        while (i < n && py_isspace(s[i])) ++i;
        if (i >= n) break;
        if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
            out.push_back(s.substr(i));
            break;
        }
        size_t j = i;
        while (j < n && !py_isspace(s[j])) ++j;
        out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

std::vector<std::u32string> rsplit_whitespace(const std::u32string& s, int64_t maxsplit) {
    std::vector<std::u32string> out;
    size_t i = s.size();
    while (true) {
        while (i > 0 && py_isspace(s[i - 1])) --i;
        if (i == 0) break;
        if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
            out.push_back(s.substr(0, i));
            break;
        }
        size_t j = i;
        while (j > 0 && !py_isspace(s[j - 1])) --j;
        out.push_back(s.substr(j, i - j));
        i = j;
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<std::u32string> split_sep(const std::u32string& s, const std::u32string& sep, int64_t maxsplit) {
    if (sep.empty()) throw TemplateError("empty separator");
    std::vector<std::u32string> out;
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
        const size_t p = s.find(sep, start);
        if (p == std::u32string::npos) break;
        out.push_back(s.substr(start, p - start));
        start = p + sep.size();
    }
    out.push_back(s.substr(start));
    return out;
}

std::vector<std::u32string> rsplit_sep(const std::u32string& s, const std::u32string& sep, int64_t maxsplit) {
    if (sep.empty()) throw TemplateError("empty separator");
    std::vector<std::u32string> out;
    size_t end = s.size();
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
        if (end < sep.size()) break;
        const size_t p = s.rfind(sep, end - sep.size());
        if (p == std::u32string::npos) break;
        out.push_back(s.substr(p + sep.size(), end - p - sep.size()));
        end = p;
    }
    out.push_back(s.substr(0, end));
    std::reverse(out.begin(), out.end());
    return out;
}

// Python's start/end arguments of find/startswith: a clamped [begin, end) range of code point indices.
std::pair<size_t, size_t> sub_range(size_t len, const BoundArgs& a, size_t start_i, size_t end_i) {
    auto clamp = [&](const Value& v, int64_t fallback) {
        if (v.is_undefined() || v.is_none()) return fallback;
        if (!v.is_integral()) throw TemplateError("slice indices must be integers or None");
        int64_t i = v.as_int();
        if (i < 0) i = std::max<int64_t>(0, i + static_cast<int64_t>(len));
        return std::min<int64_t>(i, static_cast<int64_t>(len));
    };
    const int64_t b = clamp(a[start_i], 0);
    const int64_t e = clamp(a[end_i], static_cast<int64_t>(len));
    return {static_cast<size_t>(b), static_cast<size_t>(std::max(b, e))};
}

bool affix_matches(const std::u32string& s, const Value& affix, bool prefix, const char* fn) {
    auto one = [&](const Value& v) {
        if (!v.is_string())
            throw TemplateError(std::string(fn) + " first arg must be str or a tuple of str, not " + type_name(v));
        const std::u32string a = utf8_decode(v.as_string());
        if (a.size() > s.size()) return false;
        return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
    };
    if (affix.is_tuple()) {
        for (const Value& v : affix.as_list().items)
            if (one(v)) return true;
        return false;
    }
    return one(affix);
}

std::u32string py_replace(const std::u32string& s, const std::u32string& old, const std::u32string& repl, int64_t count) {
    std::u32string out;
    if (old.empty()) {
        // Python inserts the replacement before every character and at the end.
        int64_t done = 0;
        for (size_t i = 0; i <= s.size(); ++i) {
            if (count < 0 || done < count) {
                out += repl;
                ++done;
            }
            if (i < s.size()) out.push_back(s[i]);
        }
        return out;
    }
    size_t start = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        const size_t p = s.find(old, start);
        if (p == std::u32string::npos) break;
        out += s.substr(start, p - start);
        out += repl;
        start = p + old.size();
        ++done;
    }
    out += s.substr(start);
    return out;
}

template <typename Pred>
bool all_chars(const std::u32string& s, Pred p) {
    if (s.empty()) return false;
    for (char32_t c : s)
        if (!p(c)) return false;
    return true;
}

bool py_str_islower(const std::u32string& s) {
    bool cased = false;
    for (char32_t c : s) {
        if (py_isupper(c)) return false;
        if (py_islower(c)) cased = true;
    }
    return cased;
}

bool py_str_isupper(const std::u32string& s) {
    bool cased = false;
    for (char32_t c : s) {
        if (py_islower(c)) return false;
        if (py_isupper(c)) cased = true;
    }
    return cased;
}

Value call_string_method(const std::string& self, const std::string& name, CallArgs& args) {
    const std::u32string s = utf8_decode(self);
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        BoundArgs a(name, args, {"chars"});
        const bool left = name != "rstrip", right = name != "lstrip";
        if (!a.given(0)) return Value(utf8_encode(py_strip(s, left, right)));
        return Value(utf8_encode(py_strip_chars(s, arg_u32(a, 0, name.c_str()), left, right)));
    }
    if (name == "split" || name == "rsplit") {
        BoundArgs a(name, args, {"sep", "maxsplit"});
        const int64_t maxsplit = a.get_int(1, -1);
        const bool right = name == "rsplit";
        if (!a.given(0)) return str_list(right ? rsplit_whitespace(s, maxsplit) : split_whitespace(s, maxsplit));
        const std::u32string sep = arg_u32(a, 0, name.c_str());
        return str_list(right ? rsplit_sep(s, sep, maxsplit) : split_sep(s, sep, maxsplit));
    }
    if (name == "splitlines") {
        BoundArgs a(name, args, {"keepends"});
        const bool keep = a.get_bool(0, false);
        std::vector<std::u32string> lines;
        size_t i = 0;
        while (i < s.size()) {
            size_t j = i;
            while (j < s.size() && !is_line_break(s[j])) ++j;
            size_t eol = j;
            if (j < s.size()) eol = (s[j] == '\r' && j + 1 < s.size() && s[j + 1] == '\n') ? j + 2 : j + 1;
            lines.push_back(s.substr(i, (keep ? eol : j) - i));
            i = eol;
        }
        return str_list(lines);
    }
    if (name == "startswith" || name == "endswith") {
        BoundArgs a(name, args, {"prefix", "start", "end"}, 1);
        const auto [b, e] = sub_range(s.size(), a, 1, 2);
        return Value(affix_matches(s.substr(b, e - b), a[0], name == "startswith", name.c_str()));
    }
    if (name == "upper") return Value(py_upper(self));
    if (name == "lower") return Value(py_lower(self));
    if (name == "title") return Value(py_title(self));
    if (name == "capitalize") return Value(py_capitalize(self));
    if (name == "replace") {
        BoundArgs a(name, args, {"old", "new", "count"}, 2);
        return Value(utf8_encode(py_replace(s, arg_u32(a, 0, "replace"), arg_u32(a, 1, "replace"), a.get_int(2, -1))));
    }
    if (name == "format") return Value(py_format(self, args));
    if (name == "find" || name == "rfind" || name == "count") {
        BoundArgs a(name, args, {"sub", "start", "end"}, 1);
        const std::u32string sub = arg_u32(a, 0, name.c_str());
        const auto [b, e] = sub_range(s.size(), a, 1, 2);
        const std::u32string hay = s.substr(b, e - b);
        if (name == "count") {
            if (sub.empty()) return Value(static_cast<int64_t>(hay.size() + 1));
            int64_t n = 0;
            for (size_t p = hay.find(sub); p != std::u32string::npos; p = hay.find(sub, p + sub.size())) ++n;
            return Value(n);
        }
        const size_t p = name == "find" ? hay.find(sub) : hay.rfind(sub);
        return Value(p == std::u32string::npos ? int64_t{-1} : static_cast<int64_t>(p + b));
    }
    if (name == "join") {
        BoundArgs a(name, args, {"iterable"}, 1);
        std::string out;
        bool first = true;
        for (const Value& v : iterate(a[0])) {
            if (!v.is_string()) throw TemplateError("sequence item: expected str instance, " + type_name(v) + " found");
            if (!first) out += self;
            first = false;
            out += v.as_string();
        }
        return Value(out);
    }
    BoundArgs a(name, args, {});
    if (name == "isdigit") return Value(all_chars(s, py_isdigit));
    if (name == "isalpha") return Value(all_chars(s, py_isalpha));
    if (name == "isalnum") return Value(all_chars(s, [](char32_t c) { return py_isalpha(c) || py_isdigit(c); }));
    if (name == "isspace") return Value(all_chars(s, py_isspace));
    if (name == "isupper") return Value(py_str_isupper(s));
    if (name == "islower") return Value(py_str_islower(s));
    throw TemplateError("'str' object has no method '" + name + "'");
}

Value call_dict_method(const Value& self, const std::string& name, CallArgs& args) {
    const DictData& d = self.as_dict();
    if (name == "get") {
        BoundArgs a(name, args, {"key", "default"}, 1);
        if (const Value* v = d.find(a[0])) return *v;
        return a.get(1, Value(None{}));
    }
    BoundArgs a(name, args, {});
    if (name == "copy") return Value::dict(d.items);
    std::vector<Value> out;
    for (const auto& kv : d.items) {
        if (name == "items") {
            out.push_back(Value::list({kv.first, kv.second}, true));
        } else if (name == "keys") {
            out.push_back(kv.first);
        } else {
            out.push_back(kv.second);
        }
    }
    const SeqKind view = name == "items" ? SeqKind::DictItems : name == "keys" ? SeqKind::DictKeys : SeqKind::DictValues;
    return Value::sequence(std::move(out), view);
}

Value call_list_method(const Value& self, const std::string& name, CallArgs& args) {
    const auto& items = self.as_list().items;
    if (name == "copy") {
        BoundArgs a(name, args, {});
        return Value::list(items, self.is_tuple());
    }
    BoundArgs a(name, args, {"value"}, 1);
    int64_t count = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        if (!equals(items[i], a[0])) continue;
        if (name == "index") return Value(static_cast<int64_t>(i));
        ++count;
    }
    if (name == "index") throw TemplateError(to_repr(a[0]) + " is not in list");
    return Value(count);
}

}  // namespace

bool has_method(const Value& obj, const std::string& name) {
    if (obj.is_string()) return listed(kStringMethods, name);
    if (obj.is_dict()) return listed(kDictMethods, name);
    if (obj.is_plain_list()) return listed(kListMethods, name);
    return false;
}

const char* unsafe_method(const Value& obj, const std::string& name) {
    if (obj.is_dict() && listed(kDictMutators, name)) return "dict";
    if (obj.is_plain_list() && !obj.is_tuple() && listed(kListMutators, name)) return "list";
    return nullptr;
}

Value bound_method(const Value& obj, const std::string& name) {
    return Value::callable(type_name(obj) + "." + name, [obj, name](CallArgs& args) { return call_method(obj, name, args); });
}

Value call_method(const Value& obj, const std::string& name, CallArgs& args) {
    if (obj.is_string()) return call_string_method(obj.as_string(), name, args);
    if (obj.is_dict()) return call_dict_method(obj, name, args);
    if (obj.is_plain_list()) return call_list_method(obj, name, args);
    throw TemplateError("'" + type_name(obj) + "' object has no method '" + name + "'");
}

std::string py_format(const std::string& format, const CallArgs& args) {
    std::string out;
    size_t auto_index = 0;
    bool used_auto = false, used_manual = false;
    size_t i = 0;
    while (i < format.size()) {
        const char c = format[i];
        if (c == '}') {
            if (i + 1 < format.size() && format[i + 1] == '}') {
                out.push_back('}');
                i += 2;
                continue;
            }
            throw TemplateError("Single '}' encountered in format string");
        }
        if (c != '{') {
            out.push_back(c);
            ++i;
            continue;
        }
        if (i + 1 < format.size() && format[i + 1] == '{') {
            out.push_back('{');
            i += 2;
            continue;
        }
        const size_t close = format.find('}', i + 1);
        if (close == std::string::npos) throw TemplateError("Single '{' encountered in format string");
        std::string field = format.substr(i + 1, close - i - 1);
        i = close + 1;
        char conversion = 0;
        const size_t colon = field.find(':');
        if (colon != std::string::npos) {
            if (colon + 1 < field.size()) throw TemplateError("format specs in str.format() are not supported");
            field.resize(colon);
        }
        const size_t bang = field.find('!');
        if (bang != std::string::npos) {
            if (bang + 2 != field.size()) throw TemplateError("invalid conversion in format string");
            conversion = field[bang + 1];
            if (conversion != 'r' && conversion != 's' && conversion != 'a')
                throw TemplateError(std::string("Unknown conversion specifier ") + conversion);
            field.resize(bang);
        }
        // Field name, then .attr / [key] lookups.
        size_t end = field.find_first_of(".[");
        const std::string head = field.substr(0, end);
        Value v;
        if (head.empty()) {
            if (used_manual) throw TemplateError("cannot switch from manual field specification to automatic field numbering");
            used_auto = true;
            if (auto_index >= args.positional.size()) throw TemplateError("Replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
            v = args.positional[auto_index++];
        } else if (std::all_of(head.begin(), head.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
            if (used_auto) throw TemplateError("cannot switch from automatic field numbering to manual field specification");
            used_manual = true;
            const int64_t k = parse_index(head);
            if (k >= static_cast<int64_t>(args.positional.size())) throw TemplateError("Replacement index " + head + " out of range for positional args tuple");
            v = args.positional[static_cast<size_t>(k)];
        } else {
            auto it = std::find_if(args.keyword.begin(), args.keyword.end(), [&](const auto& kw) { return kw.first == head; });
            if (it == args.keyword.end()) throw TemplateError("KeyError: '" + head + "'");
            v = it->second;
        }
        while (end != std::string::npos && end < field.size()) {
            if (field[end] == '.') {
                const size_t next = field.find_first_of(".[", end + 1);
                v = get_attr(v, field.substr(end + 1, next == std::string::npos ? std::string::npos : next - end - 1));
                end = next;
            } else {
                const size_t close_b = field.find(']', end);
                if (close_b == std::string::npos) throw TemplateError("Missing ']' in format string");
                const std::string key = field.substr(end + 1, close_b - end - 1);
                const bool numeric = !key.empty() && std::all_of(key.begin(), key.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
                v = get_item(v, numeric ? Value(parse_index(key)) : Value(key));
                end = close_b + 1 < field.size() ? close_b + 1 : std::string::npos;
            }
        }
        if (v.is_undefined()) throw_undefined(v);
        out += (conversion == 'r' || conversion == 'a') ? to_repr(v) : to_str(v);
    }
    return out;
}

std::string py_percent_format(const std::string& format, const Value& args) {
    std::vector<Value> positional;
    const DictData* mapping = nullptr;
    // Python treats any argument with __getitem__ that is not a tuple or str as a mapping; Jinja's Undefined
    // has one, so `'text' % undefined` formats nothing and fails only on a %(key) lookup.
    const bool undefined_mapping = args.is_undefined();
    if (args.is_tuple()) {
        positional = args.as_list().items;
    } else if (args.is_dict()) {
        mapping = &args.as_dict();
        positional.push_back(args);
    } else {
        positional.push_back(args);
    }
    size_t next_arg = 0;
    bool used_mapping = false;
    auto take = [&]() -> const Value& {
        if (next_arg >= positional.size()) throw TemplateError("not enough arguments for format string");
        return positional[next_arg++];
    };
    std::string out;
    size_t i = 0;
    while (i < format.size()) {
        if (format[i] != '%') {
            out.push_back(format[i++]);
            continue;
        }
        ++i;
        if (i >= format.size()) throw TemplateError("incomplete format");
        const Value* named = nullptr;
        if (format[i] == '(') {
            const size_t close = format.find(')', i);
            if (close == std::string::npos) throw TemplateError("incomplete format key");
            if (undefined_mapping) throw_undefined(args);
            if (!mapping) throw TemplateError("format requires a mapping");
            named = mapping->find(Value(format.substr(i + 1, close - i - 1)));
            if (!named) throw TemplateError("KeyError: '" + format.substr(i + 1, close - i - 1) + "'");
            used_mapping = true;
            i = close + 1;
        }
        std::string flags;
        while (i < format.size() && std::string_view("-+ #0").find(format[i]) != std::string_view::npos) flags.push_back(format[i++]);
        int width = -1, precision = -1;
        if (i < format.size() && format[i] == '*') {
            width = static_cast<int>(take().as_int());
            ++i;
        } else {
            while (i < format.size() && format[i] >= '0' && format[i] <= '9') width = std::max(width, 0) * 10 + (format[i++] - '0');
        }
        if (i < format.size() && format[i] == '.') {
            ++i;
            precision = 0;
            while (i < format.size() && format[i] >= '0' && format[i] <= '9') precision = precision * 10 + (format[i++] - '0');
        }
        while (i < format.size() && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L')) ++i;
        if (i >= format.size()) throw TemplateError("incomplete format");
        const char conv = format[i++];
        if (conv == '%') {
            out.push_back('%');
            continue;
        }
        const Value& v = named ? *named : take();
        const bool left = flags.find('-') != std::string::npos;
        auto pad = [&](std::string s) {
            const auto len = static_cast<int>(utf8_length(s));
            if (width > len) {
                const std::string fill(static_cast<size_t>(width - len), ' ');
                s = left ? s + fill : fill + s;
            }
            return s;
        };
        if (conv == 's' || conv == 'r' || conv == 'a') {
            if (v.is_undefined()) throw_undefined(v);
            std::string s = conv == 's' ? to_str(v) : to_repr(v);
            if (precision >= 0) s = utf8_encode(utf8_decode(s).substr(0, static_cast<size_t>(precision)));
            out += pad(std::move(s));
            continue;
        }
        if (conv == 'c') {
            std::string s;
            if (v.is_string() && utf8_length(v.as_string()) == 1) {
                s = v.as_string();
            } else if (v.is_integral()) {
                utf8_append(s, static_cast<char32_t>(v.as_int()));
            } else {
                throw TemplateError("%c requires int or char");
            }
            out += pad(std::move(s));
            continue;
        }
        std::string spec = "%" + flags;
        if (width >= 0) spec += std::to_string(width);
        if (precision >= 0) spec += "." + std::to_string(precision);
        char buf[512];
        if (conv == 'd' || conv == 'i' || conv == 'u' || conv == 'x' || conv == 'X' || conv == 'o') {
            if (!v.is_number()) throw TemplateError(std::string("%") + conv + " format: a real number is required, not " + type_name(v));
            if (v.is_float() && conv != 'd' && conv != 'i' && conv != 'u')
                throw TemplateError(std::string("%") + conv + " format: an integer is required, not float");
            const double f = v.as_float();
            if (v.is_float() && !std::isfinite(f)) throw TemplateError("cannot convert float infinity or NaN to integer");
            const long long n = v.is_float() ? static_cast<long long>(std::trunc(f)) : static_cast<long long>(v.as_int());
            spec += "ll";
            spec.push_back(conv == 'u' || conv == 'i' ? 'd' : conv);
            std::snprintf(buf, sizeof buf, spec.c_str(), n);
        } else if (std::string_view("fFeEgG").find(conv) != std::string_view::npos) {
            if (!v.is_number()) throw TemplateError(std::string("must be real number, not ") + type_name(v));
            spec.push_back(conv);
            std::snprintf(buf, sizeof buf, spec.c_str(), v.as_float());
        } else {
            throw TemplateError(std::string("unsupported format character '") + conv + "'");
        }
        out += buf;
    }
    if (!used_mapping && !mapping && !undefined_mapping && next_arg < positional.size())
        throw TemplateError("not all arguments converted during string formatting");
    return out;
}

}  // namespace awq::jinja
