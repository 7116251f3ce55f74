#pragma once
// Dynamic values of the Jinja interpreter with the Python semantics Jinja inherits: truthiness, ==, ordering,
// str() and repr() (what `{{ x }}` and `x|string` print), and the Undefined value of Jinja's default
// Undefined class (prints as "", is falsy and iterates as empty, but any other use is an error).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace awq::jinja {

class Value;

struct Undefined {
    std::string hint;  // the error Jinja reports when the value is used, e.g. "'foo' is undefined"
};
struct None {};

// What Python object a sequence stands for. Jinja's map/select/reject/unique/items filters return lazy
// generators (always truthy, no len(), not subscriptable, consumed by iteration), reverse returns a
// list_reverseiterator, dict.items()/keys()/values() return views (sized, re-iterable, not subscriptable).
enum class SeqKind : uint8_t { Plain, Generator, ReverseIterator, DictItems, DictKeys, DictValues };

struct ListData {
    std::vector<Value> items;
    bool is_tuple = false;
    SeqKind kind = SeqKind::Plain;
    mutable size_t consumed = 0;  // generators and iterators: items already taken by iteration
    // A generator whose production failed after `items`: Jinja raises only when iteration gets there.
    std::string deferred_error;
    mutable int depth = 1;        // nesting depth, set when wrapped in a Value
    bool is_iterator() const { return kind == SeqKind::Generator || kind == SeqKind::ReverseIterator; }
};

// A Python dict: insertion ordered, keys compared with Python ==.
struct DictData {
    std::vector<std::pair<Value, Value>> items;
    mutable int depth = 1;  // nesting depth, set when wrapped in a Value
    const Value* find(const Value& key) const;
    void set(Value key, Value value);
};

// Jinja's namespace(): the one mutable object a template can create (`{% set ns.x = ... %}`).
struct NamespaceData {
    std::vector<std::pair<std::string, Value>> attrs;
    const Value* find(const std::string& name) const;
    void set(const std::string& name, Value value);
};

struct CallArgs {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> keyword;
};

struct CallableData {
    std::string name;
    std::function<Value(CallArgs&)> fn;
};

using ListPtr = std::shared_ptr<const ListData>;
using DictPtr = std::shared_ptr<const DictData>;
using NamespacePtr = std::shared_ptr<NamespaceData>;
using CallablePtr = std::shared_ptr<const CallableData>;

class Value {
public:
    // Order matches the variant alternatives.
    enum class Type { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

    Value() : v_(Undefined{}) {}
    Value(Undefined u) : v_(std::move(u)) {}
    Value(None n) : v_(n) {}
    Value(bool b) : v_(b) {}
    Value(int64_t i) : v_(i) {}
    Value(int i) : v_(static_cast<int64_t>(i)) {}
    Value(double d) : v_(d) {}
    Value(std::string s) : v_(std::move(s)) {}
    Value(const char* s) : v_(std::string(s)) {}
    // Containers are measured when wrapped: nesting beyond the limit is refused (see NestingGuard).
    Value(ListPtr l);
    Value(DictPtr d);
    Value(NamespacePtr n) : v_(std::move(n)) {}
    Value(CallablePtr c) : v_(std::move(c)) {}

    static Value undefined(std::string hint) { return Value(Undefined{std::move(hint)}); }
    static Value list(std::vector<Value> items, bool is_tuple = false);
    // A generator, iterator or dict view; `deferred_error` (generators) is raised when iteration reaches it.
    static Value sequence(std::vector<Value> items, SeqKind kind, std::string deferred_error = {});
    static Value dict(std::vector<std::pair<Value, Value>> items = {});
    static Value callable(std::string name, std::function<Value(CallArgs&)> fn);

    Type type() const { return static_cast<Type>(v_.index()); }
    bool is_undefined() const { return type() == Type::Undefined; }
    bool is_none() const { return type() == Type::None; }
    bool is_bool() const { return type() == Type::Bool; }
    bool is_int() const { return type() == Type::Int; }
    bool is_float() const { return type() == Type::Float; }
    bool is_number() const { return is_bool() || is_int() || is_float(); }  // Python: bool is an int
    bool is_integral() const { return is_bool() || is_int(); }
    bool is_string() const { return type() == Type::String; }
    bool is_list() const { return type() == Type::List; }  // any sequence kind, see seq_kind()
    bool is_tuple() const { return is_list() && as_list().is_tuple; }
    SeqKind seq_kind() const { return is_list() ? as_list().kind : SeqKind::Plain; }
    bool is_plain_list() const { return is_list() && as_list().kind == SeqKind::Plain; }  // list or tuple
    bool is_dict() const { return type() == Type::Dict; }
    bool is_namespace() const { return type() == Type::Namespace; }
    bool is_callable() const { return type() == Type::Callable; }

    const std::string& undefined_hint() const { return std::get<Undefined>(v_).hint; }
    bool as_bool() const { return std::get<bool>(v_); }
    int64_t as_int() const;  // int or bool
    double as_float() const;  // any number
    const std::string& as_string() const { return std::get<std::string>(v_); }
    const ListData& as_list() const { return *std::get<ListPtr>(v_); }
    const DictData& as_dict() const { return *std::get<DictPtr>(v_); }
    NamespaceData& as_namespace() const { return *std::get<NamespacePtr>(v_); }
    const CallableData& as_callable() const { return *std::get<CallablePtr>(v_); }
    const void* identity() const;  // object identity for `is sameas`, null for plain scalars

private:
    int depth() const;  // 0 for scalars
    std::variant<Undefined, None, bool, int64_t, double, std::string, ListPtr, DictPtr, NamespacePtr, CallablePtr> v_;
};

// Bounds recursion over nested values (repr, JSON, ==, ordering), as Python's recursion limit does, so a
// pathologically deep value fails with an error instead of exhausting the stack.
class NestingGuard {
public:
    NestingGuard();
    ~NestingGuard();
    NestingGuard(const NestingGuard&) = delete;
    NestingGuard& operator=(const NestingGuard&) = delete;
};

[[noreturn]] void throw_undefined(const Value& v);
std::string type_name(const Value& v);  // Python's name for the type, used in error messages

// A decimal digit string as an index: Python ints are unbounded, so one beyond int64 saturates (and then
// matches no element) instead of failing to parse.
int64_t parse_index(const std::string& digits);

bool truthy(const Value& v);
std::string to_str(const Value& v);   // str(v); Undefined gives ""
std::string to_repr(const Value& v);  // repr(v)
std::string py_float_repr(double d);
std::string py_str_repr(const std::string& s);

bool equals(const Value& a, const Value& b);
// Python ordering; throws TemplateError when the types cannot be ordered (e.g. str < int).
int compare(const Value& a, const Value& b);

}  // namespace awq::jinja
