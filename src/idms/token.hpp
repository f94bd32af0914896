#pragma once
// Access tokens (TS 33.180 Annex B: a signed JWT, RFC 7519) issued by the IdMS and checked by
// the MC server and the CMS. libjwt 1.10 checks only the signature; every claim check lives here.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "idms/keys.hpp"
#include "idms/signature_verdicts.hpp"

namespace mcx::idms {

// OAuth scopes (RFC 6749 3.3) of this IdMS's tokens. A user's token carries kUserScope; a
// token for the admin and monitoring API (GET /status, /metrics) carries kAdminScope alone, and
// is issued only to an administrator who asks for it (scope=mcx-admin) [mcx-defined].
inline constexpr const char* kUserScope = "openid 3gpp:mc:ptt_service";
inline constexpr const char* kAdminScope = "mcx-admin";

// Whether a space-delimited scope list (RFC 6749 3.3: scope-token *( SP scope-token )) holds
// `wanted`; comparison is exact (case-sensitive).
bool has_scope(std::string_view scopes, std::string_view wanted);

struct AccessTokenClaims {
    std::string issuer;    // iss: the issuing IdMS, e.g. "mcx-idms:A"
    std::string subject;   // sub: the MC service ID
    std::string audience;  // aud: the MC system the token is for, e.g. "mcx:A"
    std::string client_id;
    std::string scope;
    std::int64_t issued_at = 0;   // iat, seconds since the epoch
    std::int64_t expires_at = 0;  // exp
    std::string token_id;         // jti (RFC 7519 4.1.7): names this token in the TokenLedger
    // primary_mcptt_id [mcx-defined]: set in a token this system issued to a user of a partner
    // who migrated here (token exchange): the user's MC service ID in its primary system, while
    // sub is the one assigned here (TS 23.280 10.16.5).
    std::optional<McServiceId> primary_id;

    McServiceId mc_service_id() const;
};

// What a user token was issued as: its jti and lifetime, for the TokenLedger.
struct IssuedToken {
    std::string token_id;
    std::int64_t issued_at = 0;
    std::int64_t expires_at = 0;
};

class TokenIssuer {
  public:
    TokenIssuer(SigningKey key, std::string issuer, std::string audience,
                std::int64_t lifetime_seconds);
    Result<std::string> issue(const McServiceId& subject, const std::string& client_id,
                              std::int64_t now_seconds) const;
    // A token for another MC system (a partner's audience), e.g. before migrating there.
    // Every user token carries a fresh random jti; `issued`, if given, receives it.
    Result<std::string> issue_for(const McServiceId& subject, const std::string& client_id,
                                  const std::string& audience, std::int64_t now_seconds,
                                  IssuedToken* issued = nullptr) const;
    // As issue(), but expiring at `not_after` if that is sooner: a token exchanged for another
    // of this system outlives neither the one presented nor the normal lifetime.
    Result<std::string> issue_until(const McServiceId& subject, const std::string& client_id,
                                    std::int64_t now_seconds, std::int64_t not_after,
                                    IssuedToken* issued = nullptr) const;
    // A token of this system for a partner's user who migrated here (token exchange): sub and
    // mcptt_id = the MC service ID assigned here, primary_mcptt_id = its primary ID.
    Result<std::string> issue_migrated(const McServiceId& assigned_id,
                                       const McServiceId& primary_id, const std::string& client_id,
                                       std::int64_t now_seconds,
                                       IssuedToken* issued = nullptr) const;
    // A token for the admin and monitoring API: sub = the administrator's MC service ID,
    // aud = this system, scope = kAdminScope only (no MCPTT service scope), a fresh jti
    // (`issued`) so that the ledger tracks it like a user's. The caller decides that `subject`
    // is an administrator.
    Result<std::string> issue_admin(const McServiceId& subject, const std::string& client_id,
                                    std::int64_t now_seconds, IssuedToken* issued = nullptr) const;
    // A token naming this MC system itself, for system-to-system requests (CSC-17 between
    // CMSs): sub = "mcx-system:<id>", scope "mcx:partner". [mcx-defined]
    Result<std::string> issue_system(const std::string& system_id, const std::string& audience,
                                     std::int64_t now_seconds) const;
    // As issue_system(), but the token last issued for that audience while it has more than
    // kSystemTokenRenewSeconds to live: a call across the interconnect then signs nothing
    // (ES256 with libjwt, which parses the PEM key each time, ≈ 0.4 ms). Thread-safe.
    Result<std::string> system_token(const std::string& system_id, const std::string& audience,
                                     std::int64_t now_seconds) const;
    static constexpr std::int64_t kSystemTokenLifetimeSeconds = 300;
    static constexpr std::int64_t kSystemTokenRenewSeconds = 60;
    const std::string& issuer() const { return issuer_; }
    const std::string& key_id() const { return key_id_; }
    std::int64_t lifetime_seconds() const { return lifetime_; }

  private:
    Result<std::string> user_token(const McServiceId& subject, const std::string& client_id,
                                   const std::string& audience, std::int64_t now_seconds,
                                   std::int64_t expires_at,
                                   const std::optional<McServiceId>& primary_id,
                                   IssuedToken* issued) const;
    Result<std::string> sign(
        std::initializer_list<std::pair<const char*, std::string>> claims,
        std::initializer_list<std::pair<const char*, std::int64_t>> numbers) const;

    SigningKey key_;
    std::string key_id_;  // the `kid` header of every token (RFC 7515 4.1.4)
    std::string issuer_;
    std::string audience_;
    std::int64_t lifetime_;
    struct IssuedSystemToken {
        std::string token;
        std::int64_t expires_at = 0;
    };
    mutable std::mutex system_tokens_mutex_;
    mutable std::map<std::string, IssuedSystemToken> system_tokens_;  // by system + audience
};

// An IdMS whose tokens are accepted, and the one MC system domain whose users it vouches for:
// the own IdMS for the own domain, a partner's IdMS for the partner's users (TS 33.180: the
// primary system's IdMS authenticates its users, also when they migrate).
struct TrustedIssuer {
    std::string public_pem;
    std::string domain;
    std::string key_id;  // RFC 7638 thumbprint of public_pem (key_id()); empty: any kid
};

class TokenVerifier {
  public:
    // Finds an issuer not trusted by trust() (a configured partner whose key is published by
    // its IdMS), asked at each verification with the token's `kid` header ("" without one):
    // nullopt: not trusted (unknown, or its key is not known yet). Must not block.
    using KeyResolver = std::function<std::optional<TrustedIssuer>(const std::string& issuer,
                                                                   const std::string& kid)>;
    // Whether a user token that passed every check is still valid (not retired: TokenLedger);
    // called from any thread, must not block.
    using StatusCheck = std::function<Result<void>(const AccessTokenClaims& claims)>;

    explicit TokenVerifier(std::string audience) : audience_(std::move(audience)) {}
    // Trusts tokens signed by `issuer` with this key, for users of this domain.
    void trust(const std::string& issuer, TrustedIssuer trusted);
    void set_key_resolver(KeyResolver resolver);
    // Consulted by verify() and verify_subject_token() (not verify_system()). Set it before
    // the verifier is shared with other threads.
    void set_status_check(StatusCheck check) { status_check_ = std::move(check); }

    // A user's token: signature (ES256 only), issuer trusted and matching the key, audience,
    // expiry, subject an MC service ID of the issuer's domain; a primary_mcptt_id claim only
    // from this system's own IdMS ("mcx-idms:A" for audience "mcx:A"): a partner may not say
    // whom one of our IDs stands for. Thread-safe.
    Result<AccessTokenClaims> verify(const std::string& token, std::int64_t now_seconds) const;
    // A subject token presented to this IdMS for a token exchange (TS 33.180 5.1.4.2: the
    // partner IdMS checks the primary's token): as verify(), except that the audience may also
    // be the issuing system's own ("mcx:A" in a token of "mcx-idms:A") and primary_id is
    // returned from any issuer, for the caller to refuse.
    Result<AccessTokenClaims> verify_subject_token(const std::string& token,
                                                   std::int64_t now_seconds) const;
    // A system's token (TokenIssuer::issue_system): as above, but the subject must be the
    // issuing system ("mcx-system:X" from "mcx-idms:X").
    Result<AccessTokenClaims> verify_system(const std::string& token,
                                            std::int64_t now_seconds) const;
    const std::string& audience() const { return audience_; }
    // Signatures checked so far (jwt_decode calls): a token's verdict is remembered with the
    // key that gave it (SignatureVerdicts), a valid one until the token expires, so neither a
    // re-REGISTER nor each call across the interconnect checks the same token again.
    std::uint64_t signature_checks() const;

  private:
    struct Verified {
        AccessTokenClaims claims;
        std::string issuer_domain;
        std::string public_pem;
    };
    enum class Audience { ours, ours_or_issuers };
    // The signed claims of `token` by `key_pem`, checked once (SignatureVerdicts).
    Result<AccessTokenClaims> checked_signature(const std::string& token,
                                                const std::string& key_pem,
                                                std::int64_t now_seconds) const;
    Result<Verified> verify_signed(const std::string& token, std::int64_t now_seconds,
                                   Audience accepted) const;
    Result<AccessTokenClaims> verify_user(const std::string& token, std::int64_t now_seconds,
                                          Audience accepted) const;
    std::optional<TrustedIssuer> trusted_issuer(const std::string& issuer,
                                                const std::string& kid) const;

    std::string audience_;
    mutable std::mutex mutex_;
    mutable std::map<std::string, TrustedIssuer> trusted_;
    mutable SignatureVerdicts<AccessTokenClaims> verdicts_;
    mutable std::uint64_t signature_checks_ = 0;
    KeyResolver resolver_;
    StatusCheck status_check_;
};

}  // namespace mcx::idms
