#pragma once
// The one exception type of the Jinja interpreter. It carries the template line so that ChatTemplate can
// report "<template>: line L: <problem>" as an awq::Error; code deep inside (filters, values) throws it
// without a line and the interpreter fills in the line of the statement or expression being evaluated.
#include <stdexcept>
#include <string>

namespace awq::jinja {

class TemplateError : public std::runtime_error {
public:
    explicit TemplateError(const std::string& message, int line = 0) : std::runtime_error(message), line_(line) {}
    int line() const { return line_; }
    void set_line_if_unknown(int line) {
        if (line_ == 0) line_ = line;
    }

private:
    int line_;
};

// raise_exception(message) called by the template itself: the message is the template author's words.
class TemplateRaised : public TemplateError {
public:
    using TemplateError::TemplateError;
};

}  // namespace awq::jinja
