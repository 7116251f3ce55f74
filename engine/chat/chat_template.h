#pragma once
// Renders a model's own chat template (Jinja source from tokenizer_config.json or GGUF metadata) exactly
// as transformers' apply_chat_template(tokenize=False) does.
#include <memory>
#include <string>
#include <vector>

namespace awq {

struct ChatMessage {
    std::string role;  // "system", "user", "assistant"
    std::string content;
};

class ChatTemplate {
public:
    // Parses once; throws awq::Error(source_name, "line L: ...") on a syntax error.
    ChatTemplate(const std::string& jinja_source, const std::string& source_name);
    ~ChatTemplate();
    ChatTemplate(ChatTemplate&&) noexcept;
    ChatTemplate& operator=(ChatTemplate&&) noexcept;

    // bos_token / eos_token are passed to the template as variables, as transformers does.
    std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                       const std::string& bos_token, const std::string& eos_token) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace awq
