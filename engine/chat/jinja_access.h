#pragma once
// How templates reach into values, with the semantics of Jinja's (immutable) sandbox: `obj.name` and
// `obj[key]` (each falling back to the other, missing keys giving Undefined), Python slicing, iteration and
// len(). Attribute access on str/dict/list yields bound methods (see jinja_methods).
#include <cstdint>
#include <string>
#include <vector>

#include "chat/jinja_value.h"

namespace awq::jinja {

// for-loops and filters; Undefined iterates as empty, generators and iterators are used up.
std::vector<Value> iterate(const Value& v);
// next(iter(v)): the first item, taking only that one from a generator; false when there is none.
bool first_item(const Value& v, Value& out);
int64_t length(const Value& v);              // len()
Value get_attr(const Value& obj, const std::string& name);
// Python getattr() only (no fallback to obj[name]): what the attr filter does.
Value get_python_attr(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// Python slice index normalisation: the indices a slice visits in a sequence of `len` elements.
std::vector<int64_t> slice_indices(int64_t len, const Value& start, const Value& stop, const Value& step);

}  // namespace awq::jinja
