#pragma once
// Renders a parsed template. Scoping follows Jinja: `set` inside a for-loop body or macro stays there
// (each loop iteration starts from the enclosing values; namespace() objects are the way out), `if`
// blocks share their parent's scope, top-level `set` shadows the render variables.
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_ast.h"

namespace awq::jinja {

class Interpreter {
public:
    explicit Interpreter(const TemplateAst& ast) : ast_(ast) {}
    // `variables`: globals and render context, later entries overriding earlier ones.
    // Throws TemplateError (line filled in) or TemplateRaised.
    std::string render(const std::vector<std::pair<std::string, Value>>& variables);

private:
    const TemplateAst& ast_;
};

}  // namespace awq::jinja
