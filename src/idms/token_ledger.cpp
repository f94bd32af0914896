#include "idms/token_ledger.hpp"

namespace mcx::idms {

namespace {

// Entries are kept a little past their expiry: the verifier allows 30 s of clock skew.
constexpr std::int64_t kKeepAfterExpirySeconds = 60;
constexpr std::uint64_t kPruneEvery = 64;  // issues

}  // namespace

TokenLedger::TokenLedger(std::string own_issuer, TokenRecords& records)
    : own_issuer_(std::move(own_issuer)), records_(records) {}

std::string TokenLedger::key(const McServiceId& subject, const std::string& client_id) {
    return subject.uri() + '\n' + client_id;
}

Result<std::size_t> TokenLedger::load() {
    std::lock_guard write(write_mutex_);
    auto rows = records_.current_tokens();
    if (!rows) return tl::unexpected(rows.error());
    std::unordered_map<std::string, Entry> fresh;
    fresh.reserve(rows->size());
    for (const auto& row : *rows) {
        fresh[key(row.subject, row.client_id)] = Entry{row.token_id, row.expires_at};
    }
    std::lock_guard data(data_mutex_);
    current_ = std::move(fresh);
    return current_.size();
}

Result<void> TokenLedger::issued(const McServiceId& subject, const std::string& client_id,
                                 const IssuedToken& token, std::int64_t now) {
    std::lock_guard write(write_mutex_);
    if (auto stored = records_.put_current_token(
            CurrentToken{subject, client_id, token.token_id, token.issued_at, token.expires_at},
            now);
        !stored) {
        return stored;
    }
    std::lock_guard data(data_mutex_);
    current_[key(subject, client_id)] = Entry{token.token_id, token.expires_at};
    if (++issues_since_prune_ >= kPruneEvery) {
        issues_since_prune_ = 0;
        prune(now);
    }
    return {};
}

void TokenLedger::prune(std::int64_t now) {
    std::erase_if(current_, [now](const auto& entry) {
        return entry.second.expires_at + kKeepAfterExpirySeconds < now;
    });
}

Result<bool> TokenLedger::revoke(const AccessTokenClaims& claims) {
    if (claims.issuer != own_issuer_ || claims.token_id.empty()) return false;
    const auto subject = claims.mc_service_id();
    std::lock_guard write(write_mutex_);
    {
        std::lock_guard data(data_mutex_);
        auto it = current_.find(key(subject, claims.client_id));
        if (it == current_.end() || it->second.token_id != claims.token_id) return false;
    }
    auto removed = records_.remove_current_token(subject, claims.client_id, claims.token_id);
    if (!removed) return tl::unexpected(removed.error());
    std::lock_guard data(data_mutex_);
    current_.erase(key(subject, claims.client_id));
    return true;
}

Result<void> TokenLedger::check(const AccessTokenClaims& claims) const {
    if (claims.issuer != own_issuer_) return {};
    if (claims.token_id.empty()) {
        return fail(Errc::forbidden,
                    "access token has no jti (issued before tokens were "
                    "tracked): log in again");
    }
    std::lock_guard data(data_mutex_);
    auto it = current_.find(key(claims.mc_service_id(), claims.client_id));
    if (it == current_.end()) {
        return fail(Errc::forbidden,
                    "access token was retired (logged out, or the user was removed): log in "
                    "again");
    }
    if (it->second.token_id != claims.token_id) {
        return fail(Errc::forbidden,
                    "access token was retired by a newer login of client " +
                        (claims.client_id.empty() ? std::string("(none)") : claims.client_id));
    }
    return {};
}

bool TokenLedger::has_current(const McServiceId& subject, const std::string& client_id) const {
    std::lock_guard data(data_mutex_);
    return current_.contains(key(subject, client_id));
}

std::size_t TokenLedger::size() const {
    std::lock_guard data(data_mutex_);
    return current_.size();
}

}  // namespace mcx::idms
