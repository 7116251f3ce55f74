#include "tokenizer/tokenizer_json_loader.h"
#include "tokenizer/sentencepiece_model_reader.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace awq {
namespace {

using nlohmann::json;

// Field access that reports the JSON path of a missing or mistyped value.
class Reader {
public:
    explicit Reader(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const std::string& what) const { throw Error(source_, what); }

    const json& member(const json& obj, const char* key, const std::string& path) const {
        if (!obj.is_object()) fail(path + " must be an object");
        auto it = obj.find(key);
        if (it == obj.end()) fail(path + "." + key + " is missing");
        return *it;
    }
    bool boolean(const json& obj, const char* key, const std::string& path, std::optional<bool> dflt) const {
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) {
            if (dflt) return *dflt;
            fail(path + "." + key + " is missing");
        }
        if (!it->is_boolean()) fail(path + "." + key + " must be true or false");
        return it->get<bool>();
    }
    std::string string(const json& obj, const char* key, const std::string& path) const {
        const json& v = member(obj, key, path);
        if (!v.is_string()) fail(path + "." + key + " must be a string");
        return v.get<std::string>();
    }
    std::optional<std::string> opt_string(const json& obj, const char* key, const std::string& path) const {
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) return std::nullopt;
        if (!it->is_string()) fail(path + "." + key + " must be a string or null");
        return it->get<std::string>();
    }
    int64_t integer(const json& v, const std::string& path) const {
        if (!v.is_number_integer()) fail(path + " must be an integer");
        return v.get<int64_t>();
    }
    int32_t id(const json& v, const std::string& path) const {
        const int64_t x = integer(v, path);
        if (x < 0 || x > INT32_MAX) fail(path + " = " + std::to_string(x) + " is not a valid token id");
        return static_cast<int32_t>(x);
    }
    char32_t single_char(const json& obj, const char* key, const std::string& path) const {
        const std::string s = string(obj, key, path);
        char32_t c = 0;
        if (s.empty() || utf8::decode(s, 0, c) != s.size()) fail(path + "." + key + " must be exactly one character");
        return c;
    }
    // {"String": "..."} or {"Regex": "..."}
    std::pair<std::string, bool> pattern(const json& obj, const std::string& path) const {
        const json& p = member(obj, "pattern", path);
        if (p.is_object() && p.size() == 1) {
            if (p.contains("String") && p["String"].is_string()) return {p["String"].get<std::string>(), false};
            if (p.contains("Regex") && p["Regex"].is_string()) return {p["Regex"].get<std::string>(), true};
        }
        fail(path + ".pattern must be {\"String\": ...} or {\"Regex\": ...}");
    }
    std::string type(const json& obj, const std::string& path) const {
        if (!obj.is_object()) fail(path + " must be an object or null");
        auto it = obj.find("type");
        if (it == obj.end() || !it->is_string()) fail(path + ".type is missing");
        return it->get<std::string>();
    }
    const std::string& source() const { return source_; }

private:
    std::string source_;
};

std::unique_ptr<Normalizer> make_normalizer(const Reader& r, const json& j, const std::string& path) {
    if (j.is_null()) return nullptr;
    const std::string type = r.type(j, path);
    if (type == "Sequence") {
        const json& list = r.member(j, "normalizers", path);
        if (!list.is_array()) r.fail(path + ".normalizers must be an array");
        std::vector<std::unique_ptr<Normalizer>> steps;
        for (size_t i = 0; i < list.size(); ++i) {
            auto n = make_normalizer(r, list[i], path + ".normalizers[" + std::to_string(i) + "]");
            if (n) steps.push_back(std::move(n));
        }
        return std::make_unique<SequenceNormalizer>(std::move(steps));
    }
    if (type == "Prepend") return std::make_unique<PrependNormalizer>(r.string(j, "prepend", path));
    if (type == "Replace") {
        auto [pattern, is_regex] = r.pattern(j, path);
        std::string content = r.string(j, "content", path);
        if (is_regex) return ReplaceNormalizer::regex(pattern, std::move(content), r.source() + ": " + path);
        return ReplaceNormalizer::literal(std::move(pattern), std::move(content));
    }
    if (type == "NFC") return std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::Form::NFC);
    if (type == "NFD") return std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::Form::NFD);
    r.fail(path + ": normalizer type '" + type +
           "' is not supported (supported: Sequence, Prepend, Replace, NFC, NFD)");
}

SplitBehavior split_behavior(const Reader& r, const json& j, const std::string& path) {
    const std::string b = r.string(j, "behavior", path);
    if (b == "Removed") return SplitBehavior::Removed;
    if (b == "Isolated") return SplitBehavior::Isolated;
    if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (b == "Contiguous") return SplitBehavior::Contiguous;
    r.fail(path + ".behavior '" + b + "' is not a known split behavior");
}

PrependScheme prepend_scheme(const Reader& r, const json& j, const std::string& path) {
    PrependScheme scheme = PrependScheme::Always;
    if (auto s = r.opt_string(j, "prepend_scheme", path)) {
        if (*s == "always") scheme = PrependScheme::Always;
        else if (*s == "first") scheme = PrependScheme::First;
        else if (*s == "never") scheme = PrependScheme::Never;
        else r.fail(path + ".prepend_scheme '" + *s + "' is not always/first/never");
    }
    // Older files say add_prefix_space instead; false means never.
    if (j.contains("add_prefix_space") && !r.boolean(j, "add_prefix_space", path, true)) {
        if (scheme != PrependScheme::Never && j.contains("prepend_scheme"))
            r.fail(path + ": add_prefix_space=false contradicts prepend_scheme");
        scheme = PrependScheme::Never;
    }
    return scheme;
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Reader& r, const json& j, const std::string& path) {
    if (j.is_null()) return nullptr;
    const std::string type = r.type(j, path);
    if (type == "Sequence") {
        const json& list = r.member(j, "pretokenizers", path);
        if (!list.is_array()) r.fail(path + ".pretokenizers must be an array");
        std::vector<std::unique_ptr<PreTokenizer>> steps;
        for (size_t i = 0; i < list.size(); ++i) {
            auto p = make_pre_tokenizer(r, list[i], path + ".pretokenizers[" + std::to_string(i) + "]");
            if (p) steps.push_back(std::move(p));
        }
        return std::make_unique<SequencePreTokenizer>(std::move(steps));
    }
    if (type == "Split") {
        auto [pattern, is_regex] = r.pattern(j, path);
        const SplitBehavior behavior = split_behavior(r, j, path);
        const bool invert = r.boolean(j, "invert", path, false);
        if (is_regex) return SplitPreTokenizer::regex(pattern, behavior, invert, r.source() + ": " + path);
        return SplitPreTokenizer::literal(pattern, behavior, invert);
    }
    if (type == "ByteLevel")
        return std::make_unique<ByteLevelPreTokenizer>(r.boolean(j, "add_prefix_space", path, true),
                                                       r.boolean(j, "use_regex", path, true));
    if (type == "Digits") return std::make_unique<DigitsPreTokenizer>(r.boolean(j, "individual_digits", path, false));
    if (type == "Metaspace") {
        std::string replacement;
        utf8::append(replacement, r.single_char(j, "replacement", path));
        return std::make_unique<MetaspacePreTokenizer>(replacement, prepend_scheme(r, j, path),
                                                       r.boolean(j, "split", path, true));
    }
    r.fail(path + ": pre-tokenizer type '" + type +
           "' is not supported (supported: Sequence, Split, ByteLevel, Digits, Metaspace)");
}

std::unique_ptr<TokenDecoder> make_decoder(const Reader& r, const json& j, const std::string& path) {
    if (j.is_null()) return nullptr;
    const std::string type = r.type(j, path);
    if (type == "Sequence") {
        const json& list = r.member(j, "decoders", path);
        if (!list.is_array()) r.fail(path + ".decoders must be an array");
        std::vector<std::unique_ptr<TokenDecoder>> steps;
        for (size_t i = 0; i < list.size(); ++i) {
            auto d = make_decoder(r, list[i], path + ".decoders[" + std::to_string(i) + "]");
            if (d) steps.push_back(std::move(d));
        }
        return std::make_unique<SequenceDecoder>(std::move(steps));
    }
    if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse") return std::make_unique<FuseDecoder>();
    if (type == "Replace") {
        auto [pattern, is_regex] = r.pattern(j, path);
        std::string content = r.string(j, "content", path);
        if (is_regex)
            return std::make_unique<ReplaceDecoder>(
                ReplaceNormalizer::regex(pattern, std::move(content), r.source() + ": " + path));
        return std::make_unique<ReplaceDecoder>(ReplaceNormalizer::literal(std::move(pattern), std::move(content)));
    }
    if (type == "Strip") {
        const int64_t start = r.integer(r.member(j, "start", path), path + ".start");
        const int64_t stop = r.integer(r.member(j, "stop", path), path + ".stop");
        if (start < 0 || stop < 0) r.fail(path + ": start/stop must not be negative");
        return std::make_unique<StripDecoder>(r.single_char(j, "content", path), static_cast<size_t>(start),
                                              static_cast<size_t>(stop));
    }
    if (type == "Metaspace")
        return std::make_unique<MetaspaceDecoder>(r.single_char(j, "replacement", path),
                                                  prepend_scheme(r, j, path) != PrependScheme::Never);
    r.fail(path + ": decoder type '" + type +
           "' is not supported (supported: Sequence, ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace)");
}

// Token name -> id through the added tokens and the model, for post-processor and config lookups.
std::optional<int32_t> lookup(const TokenizerParts& p, const std::string& token) {
    if (auto id = p.added.find(token)) return id;
    return p.model->token_to_id(token);
}

PostProcessor make_post_processor(const Reader& r, const json& j, const std::string& path, const TokenizerParts& p) {
    if (j.is_null()) return {};
    const std::string type = r.type(j, path);
    if (type == "ByteLevel") return {};  // only trims offsets
    if (type == "Sequence") {
        const json& list = r.member(j, "processors", path);
        if (!list.is_array()) r.fail(path + ".processors must be an array");
        PostProcessor all;
        for (size_t i = 0; i < list.size(); ++i)
            all.append(make_post_processor(r, list[i], path + ".processors[" + std::to_string(i) + "]", p));
        return all;
    }
    if (type == "TemplateProcessing") {
        const json& single = r.member(j, "single", path);
        const json& specials = r.member(j, "special_tokens", path);
        if (!single.is_array()) r.fail(path + ".single must be an array");
        std::vector<int32_t> prefix, suffix;
        bool seen_sequence = false;
        for (size_t i = 0; i < single.size(); ++i) {
            const std::string ipath = path + ".single[" + std::to_string(i) + "]";
            const json& item = single[i];
            if (item.is_object() && item.contains("Sequence")) {
                const std::string seq = r.string(item["Sequence"], "id", ipath + ".Sequence");
                if (seq != "A" || seen_sequence) r.fail(ipath + ": a single-sequence template must use $A exactly once");
                seen_sequence = true;
            } else if (item.is_object() && item.contains("SpecialToken")) {
                const std::string name = r.string(item["SpecialToken"], "id", ipath + ".SpecialToken");
                const json& entry = r.member(specials, name.c_str(), path + ".special_tokens");
                const json& ids = r.member(entry, "ids", path + ".special_tokens." + name);
                if (!ids.is_array()) r.fail(path + ".special_tokens." + name + ".ids must be an array");
                for (const auto& id : ids)
                    (seen_sequence ? suffix : prefix).push_back(r.id(id, path + ".special_tokens." + name + ".ids"));
            } else {
                r.fail(ipath + " must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
            }
        }
        if (!seen_sequence) r.fail(path + ".single has no $A");
        return PostProcessor(std::move(prefix), std::move(suffix));
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        auto pair_id = [&](const char* key) {
            const json& v = r.member(j, key, path);
            if (!v.is_array() || v.size() != 2) r.fail(path + "." + key + " must be [token, id]");
            return r.id(v[1], path + "." + key + "[1]");
        };
        return PostProcessor({pair_id("cls")}, {pair_id("sep")});
    }
    r.fail(path + ": post-processor type '" + type +
           "' is not supported (supported: TemplateProcessing, ByteLevel, Sequence, BertProcessing, RobertaProcessing)");
}

std::unique_ptr<BpeModel> make_model(const Reader& r, const json& j) {
    const std::string path = "model";
    if (!j.is_object()) r.fail("model is missing or not an object");
    std::string type;
    if (j.contains("type")) {
        type = r.type(j, path);
    } else if (j.contains("merges")) {
        type = "BPE";  // files written before models were tagged
    } else {
        r.fail("model.type is missing");
    }
    if (type != "BPE") r.fail("model type '" + type + "' is not supported (only BPE)");

    BpeOptions opt;
    opt.unk_token = r.opt_string(j, "unk_token", path);
    opt.fuse_unk = r.boolean(j, "fuse_unk", path, false);
    opt.byte_fallback = r.boolean(j, "byte_fallback", path, false);
    opt.ignore_merges = r.boolean(j, "ignore_merges", path, false);
    opt.continuing_subword_prefix = r.opt_string(j, "continuing_subword_prefix", path).value_or("");
    opt.end_of_word_suffix = r.opt_string(j, "end_of_word_suffix", path).value_or("");
    if (auto it = j.find("dropout"); it != j.end() && !it->is_null()) {
        // Dropout makes encoding random; only the "off" value 0 is reproducible.
        if (!it->is_number() || it->get<double>() != 0.0)
            r.fail("model.dropout = " + it->dump() + " (random merges) is not supported");
    }

    const json& vocab_j = r.member(j, "vocab", path);
    if (!vocab_j.is_object()) r.fail("model.vocab must be an object of token: id");
    std::vector<std::pair<std::string, int32_t>> vocab;
    vocab.reserve(vocab_j.size());
    for (auto it = vocab_j.begin(); it != vocab_j.end(); ++it)
        vocab.emplace_back(it.key(), r.id(it.value(), "model.vocab['" + it.key() + "']"));

    std::vector<std::pair<std::string, std::string>> merges;
    if (auto it = j.find("merges"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) r.fail("model.merges must be an array");
        merges.reserve(it->size());
        for (size_t i = 0; i < it->size(); ++i) {
            const json& m = (*it)[i];
            const std::string mpath = "model.merges[" + std::to_string(i) + "]";
            if (m.is_string()) {
                // Legacy "a b": exactly one space, as tokenizers requires.
                const std::string s = m.get<std::string>();
                const size_t sp = s.find(' ');
                if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                    r.fail(mpath + " '" + s + "' is not two tokens separated by one space");
                merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
            } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
            } else {
                r.fail(mpath + " must be \"a b\" or [\"a\", \"b\"]");
            }
        }
    }
    return BpeModel::from_merges(vocab, merges, std::move(opt), r.source());
}

// tokenizer_config.json names a special token as a string or as {"content": ...}.
std::optional<std::string> config_token(const json& config, const char* key) {
    auto it = config.find(key);
    if (it == config.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    return std::nullopt;
}

}  // namespace

TokenizerParts tokenizer_parts_from_json(const json& j, const std::string& source, std::unique_ptr<BpeModel> model) {
    Reader r(source);
    if (!j.is_object()) r.fail("not a tokenizer.json (top level is not an object)");
    TokenizerParts p;
    p.source = source;
    p.model = model ? std::move(model) : make_model(r, j.contains("model") ? j["model"] : json());

    if (auto it = j.find("added_tokens"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) r.fail("added_tokens must be an array");
        for (size_t i = 0; i < it->size(); ++i) {
            const json& t = (*it)[i];
            const std::string path = "added_tokens[" + std::to_string(i) + "]";
            AddedToken a;
            a.content = r.string(t, "content", path);
            a.id = r.id(r.member(t, "id", path), path + ".id");
            a.special = r.boolean(t, "special", path, false);
            a.single_word = r.boolean(t, "single_word", path, false);
            a.lstrip = r.boolean(t, "lstrip", path, false);
            a.rstrip = r.boolean(t, "rstrip", path, false);
            a.normalized = r.boolean(t, "normalized", path, !a.special);
            // tokenizers gives an added token that is also a vocabulary entry the entry's id.
            if (auto vid = p.model->token_to_id(a.content)) a.id = *vid;
            p.added.add(std::move(a));
        }
    }
    p.normalizer = make_normalizer(r, j.value("normalizer", json()), "normalizer");
    p.pre_tokenizer = make_pre_tokenizer(r, j.value("pre_tokenizer", json()), "pre_tokenizer");
    p.decoder = make_decoder(r, j.value("decoder", json()), "decoder");
    p.post_processor = make_post_processor(r, j.value("post_processor", json()), "post_processor", p);
    // Without a tokenizer_config.json, the template's own tokens are the best statement of bos/eos.
    if (p.post_processor.prefix().size() == 1) p.bos_id = p.post_processor.prefix().front();
    if (p.post_processor.suffix().size() == 1) p.eos_id = p.post_processor.suffix().back();
    return p;
}

void apply_tokenizer_config(TokenizerParts& p, const json& config, const std::string& source) {
    if (!config.is_object()) throw Error(source, "not a tokenizer_config.json (top level is not an object)");
    auto resolve = [&](const char* key) -> std::optional<int32_t> {
        auto name = config_token(config, key);
        if (!name) return std::nullopt;
        auto id = lookup(p, *name);
        if (!id) throw Error(source, std::string(key) + " '" + *name + "' is not in the vocabulary");
        return id;
    };
    const auto bos = resolve("bos_token");
    const auto eos = resolve("eos_token");
    if (config_token(config, "bos_token")) p.bos_id = bos;
    if (config_token(config, "eos_token")) p.eos_id = eos;
    if (config.contains("add_bos_token") || config.contains("add_eos_token")) {
        auto flag = [&](const char* key) {
            auto it = config.find(key);
            if (it == config.end() || it->is_null()) return false;
            if (!it->is_boolean()) throw Error(source, std::string(key) + " must be true or false");
            return it->get<bool>();
        };
        std::vector<int32_t> prefix, suffix;
        if (flag("add_bos_token") && bos) prefix.push_back(*bos);
        if (flag("add_eos_token") && eos) suffix.push_back(*eos);
        p.post_processor = PostProcessor(std::move(prefix), std::move(suffix));
    }
}

json read_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, std::filesystem::exists(path) ? "cannot open file" : "file not found");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return json::parse(ss.str());
    } catch (const json::exception& e) {
        throw Error(path, std::string("invalid JSON: ") + e.what());
    }
}

std::unique_ptr<Tokenizer> Tokenizer::from_tokenizer_json(const std::string& path) {
    return std::make_unique<PipelineTokenizer>(tokenizer_parts_from_json(read_json_file(path), path));
}

std::unique_ptr<Tokenizer> Tokenizer::from_hf_folder(const std::string& dir) {
    const std::string tj = (std::filesystem::path(dir) / "tokenizer.json").string();
    const std::string sp = (std::filesystem::path(dir) / "tokenizer.model").string();
    if (!std::filesystem::exists(tj) && std::filesystem::exists(sp)) {
        // Only the SentencePiece model (older Llama 2 / Mistral folders): BOS/EOS flags from tokenizer_config.json.
        GgufVocab v = read_sentencepiece_model(sp);
        const std::string tc = (std::filesystem::path(dir) / "tokenizer_config.json").string();
        if (std::filesystem::exists(tc)) {
            nlohmann::json c = read_json_file(tc);
            if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean()) v.add_bos = c["add_bos_token"].get<bool>();
            if (c.contains("add_eos_token") && c["add_eos_token"].is_boolean()) v.add_eos = c["add_eos_token"].get<bool>();
        }
        return from_gguf_vocab(v, sp);
    }
    TokenizerParts parts = tokenizer_parts_from_json(read_json_file(tj), tj);
    const std::string tc = (std::filesystem::path(dir) / "tokenizer_config.json").string();
    if (std::filesystem::exists(tc)) apply_tokenizer_config(parts, read_json_file(tc), tc);
    return std::make_unique<PipelineTokenizer>(std::move(parts));
}

}  // namespace awq
