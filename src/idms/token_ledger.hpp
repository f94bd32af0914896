#pragma once
// Which of this IdMS's user tokens are still valid (issue 16 item 2, docs/identity.md "Tokens
// bound and retired"): for each (user, client_id) only the token issued last — by the password
// grant or by a token exchange here — counts; a logout (RFC 7009 revocation) or the removal of
// the user leaves none. A token is named by its jti. The rows live in the store (so that they
// survive a restart and `mcx admin` can retire them); this keeps a copy in memory so that
// the SIP loop never asks the store while it checks a REGISTER. Thread-safe: the token
// endpoint writes from HTTP threads, the registrar and the CMS read from theirs, and a store
// watcher reloads it when another process changed the store.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "idms/token.hpp"

namespace mcx::idms {

// The token that is valid now for one user and client.
struct CurrentToken {
    McServiceId subject;
    std::string client_id;
    std::string token_id;  // jti
    std::int64_t issued_at = 0;
    std::int64_t expires_at = 0;
};

// Where the current tokens are kept (the store, in mcxd).
class TokenRecords {
  public:
    virtual ~TokenRecords() = default;
    // Replaces the row of (subject, client_id); may drop rows that expired before `now`.
    virtual Result<void> put_current_token(const CurrentToken& token, std::int64_t now) = 0;
    // Removes the row of (subject, client_id) if its jti is `token_id`; false when it was not.
    virtual Result<bool> remove_current_token(const McServiceId& subject,
                                              const std::string& client_id,
                                              const std::string& token_id) = 0;
    virtual Result<std::vector<CurrentToken>> current_tokens() = 0;
};

class TokenLedger {
  public:
    // Tokens of `own_issuer` ("mcx-idms:A") are tracked; any other issuer's are not ours to
    // retire (a partner's IdMS keeps its own ledger) and pass check().
    TokenLedger(std::string own_issuer, TokenRecords& records);

    // Reads every row again: at start, and when another process (mcx admin) changed the store.
    // Returns how many entries it holds.
    Result<std::size_t> load();

    // A token was issued for (subject, client_id): it becomes the only valid one for them.
    // Written to the records before the copy here changes, and both before the token is handed
    // out, so the REGISTER that follows finds it.
    Result<void> issued(const McServiceId& subject, const std::string& client_id,
                        const IssuedToken& token, std::int64_t now);

    // RFC 7009: retires the token of `claims` if it is the current one of its user and client;
    // false when there was nothing to retire (already retired, not ours).
    Result<bool> revoke(const AccessTokenClaims& claims);

    // A verified token is still valid: not ours, or the current one of its user and client.
    // No I/O: a lookup under a mutex.
    Result<void> check(const AccessTokenClaims& claims) const;
    // Some token is valid for (subject, client_id) (a binding made with a token of ours lives
    // while this holds).
    bool has_current(const McServiceId& subject, const std::string& client_id) const;
    std::size_t size() const;
    const std::string& own_issuer() const { return own_issuer_; }

  private:
    struct Entry {
        std::string token_id;
        std::int64_t expires_at = 0;
    };
    static std::string key(const McServiceId& subject, const std::string& client_id);
    void prune(std::int64_t now);  // data_mutex_ held

    std::string own_issuer_;
    TokenRecords& records_;
    // Held across "write the records + change the copy" and "read the records + replace the
    // copy", so a reload never puts back a state older than a token just issued. The readers
    // (check) take only data_mutex_, never this one: they do not wait for the store.
    std::mutex write_mutex_;
    mutable std::mutex data_mutex_;
    std::unordered_map<std::string, Entry> current_;
    std::uint64_t issues_since_prune_ = 0;
};

}  // namespace mcx::idms
