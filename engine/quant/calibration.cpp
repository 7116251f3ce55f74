#include "quant/calibration.h"

#include <algorithm>
#include <fstream>
#include <random>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace awq {

namespace {

std::string strip(const std::string& s) {
    const char* ws = " \t\r\n\f\v";
    size_t a = s.find_first_not_of(ws);
    if (a == std::string::npos) return "";
    size_t b = s.find_last_not_of(ws);
    return s.substr(a, b - a + 1);
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<std::string> read_calibration_texts(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, "cannot open calibration file");
    const bool jsonl = ends_with(path, ".jsonl") || ends_with(path, ".json");
    std::vector<std::string> texts;
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (!jsonl) {
            if (!strip(line).empty()) texts.push_back(line);
            continue;
        }
        if (strip(line).empty()) continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            throw Error(path, "line " + std::to_string(n) + ": invalid JSON (" + e.what() + ")");
        }
        if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
            throw Error(path, "line " + std::to_string(n) + ": expected an object with a string field \"text\"");
        texts.push_back(j["text"].get<std::string>());
    }
    return texts;
}

CalibrationData build_calibration(const Tokenizer& tok, const CalibrationConfig& cfg) {
    if (cfg.n_samples < 1) throw Error("--calib-samples", "must be >= 1");
    if (cfg.seqlen < 2) throw Error("--calib-seqlen", "must be >= 2");
    CalibrationData d;
    d.source = cfg.path.empty() ? "<texts>" : cfg.path;
    std::vector<std::string> texts = cfg.path.empty() ? cfg.texts : read_calibration_texts(cfg.path);
    if (cfg.shuffle) std::shuffle(texts.begin(), texts.end(), std::mt19937_64(cfg.seed));

    std::vector<int64_t> stream;
    for (const auto& t : texts) {
        if ((int64_t)d.texts.size() == cfg.n_samples) break;
        std::string s = strip(t);
        if (s.empty()) continue;
        std::vector<int32_t> ids = tok.encode(s, /*add_special=*/true);
        if (ids.empty() || (int64_t)ids.size() > cfg.seqlen) continue;
        stream.insert(stream.end(), ids.begin(), ids.end());
        d.texts.push_back(s);
    }
    d.tokens = (int64_t)stream.size();
    const int64_t blocks = d.tokens / cfg.seqlen;
    if ((int64_t)d.texts.size() < cfg.n_samples || blocks == 0)
        throw Error(d.source, "too little calibration text: " + std::to_string(d.texts.size()) + " usable texts (non-empty, at most " +
                                  std::to_string(cfg.seqlen) + " tokens each) with " + std::to_string(d.tokens) +
                                  " tokens in all; " + std::to_string(cfg.n_samples) + " samples and at least " +
                                  std::to_string(cfg.seqlen) + " tokens are needed (add text or lower --calib-samples)");
    d.ids = at::from_blob(stream.data(), {blocks, cfg.seqlen}, at::kLong).clone();
    return d;
}

}  // namespace awq
