// ChatTemplate against transformers' apply_chat_template(tokenize=False): the real templates of SmolLM2,
// Llama 2/3/3.1/3.2, Qwen2.5 and Mistral v0.1/v0.3 over a set of conversations (chat_golden.json), and one
// small template per Jinja feature (chat_features.json), all written by tests/reference/make_chat_golden.py.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "core/error.h"
#include "io/gguf_reader.h"
#include "test_paths.h"

namespace {

using json = nlohmann::ordered_json;

std::string read_text(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + p.string());
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

json load_json(const std::string& name) { return json::parse(read_text(awq::test::data_dir() / "chat" / name)); }

awq::ChatRenderOptions options_for(const json& c) {
    awq::ChatRenderOptions o;
    o.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
    for (auto it = c.at("special_tokens").begin(); it != c.at("special_tokens").end(); ++it)
        o.special_tokens[it.key()] = it.value().get<std::string>();
    o.tools = c.at("tools");
    o.documents = c.at("documents");
    o.variables = c.at("kwargs");
    if (!c.at("now").is_null()) {
        const json& n = c.at("now");
        o.now = awq::ChatDateTime{n[0].get<int>(), n[1].get<int>(), n[2].get<int>(),
                                  n[3].get<int>(), n[4].get<int>(), n[5].get<int>()};
    }
    return o;
}

// Output must equal transformers' byte for byte; where transformers raised, we must throw an awq::Error
// naming the template and carrying the same message (for raise_exception: the template's own text).
void check_case(const awq::ChatTemplate& t, const json& c, int& passed) {
    const std::string id = c.at("id").get<std::string>();
    const awq::ChatRenderOptions o = options_for(c);
    if (c.contains("expected")) {
        std::string got;
        try {
            got = t.render(c.at("messages"), o);
        } catch (const awq::Error& e) {
            ADD_FAILURE() << id << ": threw " << e.what();
            return;
        }
        EXPECT_EQ(got, c.at("expected").get<std::string>()) << id;
        if (got == c.at("expected").get<std::string>()) ++passed;
        return;
    }
    const std::string python_error = c.at("error").get<std::string>();
    try {
        const std::string got = t.render(c.at("messages"), o);
        ADD_FAILURE() << id << ": rendered " << got << " but transformers raised " << python_error;
    } catch (const awq::Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(t.source_name()), std::string::npos) << id << ": " << msg;
        EXPECT_NE(msg.find(python_error), std::string::npos) << id << ": ours \"" << msg << "\" python \"" << python_error << "\"";
        if (msg.find(python_error) != std::string::npos) ++passed;
    }
}

}  // namespace

TEST(ChatTemplate, RealTemplatesMatchTransformers) {
    const json golden = load_json("chat_golden.json");
    std::map<std::string, awq::ChatTemplate> templates;
    for (auto it = golden.at("templates").begin(); it != golden.at("templates").end(); ++it) {
        const std::string file = it.value().at("file").get<std::string>();
        templates.emplace(it.key(), awq::ChatTemplate(read_text(awq::test::data_dir() / "chat" / file), file));
    }
    int passed = 0;
    for (const json& c : golden.at("cases")) check_case(templates.at(c.at("template").get<std::string>()), c, passed);
    EXPECT_EQ(passed, static_cast<int>(golden.at("cases").size()));
    EXPECT_GE(passed, 100);
}

TEST(ChatTemplate, SimpleApiEqualsFullApi) {
    // render(vector<ChatMessage>, ...) is the common path; it must give the same bytes for plain conversations.
    const json golden = load_json("chat_golden.json");
    int compared = 0;
    for (const json& c : golden.at("cases")) {
        if (!c.contains("expected") || !c.at("tools").is_null() || !c.at("kwargs").empty() || !c.at("now").is_null())
            continue;
        std::vector<awq::ChatMessage> messages;
        bool plain = true;
        for (const json& m : c.at("messages")) {
            plain = plain && m.size() == 2 && m.contains("role") && m.contains("content") && m.at("content").is_string();
            if (plain) messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
        }
        if (!plain) continue;
        const std::string file = golden.at("templates").at(c.at("template").get<std::string>()).at("file").get<std::string>();
        const awq::ChatTemplate t(read_text(awq::test::data_dir() / "chat" / file), file);
        const json& st = c.at("special_tokens");
        EXPECT_EQ(t.render(messages, c.at("add_generation_prompt").get<bool>(), st.value("bos_token", ""),
                           st.value("eos_token", "")),
                  c.at("expected").get<std::string>())
            << c.at("id");
        ++compared;
    }
    EXPECT_GE(compared, 60);
}

TEST(ChatTemplate, MistralRoleOrderRaisesTemplateMessage) {
    const awq::ChatTemplate t(read_text(awq::test::data_dir() / "chat" / "mistral_v0_3.jinja"), "mistral_v0_3.jinja");
    const json golden = load_json("chat_golden.json");
    const json* expected = nullptr;
    for (const json& c : golden.at("cases"))
        if (c.at("id").get<std::string>() == "mistral_v0_3/bad_order_error/gen") expected = &c;
    ASSERT_NE(expected, nullptr);
    try {
        t.render({{"user", "first"}, {"user", "second user turn in a row"}}, true, "<s>", "</s>");
        FAIL() << "wrong role order rendered";
    } catch (const awq::Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind("mistral_v0_3.jinja: ", 0), 0u) << msg;
        EXPECT_NE(msg.find(expected->at("error").get<std::string>()), std::string::npos) << msg;
        EXPECT_NE(msg.find("line "), std::string::npos) << msg;
    }
}

TEST(ChatTemplate, JinjaFeaturesMatchTransformers) {
    const json features = load_json("chat_features.json");
    int passed = 0;
    for (const json& c : features.at("cases")) {
        const std::string name = c.at("id").get<std::string>() + ".jinja";
        try {
            const awq::ChatTemplate t(c.at("source").get<std::string>(), name);
            check_case(t, c, passed);
        } catch (const awq::Error& e) {
            ADD_FAILURE() << c.at("id") << ": failed to parse: " << e.what();
        }
    }
    EXPECT_EQ(passed, static_cast<int>(features.at("cases").size()));
}

TEST(ChatTemplate, SyntaxErrorsNameTemplateAndJinjaLine) {
    const json features = load_json("chat_features.json");
    int checked = 0;
    for (const json& c : features.at("syntax_errors")) {
        const std::string name = c.at("id").get<std::string>() + ".jinja";
        const std::string line = "line " + std::to_string(c.at("line").get<int>()) + ":";
        try {
            awq::ChatTemplate t(c.at("source").get<std::string>(), name);
            ADD_FAILURE() << c.at("id") << ": parsed, but Jinja says: " << c.at("message");
        } catch (const awq::Error& e) {
            const std::string msg = e.what();
            EXPECT_EQ(msg.rfind(name + ": ", 0), 0u) << msg;
            EXPECT_NE(msg.find(line), std::string::npos) << c.at("id") << ": ours \"" << msg << "\", Jinja: " << line << " " << c.at("message");
            ++checked;
        }
    }
    EXPECT_GE(checked, 10);
}

TEST(ChatTemplate, BadInputIsRejected) {
    const awq::ChatTemplate t("{% for m in messages %}{{ m.content }}{% endfor %}", "t.jinja");
    EXPECT_THROW(t.render(json::array(), awq::ChatRenderOptions{}), awq::Error);                   // empty conversation
    EXPECT_THROW(t.render(json::array({"not an object"}), awq::ChatRenderOptions{}), awq::Error);  // message not a dict
    EXPECT_THROW(t.render(json{{"role", "user"}}, awq::ChatRenderOptions{}), awq::Error);          // not a list
    awq::ChatRenderOptions bad_tools;
    bad_tools.tools = json{{"name", "x"}};
    EXPECT_THROW(t.render(json::array({{{"role", "user"}, {"content", "x"}}}), bad_tools), awq::Error);
    // Malformed UTF-8 in content or in the template source.
    EXPECT_THROW(t.render({{"user", std::string("bad \xC3")}}, false, "", ""), awq::Error);
    EXPECT_THROW(awq::ChatTemplate(std::string("{{ '\xFF' }}"), "u.jinja"), awq::Error);
    // Invalid injected date.
    const awq::ChatTemplate d("{{ strftime_now('%d') }}", "d.jinja");
    awq::ChatRenderOptions bad_date;
    bad_date.now = awq::ChatDateTime{2025, 2, 30};
    EXPECT_THROW(d.render(json::array({{{"role", "user"}, {"content", "x"}}}), bad_date), awq::Error);
}

TEST(ChatTemplate, PathologicalNestingFailsCleanly) {
    // Deep nesting must end in an awq::Error, never in a stack overflow.
    const std::string deep_expr = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
    EXPECT_THROW(awq::ChatTemplate(deep_expr, "deep.jinja"), awq::Error);
    std::string deep_blocks;
    for (int i = 0; i < 2000; ++i) deep_blocks += "{% if true %}";
    EXPECT_THROW(awq::ChatTemplate(deep_blocks, "blocks.jinja"), awq::Error);
    const awq::ChatTemplate grow(
        "{% set ns = namespace(x=[]) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}",
        "grow.jinja");
    EXPECT_THROW(grow.render({{"user", "x"}}, false, "", ""), awq::Error);
    json nested = json::array();
    for (int i = 0; i < 600; ++i) nested = json::array({nested});
    const awq::ChatTemplate t("{{ messages[0].content }}", "t.jinja");
    EXPECT_THROW(t.render(json::array({{{"role", "user"}, {"content", nested}}}), awq::ChatRenderOptions{}), awq::Error);
}

TEST(ChatTemplate, MutatedTemplatesFailCleanly) {
    // Byte-level damage to real templates (deleted, duplicated or replaced characters) must either render
    // or throw awq::Error; nothing else may escape and nothing may crash.
    const char* const files[] = {"llama3_1.jinja", "qwen2_5.jinja", "mistral_v0_3.jinja", "qwen3.jinja", "llama2.jinja"};
    const json messages = json::array({{{"role", "system"}, {"content", "s"}}, {{"role", "user"}, {"content", "u"}}});
    const char alphabet[] = "{}%#-+()[]'\".|:,= \nxae0";
    uint32_t seed = 12345;
    auto next = [&seed]() { return seed = seed * 1664525u + 1013904223u; };
    int rendered = 0, rejected = 0;
    for (const char* f : files) {
        const std::string original = read_text(awq::test::data_dir() / "chat" / f);
        for (int k = 0; k < 300; ++k) {
            std::string src = original;
            for (int edits = 1 + next() % 3; edits > 0; --edits) {
                const size_t pos = next() % src.size();
                switch (next() % 3) {
                    case 0: src.erase(pos, 1 + next() % 4); break;
                    case 1: src.insert(pos, src.substr(pos, 1 + next() % 6)); break;
                    default: src[pos] = alphabet[next() % (sizeof alphabet - 1)]; break;
                }
            }
            try {
                const awq::ChatTemplate t(src, f);
                awq::ChatRenderOptions o;
                o.add_generation_prompt = true;
                o.special_tokens = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
                t.render(messages, o);
                ++rendered;
            } catch (const awq::Error&) {
                ++rejected;
            }
        }
    }
    EXPECT_EQ(rendered + rejected, 1500);
    EXPECT_GT(rejected, 100);
}

TEST(ChatTemplate, StrftimeNowDefaultsToLocalClock) {
    // Without an injected date strftime_now() reads the local clock, like datetime.now() in transformers.
    const awq::ChatTemplate t("{{ strftime_now('%Y-%m-%d %b') }}", "clock.jinja");
    const std::string got = t.render({{"user", "x"}}, false, "", "");
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %b", &tm);
    EXPECT_EQ(got, buf);
}

TEST(ChatTemplate, DefaultGgufTemplateRendersLikeTransformers) {
    // The engine takes the template from GGUF metadata; it must be the text the golden cases were made from.
    if (!std::filesystem::exists(awq::test::default_gguf())) GTEST_SKIP() << "no default GGUF: run scripts/setup.sh";
    const awq::GgufReader gguf(awq::test::default_gguf().string());
    const std::string source = gguf.get_string("tokenizer.chat_template");
    EXPECT_EQ(source, read_text(awq::test::data_dir() / "chat" / "smollm2.jinja"));
    const std::vector<std::string> tokens = gguf.get_string_array("tokenizer.ggml.tokens");
    const std::string bos = tokens.at(static_cast<size_t>(gguf.get_int("tokenizer.ggml.bos_token_id")));
    const std::string eos = tokens.at(static_cast<size_t>(gguf.get_int("tokenizer.ggml.eos_token_id")));
    const awq::ChatTemplate t(source, awq::test::default_gguf().filename().string());
    const json golden = load_json("chat_golden.json");
    int compared = 0;
    for (const json& c : golden.at("cases")) {
        if (c.at("template").get<std::string>() != "smollm2" || !c.contains("expected")) continue;
        awq::ChatRenderOptions o = options_for(c);
        o.special_tokens = {{"bos_token", bos}, {"eos_token", eos}};
        EXPECT_EQ(t.render(c.at("messages"), o), c.at("expected").get<std::string>()) << c.at("id");
        ++compared;
    }
    EXPECT_EQ(compared, 10);
}

TEST(ChatTemplate, ReusableAndMovable) {
    awq::ChatTemplate a(read_text(awq::test::data_dir() / "chat" / "smollm2.jinja"), "smollm2.jinja");
    const std::string first = a.render({{"user", "Hi"}}, true, "<|im_start|>", "<|im_end|>");
    awq::ChatTemplate b = std::move(a);
    EXPECT_EQ(b.render({{"user", "Hi"}}, true, "<|im_start|>", "<|im_end|>"), first);
    EXPECT_EQ(b.source_name(), "smollm2.jinja");
}
