#pragma once
// Jinja2 grammar (as of Jinja 3.1, with the loopcontrols extension and transformers' {% generation %} tag)
// from tokens to the syntax tree. Operator precedence, tuple rules and the placement of filters and tests
// follow jinja2/parser.py, so expressions group exactly as they do in transformers.
#include <string_view>

#include "chat/jinja_ast.h"

namespace awq::jinja {

// Throws TemplateError with the line on syntax errors, unknown filters/tests and unclosed blocks.
TemplateAst parse_template(std::string_view source);

}  // namespace awq::jinja
