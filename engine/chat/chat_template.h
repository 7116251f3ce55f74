#pragma once
// Renders a model's own chat template (Jinja source from tokenizer_config.json or GGUF metadata) exactly
// as transformers' apply_chat_template(tokenize=False) does.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace awq {

struct ChatMessage {
    std::string role;  // "system", "user", "assistant"
    std::string content;
};

// The wall-clock time strftime_now() reports to a template (Llama 3.1+ print "Today Date").
struct ChatDateTime {
    int year = 1970, month = 1, day = 1;
    int hour = 0, minute = 0, second = 0;
};

// Everything apply_chat_template hands a template besides the messages.
struct ChatRenderOptions {
    bool add_generation_prompt = false;
    // The tokenizer's named special tokens that are set ("bos_token", "eos_token", "unk_token", "pad_token",
    // ...): transformers passes each as a template variable; a token that is not set is undefined.
    std::map<std::string, std::string> special_tokens;
    nlohmann::ordered_json tools;      // JSON array of tool schemas; null = no tools (the template sees None)
    nlohmann::ordered_json documents;  // JSON array of documents; null = none
    // Extra template variables (apply_chat_template's **kwargs, e.g. enable_thinking, date_string);
    // they override special tokens of the same name.
    nlohmann::ordered_json variables = nlohmann::ordered_json::object();
    std::optional<ChatDateTime> now;  // what strftime_now() reports; unset = the local clock
};

class ChatTemplate {
public:
    // Parses once; throws awq::Error(source_name, "line L: ...") on a syntax error.
    ChatTemplate(const std::string& jinja_source, const std::string& source_name);
    ~ChatTemplate();
    ChatTemplate(ChatTemplate&&) noexcept;
    ChatTemplate& operator=(ChatTemplate&&) noexcept;

    // bos_token / eos_token are passed to the template as variables, as transformers does (an empty
    // string means the tokenizer has no such token: the variable is left undefined).
    std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                       const std::string& bos_token, const std::string& eos_token) const;

    // Full form: messages as apply_chat_template takes them (a JSON array of message objects, which may
    // carry tool_calls, content lists, ...). Like transformers it rejects an empty conversation, drops
    // message keys whose value is null and mirrors reasoning fields (reasoning_content/thinking/reasoning).
    // Errors, including the template's own raise_exception(), throw awq::Error naming the template.
    std::string render(const nlohmann::ordered_json& messages, const ChatRenderOptions& options) const;

    const std::string& source_name() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace awq
