#pragma once
// Remembered verdicts of token signature checks. libjwt 1.10's jwt_decode takes the issuer's
// key as PEM and parses it on every call (with the ES256 check, about 0.5 ms): a token seen
// again — a re-REGISTER, a flood repeating one forged token — is not checked twice against the
// same key. The claims are remembered as signed; every claim check still runs each time.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace mcx::idms {

template <typename Claims>
class SignatureVerdicts {
  public:
    // The verdict of `token` checked against `key_pem`: the signed claims, or why not (then
    // `claims` is empty); find() gives nullopt when it was not checked (or is forgotten).
    struct Verdict {
        std::optional<Claims> claims;
        std::string refusal;
    };

    explicit SignatureVerdicts(std::size_t capacity = 8192) : capacity_(capacity) {}

    std::optional<Verdict> find(const std::string& token, const std::string& key_pem,
                                std::int64_t now_seconds) const {
        auto it = entries_.find(token);
        if (it == entries_.end() || it->second.key_pem != key_pem ||
            now_seconds >= it->second.forget_at) {
            return std::nullopt;
        }
        return it->second.verdict;
    }

    // A valid signature is remembered until `forget_at` (the token's expiry), an invalid one
    // for kForgetInvalidSeconds. When full, forgotten entries go first, then invalid ones, then
    // all (a flood of distinct forged tokens cannot grow memory).
    void remember(const std::string& token, const std::string& key_pem, Verdict verdict,
                  std::int64_t now_seconds, std::int64_t forget_at) {
        if (!verdict.claims) forget_at = now_seconds + kForgetInvalidSeconds;
        if (entries_.size() >= capacity_ && !entries_.contains(token)) make_room(now_seconds);
        entries_.insert_or_assign(token, Entry{key_pem, std::move(verdict), forget_at});
    }

    std::size_t size() const { return entries_.size(); }

    static constexpr std::int64_t kForgetInvalidSeconds = 300;

  private:
    void make_room(std::int64_t now_seconds) {
        std::erase_if(entries_, [&](const auto& e) { return now_seconds >= e.second.forget_at; });
        if (entries_.size() < capacity_) return;
        std::erase_if(entries_, [](const auto& e) { return !e.second.verdict.claims; });
        if (entries_.size() >= capacity_) entries_.clear();
    }

    struct Entry {
        std::string key_pem;
        Verdict verdict;
        std::int64_t forget_at;
    };
    std::size_t capacity_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace mcx::idms
