#include "chat/jinja_operators.h"

#include <cmath>

#include "chat/jinja_access.h"
#include "chat/jinja_error.h"
#include "chat/jinja_methods.h"

namespace awq::jinja {

namespace {

// Repetition and concatenation results beyond this are treated as runaway templates.
constexpr size_t kMaxResultBytes = size_t{256} << 20;

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
    throw TemplateError("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
}

// Python ints do not overflow; int64 results that would are reported instead of wrapping.
template <typename Op>
int64_t checked(Op op, int64_t x, int64_t y) {
    int64_t r;
    if (op(x, y, &r)) throw TemplateError("integer overflow");
    return r;
}
bool add_ovf(int64_t x, int64_t y, int64_t* r) { return __builtin_add_overflow(x, y, r); }
bool sub_ovf(int64_t x, int64_t y, int64_t* r) { return __builtin_sub_overflow(x, y, r); }
bool mul_ovf(int64_t x, int64_t y, int64_t* r) { return __builtin_mul_overflow(x, y, r); }

Value repeat_sequence(const Value& seq, int64_t times) {
    if (times <= 0) return seq.is_string() ? Value(std::string()) : Value::list({}, seq.is_tuple());
    if (seq.is_string()) {
        if (seq.as_string().size() * static_cast<size_t>(times) > kMaxResultBytes) throw TemplateError("string repetition result is too large");
        std::string out;
        for (int64_t i = 0; i < times; ++i) out += seq.as_string();
        return Value(std::move(out));
    }
    const auto& items = seq.as_list().items;
    if (items.size() * static_cast<size_t>(times) > kMaxResultBytes / sizeof(Value)) throw TemplateError("list repetition result is too large");
    std::vector<Value> out;
    for (int64_t i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
    return Value::list(std::move(out), seq.is_tuple());
}

double float_mod(double a, double b) {
    double m = std::fmod(a, b);
    if (m != 0.0) {
        if ((b < 0) != (m < 0)) m += b;
    } else {
        m = std::copysign(0.0, b);
    }
    return m;
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b) {
    if (op == "~") return Value(to_str(a) + to_str(b));
    if (op == "%" && a.is_string()) return Value(py_percent_format(a.as_string(), b));
    if (a.is_undefined()) throw_undefined(a);
    if (b.is_undefined()) throw_undefined(b);
    const bool ints = a.is_integral() && b.is_integral();
    const bool nums = a.is_number() && b.is_number();
    if (op == "+") {
        if (ints) return Value(checked(add_ovf, a.as_int(), b.as_int()));
        if (nums) return Value(a.as_float() + b.as_float());
        if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
        if (a.is_plain_list() && b.is_plain_list() && a.is_tuple() == b.is_tuple()) {
            std::vector<Value> items = a.as_list().items;
            items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
            return Value::list(std::move(items), a.is_tuple());
        }
        if (a.is_string()) throw TemplateError("can only concatenate str (not \"" + type_name(b) + "\") to str");
        if (a.is_plain_list() && !a.is_tuple())
            throw TemplateError("can only concatenate list (not \"" + type_name(b) + "\") to list");
        unsupported(op, a, b);
    }
    if (op == "-") {
        if (ints) return Value(checked(sub_ovf, a.as_int(), b.as_int()));
        if (nums) return Value(a.as_float() - b.as_float());
        unsupported(op, a, b);
    }
    if (op == "*") {
        if (ints) return Value(checked(mul_ovf, a.as_int(), b.as_int()));
        if (nums) return Value(a.as_float() * b.as_float());
        if ((a.is_string() || a.is_plain_list()) && b.is_integral()) return repeat_sequence(a, b.as_int());
        if ((b.is_string() || b.is_plain_list()) && a.is_integral()) return repeat_sequence(b, a.as_int());
        unsupported(op, a, b);
    }
    if (op == "/") {
        if (!nums) unsupported(op, a, b);
        if (b.as_float() == 0.0) throw TemplateError("division by zero");
        return Value(a.as_float() / b.as_float());
    }
    if (op == "//") {
        if (!nums) unsupported(op, a, b);
        if (ints) {
            const int64_t x = a.as_int(), y = b.as_int();
            if (y == 0) throw TemplateError("integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) throw TemplateError("integer overflow");
            int64_t q = x / y;
            if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
            return Value(q);
        }
        if (b.as_float() == 0.0) throw TemplateError("float floor division by zero");
        // CPython's float_divmod: exact for values where floor(x / y) would be off by one.
        const double x = a.as_float(), y = b.as_float();
        double mod = std::fmod(x, y);
        double div = (x - mod) / y;
        if (mod != 0.0 && ((y < 0) != (mod < 0))) div -= 1.0;
        if (div == 0.0) return Value(std::copysign(0.0, x / y));
        double floordiv = std::floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
        return Value(floordiv);
    }
    if (op == "%") {
        if (!nums) unsupported(op, a, b);
        if (ints) {
            const int64_t x = a.as_int(), y = b.as_int();
            if (y == 0) throw TemplateError("integer division or modulo by zero");
            if (y == -1) return Value(int64_t{0});
            int64_t m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) m += y;
            return Value(m);
        }
        if (b.as_float() == 0.0) throw TemplateError("float modulo");
        return Value(float_mod(a.as_float(), b.as_float()));
    }
    if (op == "**") {
        if (!nums) unsupported(op, a, b);
        if (ints && b.as_int() >= 0) {
            int64_t base = a.as_int(), e = b.as_int(), result = 1;
            while (e > 0) {
                if (e & 1) result = checked(mul_ovf, result, base);
                e >>= 1;
                if (e) base = checked(mul_ovf, base, base);
            }
            return Value(result);
        }
        if (a.as_float() == 0.0 && b.as_float() < 0) throw TemplateError("0.0 cannot be raised to a negative power");
        const double p = std::pow(a.as_float(), b.as_float());
        if (std::isnan(p) && !std::isnan(a.as_float()) && !std::isnan(b.as_float()))
            throw TemplateError("negative number cannot be raised to a fractional power");
        return Value(p);
    }
    throw TemplateError("unknown operator '" + op + "'");
}

Value unary_op(char op, const Value& v) {
    if (v.is_undefined()) throw_undefined(v);
    if (!v.is_number()) throw TemplateError(std::string("bad operand type for unary ") + op + ": '" + type_name(v) + "'");
    if (op == '+') return v.is_float() ? v : Value(v.as_int());
    if (v.is_float()) return Value(-v.as_float());
    if (v.as_int() == INT64_MIN) throw TemplateError("integer overflow");
    return Value(-v.as_int());
}

bool contains(const Value& container, const Value& item) {
    switch (container.type()) {
        case Value::Type::Undefined: return false;
        case Value::Type::String:
            if (!item.is_string())
                throw TemplateError("'in <string>' requires string as left operand, not " + type_name(item));
            return container.as_string().find(item.as_string()) != std::string::npos;
        case Value::Type::List: {
            const ListData& l = container.as_list();
            if (l.is_iterator()) {  // `in` consumes a generator up to the match
                while (l.consumed < l.items.size())
                    if (equals(l.items[l.consumed++], item)) return true;
                if (!l.deferred_error.empty()) throw TemplateError(l.deferred_error);
                return false;
            }
            for (const Value& v : l.items)
                if (equals(v, item)) return true;
            return false;
        }
        case Value::Type::Dict: return container.as_dict().find(item) != nullptr;
        default: throw TemplateError("argument of type '" + type_name(container) + "' is not iterable");
    }
}

}  // namespace awq::jinja
