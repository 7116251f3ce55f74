#include "chat/jinja_globals.h"

#include <memory>

#include "chat/jinja_access.h"
#include "chat/jinja_args.h"
#include "chat/jinja_error.h"

namespace awq::jinja {

namespace {

constexpr int64_t kMaxRange = 100000;  // Jinja's sandbox refuses larger ranges

Value range(CallArgs& args) {
    if (!args.keyword.empty()) throw TemplateError("range() takes no keyword arguments");
    if (args.positional.empty() || args.positional.size() > 3)
        throw TemplateError("range expected 1 to 3 arguments, got " + std::to_string(args.positional.size()));
    for (const Value& v : args.positional)
        if (!v.is_integral()) throw TemplateError("'" + type_name(v) + "' object cannot be interpreted as an integer");
    int64_t start = 0, stop, step = 1;
    if (args.positional.size() == 1) {
        stop = args.positional[0].as_int();
    } else {
        start = args.positional[0].as_int();
        stop = args.positional[1].as_int();
        if (args.positional.size() == 3) step = args.positional[2].as_int();
    }
    if (step == 0) throw TemplateError("range() arg 3 must not be zero");
    std::vector<Value> out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (static_cast<int64_t>(out.size()) >= kMaxRange)
            throw TemplateError("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
        out.emplace_back(i);
    }
    return Value::list(std::move(out));
}

// dict(*args, **kwargs) as Python builds it: a mapping or (key, value) pairs, then keywords.
std::vector<std::pair<Value, Value>> dict_items(const char* fn, CallArgs& args) {
    if (args.positional.size() > 1)
        throw TemplateError(std::string(fn) + " expected at most 1 positional argument, got " + std::to_string(args.positional.size()));
    auto d = std::make_shared<DictData>();
    if (!args.positional.empty()) {
        const Value& src = args.positional[0];
        if (src.is_dict()) {
            for (const auto& kv : src.as_dict().items) d->set(kv.first, kv.second);
        } else {
            for (const Value& pair : iterate(src)) {
                const std::vector<Value> kv = iterate(pair);
                if (kv.size() != 2)
                    throw TemplateError("dictionary update sequence element has length " + std::to_string(kv.size()) + "; 2 is required");
                d->set(kv[0], kv[1]);
            }
        }
    }
    for (auto& kw : args.keyword) d->set(Value(kw.first), kw.second);
    return std::move(d->items);
}

}  // namespace

std::vector<std::pair<std::string, Value>> make_globals(const std::optional<DateTime>& now,
                                                        const std::shared_ptr<RenderObjects>& objects) {
    std::weak_ptr<RenderObjects> registry = objects;
    std::vector<std::pair<std::string, Value>> g;
    g.emplace_back("range", Value::callable("range", range));
    g.emplace_back("raise_exception", Value::callable("raise_exception", [](CallArgs& args) -> Value {
                       BoundArgs a("raise_exception", args, {"message"}, 1);
                       throw TemplateRaised(to_str(a[0]));
                   }));
    g.emplace_back("strftime_now", Value::callable("strftime_now", [now](CallArgs& args) -> Value {
                       BoundArgs a("strftime_now", args, {"format"}, 1);
                       if (!a[0].is_string()) throw TemplateError("strftime_now() argument must be str, not " + type_name(a[0]));
                       return Value(format_datetime(a[0].as_string(), now ? *now : local_now()));
                   }));
    g.emplace_back("dict", Value::callable("dict", [](CallArgs& args) { return Value::dict(dict_items("dict", args)); }));
    g.emplace_back("namespace", Value::callable("namespace", [registry](CallArgs& args) {
                       auto ns = std::make_shared<NamespaceData>();
                       if (auto r = registry.lock()) r->track(ns);
                       for (auto& kv : dict_items("namespace", args)) {
                           if (!kv.first.is_string()) throw TemplateError("namespace attribute names must be strings");
                           const std::string& name = kv.first.as_string();
                           if (!name.empty() && name[0] == '_')
                               throw TemplateError("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '" + name + "'. Please rename the attribute.");
                           ns->set(name, std::move(kv.second));
                       }
                       return Value(NamespacePtr(std::move(ns)));
                   }));
    g.emplace_back("joiner", Value::callable("joiner", [](CallArgs& args) {
                       BoundArgs a("joiner", args, {"sep"});
                       const std::string sep = a.given(0) ? to_str(a[0]) : std::string(", ");
                       auto used = std::make_shared<bool>(false);
                       return Value::callable("joiner", [sep, used](CallArgs&) {
                           if (!*used) {
                               *used = true;
                               return Value(std::string());
                           }
                           return Value(sep);
                       });
                   }));
    return g;
}

}  // namespace awq::jinja
