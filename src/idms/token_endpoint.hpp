#pragma once
// The IdMS token endpoint (RFC 6749 3.2): the resource owner password credentials grant
// (RFC 6749 4.3) for this system's users (with scope=mcx-admin, an administrator's token for
// the admin and monitoring API), and, for users of partner systems who migrate here,
// the token exchange (RFC 8693) and JWT bearer (RFC 7523) grants that turn a token of the
// user's primary IdMS into one of this system (TS 33.180 5.1.4.2, TS 24.482 Rel-19);
// docs/identity.md says why these grants. No I/O: the HTTP server hands over the form
// parameters and the source address and sends back what this returns. Its only state is the
// login throttle (behind a mutex: HTTP threads call it concurrently).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "idms/login_throttle.hpp"
#include "idms/password.hpp"
#include "idms/token.hpp"
#include "idms/token_ledger.hpp"

namespace mcx::idms {

struct HttpReply {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
};

// What the password grant did with each attempt, for /status.
struct LoginCounters {
    std::uint64_t succeeded = 0;
    std::uint64_t failed = 0;       // unknown user or wrong password: 400 invalid_grant
    std::uint64_t held_user = 0;    // 429, the username was held
    std::uint64_t held_source = 0;  // 429, the source address was held
    std::uint64_t busy = 0;         // 503, the password hash pool was full
};

class CredentialStore {
  public:
    virtual ~CredentialStore() = default;
    // Stored salted hash for the user, or empty when unknown.
    virtual std::string password_hash(const McServiceId& user) const = 0;
    // Whether the user has the administrator role (store::Store::is_admin); asked only after
    // its password was verified, when it asks for the scope mcx-admin.
    virtual bool is_admin(const McServiceId&) const { return false; }
};

inline constexpr const char* kGrantTokenExchange =
    "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr const char* kGrantJwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";
inline constexpr const char* kTokenTypeAccessToken =
    "urn:ietf:params:oauth:token-type:access_token";
inline constexpr const char* kTokenTypeJwt = "urn:ietf:params:oauth:token-type:jwt";

// Whom this system takes in when a partner's user presents its primary's token: the partner
// agreements and the [migration] policy (TS 23.280 10.1.6, 10.16.5).
struct MigrationIntake {
    bool accept = false;  // [migration] accept
    // The partner MC system whose IdMS is `issuer` ("B" for "mcx-idms:B"); nullopt: none.
    std::function<std::optional<std::string>(const std::string& issuer)> partner_system;
    // The MC service ID this system gives `primary_id`, a user of partner `home_system`.
    std::function<Result<McServiceId>(const McServiceId& primary_id,
                                      const std::string& home_system)>
        assigned_id;
};

class TokenEndpoint {
  public:
    // Decides whether `user` may have a token for another MC system's audience (a partner it
    // may migrate to, TS 33.180 5.1.4.2). Absent: only this system's audience.
    using AudiencePolicy =
        std::function<Result<void>(const McServiceId& user, const std::string& audience)>;

    // Computes the dummy hash that unknown users are checked against (one PBKDF2 of
    // `hash_iterations`: those of the stored hashes, [idms] password_hash_iterations).
    TokenEndpoint(const CredentialStore& credentials, const TokenIssuer& issuer,
                  std::string own_audience, AudiencePolicy audience_policy = {},
                  int hash_iterations = kPasswordHashIterations);

    // Failed-login throttling and where password hashes are computed. Without this call: the
    // default limits, hashing on the calling thread. `hasher` must outlive this endpoint.
    void protect_logins(const LoginThrottleLimits& limits, PasswordHasher& hasher);

    // Serves the token exchange and JWT bearer grants: subject tokens are checked with
    // `subject_tokens` (this system's key and the partners', TokenVerifier::
    // verify_subject_token), partners' users are taken in as `intake` says. Without this call
    // those grants are unsupported_grant_type.
    void enable_token_exchange(const TokenVerifier& subject_tokens, MigrationIntake intake);

    // Tracks the tokens issued for this system's own audience (password grant, token
    // exchange) in `ledger`: the newest for a user and client retires the one before
    // (docs/identity.md). Without this call tokens are not tracked. `ledger` must outlive this.
    void track_tokens(TokenLedger& ledger) { ledger_ = &ledger; }

    // RFC 7009 token revocation (POST /idms/revoke): `verifier` checks the token (it must be
    // this IdMS's own), the ledger retires it; `on_revoked` then runs on the calling thread.
    // Needs track_tokens().
    using Revoked = std::function<void(const AccessTokenClaims& claims)>;
    void enable_revocation(const TokenVerifier& verifier, Revoked on_revoked = {});
    HttpReply revoke(const std::map<std::string, std::string>& form, std::int64_t now) const;

    // The grant_type values served, for grant_types_supported in the discovery document.
    std::vector<std::string> grant_types() const;

    // `now` in seconds; `source` is the client's address (without port), for the throttle.
    HttpReply handle(const std::map<std::string, std::string>& form, std::int64_t now,
                     std::string_view source = {}) const;

    LoginCounters login_counters() const;
    // The hash an unknown user's password is checked against (same scheme, iterations and salt
    // length as a stored one; no password matches it in practice, and a match is still refused).
    const std::string& dummy_hash() const { return dummy_hash_; }

  private:
    HttpReply password_grant(const std::map<std::string, std::string>& form, std::int64_t now,
                             std::string_view source) const;
    // Records a token just issued for this audience in the ledger; an error reply if it could
    // not be (the token is then not handed out).
    std::optional<HttpReply> track(const McServiceId& subject, const std::string& client_id,
                                   const IssuedToken& issued, std::int64_t now) const;
    HttpReply exchange_grant(const std::map<std::string, std::string>& form, bool jwt_bearer,
                             std::int64_t now) const;

    const CredentialStore& credentials_;
    const TokenIssuer& issuer_;
    std::string own_audience_;
    AudiencePolicy audience_policy_;
    const TokenVerifier* subject_tokens_ = nullptr;
    TokenLedger* ledger_ = nullptr;
    const TokenVerifier* revocation_verifier_ = nullptr;
    Revoked on_revoked_;
    MigrationIntake intake_;

    std::string dummy_hash_;
    InlinePasswordHasher inline_hasher_;
    PasswordHasher* hasher_ = &inline_hasher_;
    mutable std::mutex throttle_mutex_;
    mutable LoginThrottle throttle_;
    struct AtomicCounters {
        std::atomic<std::uint64_t> succeeded{0}, failed{0}, held_user{0}, held_source{0}, busy{0};
    };
    mutable AtomicCounters counters_;
};

}  // namespace mcx::idms
