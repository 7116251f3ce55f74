#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace awq {
namespace {

constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kMaxCacheEntries = 200000;

struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    uint32_t len;  // bytes of the word this symbol covers; 0 once merged into its left neighbour
};

struct QueuedMerge {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    // std::priority_queue pops the largest, so "larger" here means worse rank, then further right.
    bool operator<(const QueuedMerge& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

void BpeModel::build_vocab(const std::vector<std::pair<std::string, int32_t>>& vocab, const std::string& where) {
    where_ = where;
    int32_t max_id = -1;
    for (const auto& [tok, id] : vocab) {
        if (id < 0) throw Error(where, "vocabulary entry '" + tok + "' has negative id " + std::to_string(id));
        max_id = std::max(max_id, id);
    }
    id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
    has_id_.assign(static_cast<size_t>(max_id + 1), false);
    vocab_.reserve(vocab.size());
    for (const auto& [tok, id] : vocab) {
        vocab_[tok] = id;
        id_to_token_[id] = tok;
        has_id_[id] = true;
    }
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        auto it = vocab_.find(std::string_view(name));
        byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
    }
    if (options_.unk_token) {
        auto it = vocab_.find(*options_.unk_token);
        if (it != vocab_.end()) unk_id_ = it->second;
    }
}

std::unique_ptr<BpeModel> BpeModel::from_merges(const std::vector<std::pair<std::string, int32_t>>& vocab,
                                                const std::vector<std::pair<std::string, std::string>>& merges,
                                                BpeOptions options, const std::string& where) {
    std::unique_ptr<BpeModel> m(new BpeModel());
    m->options_ = std::move(options);
    m->build_vocab(vocab, where);
    const size_t prefix_len = m->options_.continuing_subword_prefix.size();
    m->merges_.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
        const auto& [a, b] = merges[i];
        auto describe = [&] { return "merge #" + std::to_string(i) + " ('" + a + "' '" + b + "')"; };
        auto ia = m->vocab_.find(a);
        if (ia == m->vocab_.end()) throw Error(where, describe() + " refers to unknown token '" + a + "'");
        auto ib = m->vocab_.find(b);
        if (ib == m->vocab_.end()) throw Error(where, describe() + " refers to unknown token '" + b + "'");
        if (b.size() < prefix_len) throw Error(where, describe() + " lacks the continuing_subword_prefix");
        const std::string merged = a + b.substr(prefix_len);
        auto im = m->vocab_.find(merged);
        if (im == m->vocab_.end()) throw Error(where, describe() + " makes '" + merged + "', which is not in the vocabulary");
        // A repeated pair keeps its last rank, as tokenizers' HashMap collect does.
        m->merges_[pair_key(ia->second, ib->second)] = Merge{static_cast<int32_t>(i), im->second};
    }
    return m;
}

std::unique_ptr<BpeModel> BpeModel::from_scores(const std::vector<std::pair<std::string, int32_t>>& vocab,
                                                const std::vector<float>& scores_by_id, BpeOptions options,
                                                const std::string& where) {
    std::unique_ptr<BpeModel> m(new BpeModel());
    m->options_ = std::move(options);
    m->build_vocab(vocab, where);
    auto score_of = [&](int32_t id) { return static_cast<size_t>(id) < scores_by_id.size() ? scores_by_id[id] : 0.0f; };
    // Equal scores get equal ranks, so that the leftmost pair wins among them (llama.cpp / SentencePiece).
    std::vector<float> distinct;
    distinct.reserve(vocab.size());
    for (const auto& entry : vocab) distinct.push_back(score_of(entry.second));
    std::sort(distinct.begin(), distinct.end(), std::greater<float>());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    auto rank_of = [&](float s) {
        return static_cast<int32_t>(std::lower_bound(distinct.begin(), distinct.end(), s, std::greater<float>()) -
                                    distinct.begin());
    };
    for (const auto& [tok, id] : vocab) {
        auto self = m->vocab_.find(tok);
        if (self == m->vocab_.end() || self->second != id) continue;  // a duplicate spelling; the map kept another id
        if (tok.size() < 2) continue;
        const int32_t rank = rank_of(score_of(id));
        size_t k = utf8::sequence_length(static_cast<unsigned char>(tok[0]));
        while (k < tok.size()) {
            auto il = m->vocab_.find(std::string_view(tok).substr(0, k));
            auto ir = m->vocab_.find(std::string_view(tok).substr(k));
            if (il != m->vocab_.end() && ir != m->vocab_.end()) {
                auto [it, inserted] = m->merges_.try_emplace(pair_key(il->second, ir->second), Merge{rank, id});
                (void)it;
                (void)inserted;
            }
            k += utf8::sequence_length(static_cast<unsigned char>(tok[k]));
        }
    }
    return m;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
    auto it = vocab_.find(token);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_id_[id]) return nullptr;
    return &id_to_token_[id];
}

void BpeModel::merge_word(std::string_view w, std::vector<int32_t>& out) const {
    thread_local std::vector<Symbol> symbols;
    symbols.clear();
    auto add = [&](int32_t id, uint32_t len) {
        const int32_t n = static_cast<int32_t>(symbols.size());
        if (n > 0) symbols.back().next = n;
        symbols.push_back(Symbol{id, n - 1, -1, len});
    };
    int32_t pending_unk = -1;   // pending run of unknown characters (-1: none) ...
    uint32_t pending_unk_len = 0;  // ... and the bytes it covers
    std::string buf;
    size_t i = 0;
    while (i < w.size()) {
        size_t n = utf8::sequence_length(static_cast<unsigned char>(w[i]));
        if (i + n > w.size()) n = w.size() - i;
        const bool is_first = i == 0, is_last = i + n == w.size();
        std::string_view s = w.substr(i, n);
        if ((!is_first && !options_.continuing_subword_prefix.empty()) ||
            (is_last && !options_.end_of_word_suffix.empty())) {
            buf.clear();
            if (!is_first) buf += options_.continuing_subword_prefix;
            buf += s;
            if (is_last) buf += options_.end_of_word_suffix;
            s = buf;
        }
        const uint32_t byte_len = static_cast<uint32_t>(n);
        i += n;
        auto it = vocab_.find(s);
        if (it != vocab_.end()) {
            if (pending_unk >= 0) {
                add(pending_unk, pending_unk_len);
                pending_unk = -1;
            }
            add(it->second, byte_len);
            continue;
        }
        if (options_.byte_fallback) {
            bool all = true;
            for (char c : s) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
            if (all) {
                // Like tokenizers, a pending unknown run is not flushed before byte tokens.
                for (char c : s) add(byte_ids_[static_cast<unsigned char>(c)], 1);
                continue;
            }
        }
        if (options_.unk_token) {
            if (!unk_id_)
                throw Error(where_, "unk_token '" + *options_.unk_token + "' is not in the vocabulary");
            if (pending_unk >= 0 && options_.fuse_unk) {
                pending_unk_len += byte_len;
            } else {
                if (pending_unk >= 0) add(pending_unk, pending_unk_len);
                pending_unk = *unk_id_;
                pending_unk_len = byte_len;
            }
        }
        // Without an unknown token the character is dropped, as tokenizers does.
    }
    if (pending_unk >= 0) add(pending_unk, pending_unk_len);

    if (symbols.size() > 1 && !merges_.empty()) {
        std::priority_queue<QueuedMerge> queue;
        auto lookup = [&](int32_t a, int32_t b) -> const Merge* {
            auto it = merges_.find(pair_key(a, b));
            return it == merges_.end() ? nullptr : &it->second;
        };
        for (size_t k = 0; k + 1 < symbols.size(); ++k)
            if (const Merge* m = lookup(symbols[k].id, symbols[k + 1].id))
                queue.push(QueuedMerge{m->rank, static_cast<int32_t>(k), m->new_id});
        while (!queue.empty()) {
            const QueuedMerge top = queue.top();
            queue.pop();
            Symbol& left = symbols[top.pos];
            if (left.len == 0 || left.next < 0) continue;
            const Symbol right = symbols[left.next];
            const Merge* current = lookup(left.id, right.id);
            if (!current || current->new_id != top.new_id) continue;  // stale entry
            const int32_t right_pos = left.next;
            left.id = top.new_id;
            left.len += right.len;
            left.next = right.next;
            symbols[right_pos].len = 0;
            if (right.next >= 0) symbols[right.next].prev = top.pos;
            if (left.prev >= 0)
                if (const Merge* m = lookup(symbols[left.prev].id, left.id))
                    queue.push(QueuedMerge{m->rank, left.prev, m->new_id});
            if (left.next >= 0)
                if (const Merge* m = lookup(left.id, symbols[left.next].id))
                    queue.push(QueuedMerge{m->rank, top.pos, m->new_id});
        }
    }
    for (const auto& s : symbols)
        if (s.len != 0) out.push_back(s.id);
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (options_.ignore_merges) {
        auto it = vocab_.find(word);
        if (it != vocab_.end()) {
            out.push_back(it->second);
            return;
        }
    }
    const bool cacheable = word.size() < kMaxCachedWordBytes;
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cache_mutex_);
        auto it = cache_.find(word);
        if (it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const size_t start = out.size();
    merge_word(word, out);
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cache_mutex_);
        if (cache_.size() < kMaxCacheEntries)
            cache_.emplace(std::string(word), std::vector<int32_t>(out.begin() + start, out.end()));
    }
}

}  // namespace awq
