#include "chat/jinja_access.h"

#include "chat/jinja_error.h"
#include "chat/jinja_methods.h"
#include "chat/jinja_unicode.h"

namespace awq::jinja {

namespace {

// Jinja names a Python object in Undefined messages as "<type> object" (and None as "None").
std::string object_type_repr(const Value& v) {
    if (v.is_none()) return "None";
    return type_name(v) + " object";
}

Value missing_attribute(const Value& obj, const std::string& name) {
    return Value::undefined("'" + object_type_repr(obj) + "' has no attribute '" + name + "'");
}

Value missing_element(const Value& obj, const Value& key) {
    return Value::undefined(object_type_repr(obj) + " has no element " + to_repr(key));
}

// Python getattr() on the value itself: methods of str/dict/list and namespace attributes.
bool python_attribute(const Value& obj, const std::string& name, Value& out) {
    if (obj.is_namespace()) {
        if (const Value* v = obj.as_namespace().find(name)) {
            out = *v;
            return true;
        }
        return false;
    }
    if (const char* unsafe = unsafe_method(obj, name)) {
        // The immutable sandbox hands out an Undefined that fails when used.
        out = Value::undefined(std::string("access to attribute '") + name + "' of '" + unsafe + "' object is unsafe.");
        return true;
    }
    if (has_method(obj, name)) {
        out = bound_method(obj, name);
        return true;
    }
    return false;
}

int64_t to_index(const Value& v) {
    if (!v.is_integral()) throw TemplateError("slice indices must be integers or None");
    return v.as_int();
}

}  // namespace

std::vector<Value> iterate(const Value& v) {
    switch (v.type()) {
        case Value::Type::Undefined: return {};
        case Value::Type::List: {
            const ListData& l = v.as_list();
            if (!l.is_iterator()) return l.items;
            std::vector<Value> rest(l.items.begin() + static_cast<long>(l.consumed), l.items.end());
            l.consumed = l.items.size();
            if (!l.deferred_error.empty()) throw TemplateError(l.deferred_error);
            return rest;
        }
        case Value::Type::Dict: {
            std::vector<Value> keys;
            for (const auto& kv : v.as_dict().items) keys.push_back(kv.first);
            return keys;
        }
        case Value::Type::String: {
            std::vector<Value> chars;
            for (char32_t c : utf8_decode(v.as_string())) {
                std::string s;
                utf8_append(s, c);
                chars.emplace_back(std::move(s));
            }
            return chars;
        }
        default: throw TemplateError("'" + type_name(v) + "' object is not iterable");
    }
}

bool first_item(const Value& v, Value& out) {
    if (v.is_list() && v.as_list().is_iterator()) {
        const ListData& l = v.as_list();
        if (l.consumed >= l.items.size()) {
            if (!l.deferred_error.empty()) throw TemplateError(l.deferred_error);
            return false;
        }
        out = l.items[l.consumed++];
        return true;
    }
    const std::vector<Value> items = iterate(v);
    if (items.empty()) return false;
    out = items.front();
    return true;
}

int64_t length(const Value& v) {
    switch (v.type()) {
        case Value::Type::Undefined: return 0;
        case Value::Type::String: return static_cast<int64_t>(utf8_length(v.as_string()));
        case Value::Type::List:
            if (v.as_list().is_iterator()) break;
            return static_cast<int64_t>(v.as_list().items.size());
        case Value::Type::Dict: return static_cast<int64_t>(v.as_dict().items.size());
        default: break;
    }
    throw TemplateError("object of type '" + type_name(v) + "' has no len()");
}

Value get_attr(const Value& obj, const std::string& name) {
    if (obj.is_undefined()) throw_undefined(obj);
    Value out;
    if (python_attribute(obj, name, out)) return out;
    if (obj.is_dict()) {
        if (const Value* v = obj.as_dict().find(Value(name))) return *v;
    }
    return missing_attribute(obj, name);
}

Value get_python_attr(const Value& obj, const std::string& name) {
    if (obj.is_undefined()) throw_undefined(obj);
    Value out;
    if (python_attribute(obj, name, out)) return out;
    return missing_attribute(obj, name);
}

Value get_item(const Value& obj, const Value& key) {
    if (obj.is_undefined()) throw_undefined(obj);
    if (key.is_undefined()) return missing_element(obj, key);  // Undefined is hashable: a failed lookup
    switch (obj.type()) {
        case Value::Type::Dict:
            if (!(key.is_list() && !key.is_tuple()) && !key.is_dict()) {
                if (const Value* v = obj.as_dict().find(key)) return *v;
            }
            break;
        case Value::Type::List:
            if (!obj.is_plain_list()) break;  // generators and views are not subscriptable
            if (key.is_integral()) {
                const auto& items = obj.as_list().items;
                int64_t i = key.as_int();
                const auto n = static_cast<int64_t>(items.size());
                if (i < 0) i += n;
                if (i >= 0 && i < n) return items[static_cast<size_t>(i)];
                return missing_element(obj, key);
            }
            break;
        case Value::Type::String:
            if (key.is_integral()) {
                const std::u32string u = utf8_decode(obj.as_string());
                int64_t i = key.as_int();
                const auto n = static_cast<int64_t>(u.size());
                if (i < 0) i += n;
                if (i >= 0 && i < n) {
                    std::string s;
                    utf8_append(s, u[static_cast<size_t>(i)]);
                    return Value(std::move(s));
                }
                return missing_element(obj, key);
            }
            break;
        default: break;
    }
    if (key.is_string()) {
        Value out;
        if (python_attribute(obj, key.as_string(), out)) return out;
        return missing_attribute(obj, key.as_string());
    }
    return missing_element(obj, key);
}

std::vector<int64_t> slice_indices(int64_t len, const Value& start_v, const Value& stop_v, const Value& step_v) {
    const bool no_start = start_v.is_none() || start_v.is_undefined();
    const bool no_stop = stop_v.is_none() || stop_v.is_undefined();
    const bool no_step = step_v.is_none() || step_v.is_undefined();
    const int64_t step = no_step ? 1 : to_index(step_v);
    if (step == 0) throw TemplateError("slice step cannot be zero");
    int64_t start, stop;
    if (no_start) {
        start = step < 0 ? len - 1 : 0;
    } else {
        start = to_index(start_v);
        if (start < 0) {
            start += len;
            if (start < 0) start = step < 0 ? -1 : 0;
        } else if (start >= len) {
            start = step < 0 ? len - 1 : len;
        }
    }
    if (no_stop) {
        stop = step < 0 ? -1 : len;
    } else {
        stop = to_index(stop_v);
        if (stop < 0) {
            stop += len;
            if (stop < 0) stop = step < 0 ? -1 : 0;
        } else if (stop >= len) {
            stop = step < 0 ? len - 1 : len;
        }
    }
    std::vector<int64_t> out;
    if (step > 0) {
        for (int64_t i = start; i < stop; i += step) out.push_back(i);
    } else {
        for (int64_t i = start; i > stop; i += step) out.push_back(i);
    }
    return out;
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
    if (obj.is_undefined()) throw_undefined(obj);
    if (obj.is_plain_list()) {
        const auto& items = obj.as_list().items;
        std::vector<Value> out;
        for (int64_t i : slice_indices(static_cast<int64_t>(items.size()), start, stop, step))
            out.push_back(items[static_cast<size_t>(i)]);
        return Value::list(std::move(out), obj.is_tuple());
    }
    if (obj.is_string()) {
        const std::u32string u = utf8_decode(obj.as_string());
        std::u32string out;
        for (int64_t i : slice_indices(static_cast<int64_t>(u.size()), start, stop, step))
            out.push_back(u[static_cast<size_t>(i)]);
        return Value(utf8_encode(out));
    }
    return Value::undefined(object_type_repr(obj) + " has no element slice");
}

}  // namespace awq::jinja
