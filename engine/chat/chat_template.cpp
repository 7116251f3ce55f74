#include "chat/chat_template.h"

#include "chat/jinja_error.h"
#include "chat/jinja_globals.h"
#include "chat/jinja_interpreter.h"
#include "chat/jinja_json.h"
#include "chat/jinja_parser.h"
#include "core/error.h"

namespace awq {

namespace {

std::string located(const jinja::TemplateError& e) {
    if (e.line() > 0) return "line " + std::to_string(e.line()) + ": " + e.what();
    return e.what();
}

// apply_chat_template's clean-up of each message: keys with a None value are dropped, and a message's
// reasoning is copied to "thinking" (first) and "reasoning_content" (last) for templates that read either.
nlohmann::ordered_json prepare_messages(const nlohmann::ordered_json& messages, const std::string& where) {
    if (!messages.is_array()) throw Error(where, "messages must be a JSON array of message objects");
    if (messages.empty()) throw Error(where, "cannot apply a chat template to an empty conversation");
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& m : messages) {
        if (!m.is_object()) throw Error(where, "chat messages must be JSON objects, got " + std::string(m.type_name()));
        nlohmann::ordered_json msg = nlohmann::ordered_json::object();
        for (auto it = m.begin(); it != m.end(); ++it)
            if (!it.value().is_null()) msg[it.key()] = it.value();
        const nlohmann::ordered_json* reasoning = nullptr;
        for (const char* key : {"reasoning_content", "thinking", "reasoning"})
            if (msg.contains(key)) {
                reasoning = &msg[key];
                break;
            }
        if (reasoning) {
            nlohmann::ordered_json aliased = nlohmann::ordered_json::object();
            aliased["thinking"] = *reasoning;
            for (auto it = msg.begin(); it != msg.end(); ++it) aliased[it.key()] = it.value();
            aliased["reasoning_content"] = *reasoning;
            msg = std::move(aliased);
        }
        out.push_back(std::move(msg));
    }
    return out;
}

void check_list_of_objects(const nlohmann::ordered_json& j, const char* what, const std::string& where) {
    if (j.is_null()) return;
    if (!j.is_array()) throw Error(where, std::string(what) + " must be a JSON array (or null)");
    for (const auto& e : j)
        if (!e.is_object()) throw Error(where, std::string(what) + " must be JSON objects (schemas / documents)");
}

}  // namespace

struct ChatTemplate::Impl {
    std::string name;
    jinja::TemplateAst ast;
};

ChatTemplate::ChatTemplate(const std::string& jinja_source, const std::string& source_name)
    : impl_(std::make_unique<Impl>()) {
    impl_->name = source_name;
    try {
        impl_->ast = jinja::parse_template(jinja_source);
    } catch (const jinja::TemplateError& e) {
        throw Error(source_name, located(e));
    } catch (const std::exception& e) {  // e.g. out of memory: still report which template
        throw Error(source_name, std::string("cannot parse: ") + e.what());
    }
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

const std::string& ChatTemplate::source_name() const { return impl_->name; }

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 const std::string& bos_token, const std::string& eos_token) const {
    nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
    for (const ChatMessage& m : messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
    ChatRenderOptions o;
    o.add_generation_prompt = add_generation_prompt;
    if (!bos_token.empty()) o.special_tokens["bos_token"] = bos_token;
    if (!eos_token.empty()) o.special_tokens["eos_token"] = eos_token;
    return render(msgs, o);
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, const ChatRenderOptions& options) const {
    const std::string& where = impl_->name;
    check_list_of_objects(options.tools, "tools", where);
    check_list_of_objects(options.documents, "documents", where);
    if (!options.variables.is_object()) throw Error(where, "template variables must be a JSON object");

    std::optional<jinja::DateTime> now;
    if (options.now) {
        const ChatDateTime& t = *options.now;
        now = jinja::DateTime{t.year, t.month, t.day, t.hour, t.minute, t.second};
    }
    const auto objects = std::make_shared<jinja::RenderObjects>();  // outlives every value of this render
    std::vector<std::pair<std::string, jinja::Value>> vars = jinja::make_globals(now, objects);
    try {
        vars.emplace_back("messages", jinja::from_json(prepare_messages(messages, where)));
        vars.emplace_back("tools", jinja::from_json(options.tools));
        vars.emplace_back("documents", jinja::from_json(options.documents));
        vars.emplace_back("add_generation_prompt", jinja::Value(options.add_generation_prompt));
        for (const auto& [name, token] : options.special_tokens)
            vars.emplace_back(name, jinja::from_json(nlohmann::ordered_json(token)));
        for (auto it = options.variables.begin(); it != options.variables.end(); ++it)
            vars.emplace_back(it.key(), jinja::from_json(it.value()));
    } catch (const jinja::TemplateError& e) {
        throw Error(where, std::string("template input: ") + e.what());
    }
    try {
        return jinja::Interpreter(impl_->ast).render(vars);
    } catch (const jinja::TemplateRaised& e) {
        throw Error(where, (e.line() > 0 ? "line " + std::to_string(e.line()) + ": " : std::string()) +
                               "raise_exception: " + e.what());
    } catch (const jinja::TemplateError& e) {
        throw Error(where, located(e));
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {  // e.g. out of memory: still report which template
        throw Error(where, std::string("cannot render: ") + e.what());
    }
}

}  // namespace awq
