#include "chat/jinja_strftime.h"

#include <cstdio>
#include <ctime>

#include "chat/jinja_error.h"

namespace awq::jinja {

namespace {

const char* const kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                               "July",    "August",   "September", "October", "November", "December"};

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

// 0 = Sunday (Sakamoto's method).
int weekday(int y, int m, int d) {
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3) y -= 1;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

int day_of_year(int y, int m, int d) {
    int n = d;
    for (int k = 1; k < m; ++k) n += days_in_month(y, k);
    return n;
}

// glibc flags: '-' no padding, '_' pad with spaces, '0' pad with zeros.
std::string number(long value, int width, char pad_flag, char default_pad) {
    const char pad = pad_flag == '_' ? ' ' : pad_flag == '0' ? '0' : default_pad;
    std::string digits = std::to_string(value < 0 ? -value : value);
    if (pad_flag != '-')
        while (static_cast<int>(digits.size()) < width) digits.insert(digits.begin(), pad);
    return (value < 0 ? "-" : "") + digits;
}

}  // namespace

DateTime local_now() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    return DateTime{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
}

std::string format_datetime(std::string_view format, const DateTime& t) {
    if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > days_in_month(t.year, t.month) || t.hour < 0 ||
        t.hour > 23 || t.minute < 0 || t.minute > 59 || t.second < 0 || t.second > 60)
        throw TemplateError("strftime_now: invalid date/time");
    const int wd = weekday(t.year, t.month, t.day);
    std::string out;
    for (size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%') {
            out.push_back(format[i]);
            continue;
        }
        if (++i >= format.size()) {
            out.push_back('%');  // glibc prints a lone trailing '%'
            break;
        }
        char flag = 0;
        if (format[i] == '-' || format[i] == '_' || format[i] == '0') {
            flag = format[i];
            if (++i >= format.size()) throw TemplateError("strftime_now: incomplete directive");
        }
        const int h12 = t.hour % 12 == 0 ? 12 : t.hour % 12;
        switch (format[i]) {
            case 'a': out += std::string(kDays[wd]).substr(0, 3); break;
            case 'A': out += kDays[wd]; break;
            case 'b':
            case 'h': out += std::string(kMonths[t.month - 1]).substr(0, 3); break;
            case 'B': out += kMonths[t.month - 1]; break;
            case 'd': out += number(t.day, 2, flag, '0'); break;
            case 'e': out += number(t.day, 2, flag, ' '); break;
            case 'm': out += number(t.month, 2, flag, '0'); break;
            case 'y': out += number(t.year % 100, 2, flag, '0'); break;
            case 'Y': out += number(t.year, 1, flag, '0'); break;
            case 'H': out += number(t.hour, 2, flag, '0'); break;
            case 'I': out += number(h12, 2, flag, '0'); break;
            case 'M': out += number(t.minute, 2, flag, '0'); break;
            case 'S': out += number(t.second, 2, flag, '0'); break;
            case 'p': out += t.hour < 12 ? "AM" : "PM"; break;
            case 'j': out += number(day_of_year(t.year, t.month, t.day), 3, flag, '0'); break;
            case 'u': out += std::to_string(wd == 0 ? 7 : wd); break;
            case 'w': out += std::to_string(wd); break;
            case 'F': out += number(t.year, 1, 0, '0') + "-" + number(t.month, 2, 0, '0') + "-" + number(t.day, 2, 0, '0'); break;
            case 'D': out += number(t.month, 2, 0, '0') + "/" + number(t.day, 2, 0, '0') + "/" + number(t.year % 100, 2, 0, '0'); break;
            case 'T': out += number(t.hour, 2, 0, '0') + ":" + number(t.minute, 2, 0, '0') + ":" + number(t.second, 2, 0, '0'); break;
            case 'R': out += number(t.hour, 2, 0, '0') + ":" + number(t.minute, 2, 0, '0'); break;
            case 'n': out += "\n"; break;
            case 't': out += "\t"; break;
            case 'Z':
            case 'z': break;  // naive datetime: no zone
            case '%': out += "%"; break;
            default:
                throw TemplateError(std::string("strftime_now: unsupported directive '%") + format[i] + "'");
        }
    }
    return out;
}

}  // namespace awq::jinja
