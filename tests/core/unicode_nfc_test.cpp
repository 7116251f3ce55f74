// Unicode NFC/NFD against Python's unicodedata (tests/data/tokenizer/nfc_golden.json), and a tokenizer.json
// with the NFC normalizer against HF tokenizers (nfc_bpe_golden.json); both written by
// tests/reference/make_unicode_nfc_tables.py.
#include <gtest/gtest.h>

#include <cstdio>

#include "core/error.h"
#include "tokenizer/pipeline_tokenizer.h"
#include "tokenizer/tokenizer_json_loader.h"
#include "tokenizer/unicode_nfc.h"
#include "tokenizer/utf8.h"
#include "tokenizer_golden.h"

namespace awq::test {
namespace {

std::vector<char32_t> decode_all(const std::string& s) {
    std::vector<char32_t> out;
    for (size_t i = 0; i < s.size();) {
        char32_t c = 0;
        const size_t len = utf8::decode(s, i, c);
        if (len == 0) return out;  // the callers only pass golden (valid) strings or our own output
        out.push_back(c);
        i += len;
    }
    return out;
}

// "U+0065 U+0301 ..." so that a failure shows which code points differ, not two identical-looking glyphs.
std::string code_points(const std::vector<char32_t>& cps, size_t from = 0, size_t limit = 16) {
    std::string out;
    for (size_t i = from; i < cps.size() && i < from + limit; ++i) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "U+%04X ", static_cast<unsigned>(cps[i]));
        out += buf;
    }
    return cps.size() > from + limit ? out + "..." : out;
}

std::string code_points(const std::string& s) { return code_points(decode_all(s)); }

// The first code point where two strings part, with a little context before it.
std::string first_difference(const std::string& got, const std::string& want) {
    const auto g = decode_all(got), w = decode_all(want);
    size_t i = 0;
    while (i < g.size() && i < w.size() && g[i] == w[i]) ++i;
    const size_t from = i >= 3 ? i - 3 : 0;
    return "code point " + std::to_string(i) + ": got [" + code_points(g, from, 8) + "] want [" +
           code_points(w, from, 8) + "]";
}

struct NfcCase {
    std::string text, nfc, nfd;
};

struct NfcGolden {
    std::string unicode_version;
    std::vector<NfcCase> cases;
};

const NfcGolden& nfc_golden() {
    static const NfcGolden g = [] {
        const nlohmann::json j = read_json(tokenizer_data_dir() / "nfc_golden.json");
        NfcGolden out;
        out.unicode_version = j.at("unicode_version");
        for (const auto& c : j.at("cases")) out.cases.push_back({c.at("text"), c.at("nfc"), c.at("nfd")});
        return out;
    }();
    return g;
}

TEST(UnicodeNfc, TablesMatchGoldenUnicodeVersion) {
    EXPECT_EQ(unicode_nfc_version(), nfc_golden().unicode_version)
        << "unicode_nfc_tables.inc and nfc_golden.json come from different runs of make_unicode_nfc_tables.py";
}

// Every golden string (handmade edge cases, sentences in several scripts composed / decomposed / with
// marks reordered, random mixtures, and sweeps over every table entry) normalizes exactly as unicodedata.
TEST(UnicodeNfc, NfcEqualsUnicodedata) {
    const auto& g = nfc_golden();
    ASSERT_GT(g.cases.size(), 400u);
    size_t failures = 0, changed = 0;
    for (size_t i = 0; i < g.cases.size(); ++i) {
        const NfcCase& c = g.cases[i];
        const std::string got = nfc(c.text);
        changed += c.nfc != c.text;
        if (got != c.nfc && ++failures <= 10)
            ADD_FAILURE() << "case " << i << " [" << code_points(c.text) << "]: " << first_difference(got, c.nfc);
    }
    EXPECT_EQ(failures, 0u) << "of " << g.cases.size();
    EXPECT_GT(changed, g.cases.size() / 2) << "the golden strings should mostly need normalizing";
}

TEST(UnicodeNfc, NfdEqualsUnicodedata) {
    const auto& g = nfc_golden();
    size_t failures = 0;
    for (size_t i = 0; i < g.cases.size(); ++i) {
        const NfcCase& c = g.cases[i];
        const std::string got = nfd(c.text);
        if (got != c.nfd && ++failures <= 10)
            ADD_FAILURE() << "case " << i << " [" << code_points(c.text) << "]: " << first_difference(got, c.nfd);
    }
    EXPECT_EQ(failures, 0u) << "of " << g.cases.size();
}

// Normal forms are fixed points, and NFC of the NFD form is NFC (both facts of the golden data itself;
// this exercises the paths from already decomposed and already composed input).
TEST(UnicodeNfc, NormalFormsAreStable) {
    size_t failures = 0;
    for (const NfcCase& c : nfc_golden().cases) {
        if (nfc(c.nfc) != c.nfc && ++failures <= 5) ADD_FAILURE() << "nfc(nfc) [" << code_points(c.nfc) << "]";
        if (nfc(c.nfd) != c.nfc && ++failures <= 5) ADD_FAILURE() << "nfc(nfd) [" << code_points(c.nfd) << "]";
        if (nfd(c.nfc) != c.nfd && ++failures <= 5) ADD_FAILURE() << "nfd(nfc) [" << code_points(c.nfc) << "]";
        if (nfd(c.nfd) != c.nfd && ++failures <= 5) ADD_FAILURE() << "nfd(nfd) [" << code_points(c.nfd) << "]";
    }
    EXPECT_EQ(failures, 0u);
}

TEST(UnicodeNfc, InvalidUtf8IsAnError) {
    // Invalid bytes on the fast path (nothing at or above U+0300), after a character that forces the full
    // algorithm, and sequences that are invalid only in their continuation (surrogate, past U+10FFFF).
    const std::vector<std::string> bad = {"\xC3",         "abc\xC0\x80",       "\xFF",
                                          "e\xCC\x81\xFF", "\xCC\x81\xE4\xB8", "a\xED\xA0\x80",
                                          "\xF4\x90\x80\x80", "\xE1\x84\x80\x80"};
    for (const std::string& s : bad) {
        for (auto* f : {&nfc, &nfd}) {
            try {
                (void)f(s);
                ADD_FAILURE() << "no awq::Error for bytes " << ::testing::PrintToString(std::vector<uint8_t>(s.begin(), s.end()));
            } catch (const awq::Error& e) {
                EXPECT_NE(std::string(e.what()).find("not valid UTF-8 (byte "), std::string::npos) << e.what();
            }
        }
    }
}

// ---- end to end: tokenizer.json with {"type": "NFC"} -------------------------------------------------------

std::unique_ptr<Tokenizer> tokenizer_with_normalizer(const nlohmann::json& normalizer, const std::string& name) {
    nlohmann::json j = read_json(tokenizer_data_dir() / "nfc_bpe.tokenizer.json");
    j["normalizer"] = normalizer;
    return std::make_unique<PipelineTokenizer>(tokenizer_parts_from_json(j, "nfc_bpe.tokenizer.json (" + name + ")"));
}

// Composed, decomposed and scrambled spellings of sentences in several scripts, added tokens (one normalized
// and written decomposed, one not normalized) and random mixtures: ids and decodes equal HF tokenizers for
// NFC, and for Sequence normalizers combining NFD, Replace and NFC.
TEST(NfcTokenizer, EncodesLikeHfTokenizers) {
    const nlohmann::json g = read_json(tokenizer_data_dir() / "nfc_bpe_golden.json");
    ASSERT_GE(g.at("variants").size(), 4u);
    {
        const auto file = Tokenizer::from_tokenizer_json((tokenizer_data_dir() / "nfc_bpe.tokenizer.json").string());
        const auto& first = g["variants"][0];
        ASSERT_EQ(first.at("normalizer"), nlohmann::json({{"type", "NFC"}}));
        for (const auto& c : first.at("cases"))
            EXPECT_TRUE(same_ids(file->encode(c.at("text").get<std::string>(), false), c.at("ids"))) << c.at("text");
    }
    for (const auto& v : g["variants"]) {
        const std::string name = v.at("name");
        SCOPED_TRACE(name);
        const auto tok = tokenizer_with_normalizer(v.at("normalizer"), name);
        size_t n = 0;
        for (const auto& c : v.at("cases")) {
            const std::string text = c.at("text");
            const std::vector<int32_t> ids = c.at("ids");
            EXPECT_TRUE(same_ids(tok->encode(text, false), ids)) << "[" << code_points(text) << "]";
            EXPECT_EQ(tok->decode(ids, false), c.at("decode").get<std::string>());
            ++n;
        }
        EXPECT_GT(n, 100u);
    }
}

// The golden set would prove nothing if the normalizer did not matter: without it, decomposed text must
// tokenize differently for most cases.
TEST(NfcTokenizer, NormalizerChangesIds) {
    const nlohmann::json g = read_json(tokenizer_data_dir() / "nfc_bpe_golden.json");
    const auto raw = tokenizer_with_normalizer(nullptr, "no normalizer");
    size_t differ = 0, total = 0;
    for (const auto& c : g["variants"][0].at("cases")) {
        differ += raw->encode(c.at("text").get<std::string>(), false) != c.at("ids").get<std::vector<int32_t>>();
        ++total;
    }
    EXPECT_GT(differ, total / 2) << differ << " of " << total;
}

TEST(NfcTokenizer, OtherUnicodeFormsAreStillRejected) {
    for (const char* form : {"NFKC", "NFKD"}) {
        const nlohmann::json seq = {{"type", "Sequence"},
                                    {"normalizers", nlohmann::json::array({{{"type", "NFC"}}, {{"type", form}}})}};
        try {
            tokenizer_with_normalizer(seq, form);
            ADD_FAILURE() << form << " accepted";
        } catch (const awq::Error& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find("normalizer.normalizers[1]"), std::string::npos) << msg;
            EXPECT_NE(msg.find(std::string("'") + form + "' is not supported"), std::string::npos) << msg;
        }
    }
}

}  // namespace
}  // namespace awq::test
