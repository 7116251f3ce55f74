#pragma once
// strftime_now(format), the global transformers gives chat templates (Llama 3.1+ use it for "Today Date").
// Python's datetime.strftime passes the format to the C library in the "C" locale; this formats the same
// directives with English names itself, so output never depends on the process locale, and a fixed
// date can be injected for reproducible prompts and tests.
#include <string>
#include <string_view>

namespace awq::jinja {

struct DateTime {
    int year = 1970, month = 1, day = 1;  // month 1..12, day 1..31
    int hour = 0, minute = 0, second = 0;
};

DateTime local_now();
// Throws TemplateError for an invalid date or an unsupported directive.
std::string format_datetime(std::string_view format, const DateTime& t);

}  // namespace awq::jinja
