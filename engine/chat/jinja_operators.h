#pragma once
// Jinja's arithmetic, concatenation and membership operators, which are Python's: int/float promotion,
// floor division and modulo rounding toward -inf, str/list concatenation and repetition, `in` on strings,
// sequences and dict keys. Undefined operands fail as in Jinja's default Undefined.
#include <string>

#include "chat/jinja_value.h"

namespace awq::jinja {

Value binary_op(const std::string& op, const Value& a, const Value& b);  // + - * / // % ** ~
Value unary_op(char op, const Value& v);                                 // - +
bool contains(const Value& container, const Value& item);                // item in container

}  // namespace awq::jinja
