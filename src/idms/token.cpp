#include "idms/token.hpp"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>

namespace mcx::idms {

namespace {

constexpr std::int64_t kClockSkewSeconds = 30;
constexpr std::size_t kMaxTokenBytes = 4096;
constexpr std::string_view kIssuerPrefix = "mcx-idms:";
constexpr const char* kPrimaryIdClaim = "primary_mcptt_id";  // [mcx-defined]

struct JwtDeleter {
    void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

std::string grant(jwt_t* jwt, const char* name) {
    const char* v = jwt_get_grant(jwt, name);
    return v ? v : "";
}

std::optional<std::string> base64url_decode(std::string_view in) {
    std::string b64(in);
    for (auto& c : b64) {
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
    }
    while (b64.size() % 4 != 0) b64 += '=';
    std::string out(b64.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.size()));
    if (n < 0) return std::nullopt;
    const auto padding = b64.size() - in.size();
    out.resize(static_cast<std::size_t>(n) - std::min<std::size_t>(padding, 2));
    return out;
}

// The payload's "iss" before any check: only used to choose which key to verify with.
Result<std::string> unverified_issuer(const std::string& token) {
    const auto dot1 = token.find('.');
    const auto dot2 = token.find('.', dot1 + 1);
    if (dot1 == std::string::npos || dot2 == std::string::npos) {
        return fail(Errc::unauthorized, "access token is not a JWT");
    }
    auto payload = base64url_decode(std::string_view(token).substr(dot1 + 1, dot2 - dot1 - 1));
    if (!payload) return fail(Errc::unauthorized, "access token payload is not base64url");
    auto json = nlohmann::json::parse(*payload, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("iss") ||
        !json["iss"].is_string()) {
        return fail(Errc::unauthorized, "access token has no issuer");
    }
    return json["iss"].get<std::string>();
}

// The header's "kid" ("" without one) before any check: only used to choose the key.
Result<std::string> unverified_key_id(const std::string& token) {
    const auto dot = token.find('.');
    if (dot == std::string::npos) return fail(Errc::unauthorized, "access token is not a JWT");
    auto header = base64url_decode(std::string_view(token).substr(0, dot));
    if (!header) return fail(Errc::unauthorized, "access token header is not base64url");
    auto json = nlohmann::json::parse(*header, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return fail(Errc::unauthorized, "access token header is not a JSON object");
    }
    if (!json.contains("kid")) return std::string{};
    if (!json["kid"].is_string()) return fail(Errc::unauthorized, "access token kid is not text");
    return json["kid"].get<std::string>();
}

// The audience of the issuing system's own servers: "mcx:A" for "mcx-idms:A"; empty for an
// issuer not named that way.
std::string own_audience_of(std::string_view issuer) {
    if (!issuer.starts_with(kIssuerPrefix) || issuer.size() == kIssuerPrefix.size()) return {};
    return "mcx:" + std::string(issuer.substr(kIssuerPrefix.size()));
}

// The primary_mcptt_id claim: absent, or an MC service ID (any other value refuses the token).
Result<std::optional<McServiceId>> primary_id_claim(jwt_t* jwt) {
    std::unique_ptr<char, decltype(&std::free)> json(jwt_get_grants_json(jwt, kPrimaryIdClaim),
                                                     &std::free);
    if (!json) return std::optional<McServiceId>{};
    auto value = nlohmann::json::parse(json.get(), nullptr, false);
    auto id = value.is_string() ? McServiceId::parse(value.get<std::string>())
                                : fail(Errc::malformed, "not a string");
    if (!id) {
        return fail(Errc::unauthorized, std::string("access token claim ") + kPrimaryIdClaim +
                                            " is not an MC service ID");
    }
    return std::optional<McServiceId>(*id);
}

// 128 random bits, hex: a token's jti (RFC 7519 4.1.7, unique with negligible collision risk).
Result<std::string> random_token_id() {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return fail(Errc::internal, "no random bytes");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (auto b : bytes) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

}  // namespace

bool has_scope(std::string_view scopes, std::string_view wanted) {
    if (wanted.empty()) return false;
    while (!scopes.empty()) {
        const auto space = scopes.find(' ');
        if (scopes.substr(0, space) == wanted) return true;
        if (space == std::string_view::npos) break;
        scopes.remove_prefix(space + 1);
    }
    return false;
}

McServiceId AccessTokenClaims::mc_service_id() const {
    auto id = McServiceId::parse(subject);
    return id ? *id : McServiceId{};
}

TokenIssuer::TokenIssuer(SigningKey key, std::string issuer, std::string audience,
                         std::int64_t lifetime_seconds)
    : key_(std::move(key)),
      key_id_(key_.key_id().value_or(std::string{})),
      issuer_(std::move(issuer)),
      audience_(std::move(audience)),
      lifetime_(lifetime_seconds) {}

Result<std::string> TokenIssuer::issue(const McServiceId& subject, const std::string& client_id,
                                       std::int64_t now_seconds) const {
    return issue_for(subject, client_id, audience_, now_seconds);
}

// Signs the string and integer claims with ES256 (RFC 7518 3.4).
Result<std::string> TokenIssuer::sign(
    std::initializer_list<std::pair<const char*, std::string>> claims,
    std::initializer_list<std::pair<const char*, std::int64_t>> numbers) const {
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) return fail(Errc::internal, "jwt_new failed");
    JwtPtr jwt(raw);
    int err = jwt_add_grant(jwt.get(), "iss", issuer_.c_str());
    // kid names the key, so that a partner notices a rotation (docs/identity.md).
    if (!key_id_.empty()) err |= jwt_add_header(jwt.get(), "kid", key_id_.c_str());
    for (const auto& [name, value] : claims) err |= jwt_add_grant(jwt.get(), name, value.c_str());
    for (const auto& [name, value] : numbers) err |= jwt_add_grant_int(jwt.get(), name, value);
    err |= jwt_set_alg(jwt.get(), JWT_ALG_ES256,
                       reinterpret_cast<const unsigned char*>(key_.private_pem.data()),
                       static_cast<int>(key_.private_pem.size()));
    if (err != 0) return fail(Errc::internal, "cannot build token");
    char* encoded = jwt_encode_str(jwt.get());
    if (!encoded) return fail(Errc::internal, "cannot sign token");
    std::string token(encoded);
    std::free(encoded);
    return token;
}

Result<std::string> TokenIssuer::issue_system(const std::string& system_id,
                                              const std::string& audience,
                                              std::int64_t now_seconds) const {
    return sign({{"sub", "mcx-system:" + system_id}, {"aud", audience}, {"scope", "mcx:partner"}},
                {{"iat", now_seconds}, {"exp", now_seconds + kSystemTokenLifetimeSeconds}});
}

Result<std::string> TokenIssuer::system_token(const std::string& system_id,
                                              const std::string& audience,
                                              std::int64_t now_seconds) const {
    const auto key = system_id + '\n' + audience;
    std::lock_guard lock(system_tokens_mutex_);
    auto& cached = system_tokens_[key];
    if (cached.token.empty() || now_seconds + kSystemTokenRenewSeconds >= cached.expires_at ||
        now_seconds < cached.expires_at - kSystemTokenLifetimeSeconds) {
        auto fresh = issue_system(system_id, audience, now_seconds);
        if (!fresh) return fresh;
        cached = {std::move(*fresh), now_seconds + kSystemTokenLifetimeSeconds};
    }
    return cached.token;
}

Result<std::string> TokenIssuer::issue_for(const McServiceId& subject, const std::string& client_id,
                                           const std::string& audience, std::int64_t now_seconds,
                                           IssuedToken* issued) const {
    return user_token(subject, client_id, audience, now_seconds, now_seconds + lifetime_,
                      std::nullopt, issued);
}

Result<std::string> TokenIssuer::issue_until(const McServiceId& subject,
                                             const std::string& client_id, std::int64_t now_seconds,
                                             std::int64_t not_after, IssuedToken* issued) const {
    return user_token(subject, client_id, audience_, now_seconds,
                      std::min(now_seconds + lifetime_, not_after), std::nullopt, issued);
}

Result<std::string> TokenIssuer::user_token(const McServiceId& subject,
                                            const std::string& client_id,
                                            const std::string& audience, std::int64_t now_seconds,
                                            std::int64_t expires_at,
                                            const std::optional<McServiceId>& primary_id,
                                            IssuedToken* issued) const {
    auto jti = random_token_id();
    if (!jti) return tl::unexpected(jti.error());
    auto token = primary_id ? sign({{"sub", subject.uri()},
                                    {"aud", audience},
                                    {"mcptt_id", subject.uri()},
                                    {kPrimaryIdClaim, primary_id->uri()},
                                    {"client_id", client_id},
                                    {"scope", kUserScope},
                                    {"jti", *jti}},
                                   {{"iat", now_seconds}, {"exp", expires_at}})
                            : sign({{"sub", subject.uri()},
                                    {"aud", audience},
                                    {"mcptt_id", subject.uri()},
                                    {"client_id", client_id},
                                    {"scope", kUserScope},
                                    {"jti", *jti}},
                                   {{"iat", now_seconds}, {"exp", expires_at}});
    if (token && issued) *issued = IssuedToken{*jti, now_seconds, expires_at};
    return token;
}

Result<std::string> TokenIssuer::issue_admin(const McServiceId& subject,
                                             const std::string& client_id, std::int64_t now_seconds,
                                             IssuedToken* issued) const {
    auto jti = random_token_id();
    if (!jti) return tl::unexpected(jti.error());
    const auto expires_at = now_seconds + lifetime_;
    auto token = sign({{"sub", subject.uri()},
                       {"aud", audience_},
                       {"client_id", client_id},
                       {"scope", kAdminScope},
                       {"jti", *jti}},
                      {{"iat", now_seconds}, {"exp", expires_at}});
    if (token && issued) *issued = IssuedToken{*jti, now_seconds, expires_at};
    return token;
}

Result<std::string> TokenIssuer::issue_migrated(const McServiceId& assigned_id,
                                                const McServiceId& primary_id,
                                                const std::string& client_id,
                                                std::int64_t now_seconds,
                                                IssuedToken* issued) const {
    return user_token(assigned_id, client_id, audience_, now_seconds, now_seconds + lifetime_,
                      primary_id, issued);
}

void TokenVerifier::trust(const std::string& issuer, TrustedIssuer trusted) {
    std::lock_guard lock(mutex_);
    trusted_[issuer] = std::move(trusted);
}

void TokenVerifier::set_key_resolver(KeyResolver resolver) {
    std::lock_guard lock(mutex_);
    resolver_ = std::move(resolver);
}

std::optional<TrustedIssuer> TokenVerifier::trusted_issuer(const std::string& issuer,
                                                           const std::string& kid) const {
    KeyResolver resolver;
    {
        std::lock_guard lock(mutex_);
        if (auto it = trusted_.find(issuer); it != trusted_.end()) return it->second;
        resolver = resolver_;
    }
    // Asked each time, not remembered: a published key may change (refresh, rotation).
    if (!resolver) return std::nullopt;
    return resolver(issuer, kid);
}

Result<AccessTokenClaims> TokenVerifier::verify(const std::string& token,
                                                std::int64_t now_seconds) const {
    auto claims = verify_user(token, now_seconds, Audience::ours);
    if (claims && claims->primary_id && own_audience_of(claims->issuer) != audience_) {
        return fail(Errc::forbidden, "access token issuer '" + claims->issuer +
                                         "' may not name a primary MC service ID here");
    }
    return claims;
}

Result<AccessTokenClaims> TokenVerifier::verify_subject_token(const std::string& token,
                                                              std::int64_t now_seconds) const {
    return verify_user(token, now_seconds, Audience::ours_or_issuers);
}

Result<AccessTokenClaims> TokenVerifier::verify_user(const std::string& token,
                                                     std::int64_t now_seconds,
                                                     Audience accepted) const {
    auto verified = verify_signed(token, now_seconds, accepted);
    if (!verified) return tl::unexpected(verified.error());
    auto& claims = verified->claims;
    auto subject = McServiceId::parse(claims.subject);
    if (!subject) return fail(Errc::unauthorized, "access token subject is not an MC service ID");
    if (subject->domain() != verified->issuer_domain) {
        return fail(Errc::forbidden, "access token issuer '" + claims.issuer +
                                         "' may not vouch for users of " +
                                         std::string(subject->domain()));
    }
    if (status_check_) {
        if (auto valid = status_check_(claims); !valid) return tl::unexpected(valid.error());
    }
    return std::move(claims);
}

Result<AccessTokenClaims> TokenVerifier::verify_system(const std::string& token,
                                                       std::int64_t now_seconds) const {
    auto verified = verify_signed(token, now_seconds, Audience::ours);
    if (!verified) return tl::unexpected(verified.error());
    auto& claims = verified->claims;
    if (!claims.issuer.starts_with(kIssuerPrefix) ||
        claims.subject != "mcx-system:" + claims.issuer.substr(kIssuerPrefix.size())) {
        return fail(Errc::unauthorized, "token does not name the issuing MC system");
    }
    return std::move(claims);
}

std::uint64_t TokenVerifier::signature_checks() const {
    std::lock_guard lock(mutex_);
    return signature_checks_;
}

Result<AccessTokenClaims> TokenVerifier::checked_signature(const std::string& token,
                                                           const std::string& key_pem,
                                                           std::int64_t now_seconds) const {
    {
        std::lock_guard lock(mutex_);
        if (auto verdict = verdicts_.find(token, key_pem, now_seconds)) {
            if (!verdict->claims) return fail(Errc::unauthorized, verdict->refusal);
            return *verdict->claims;
        }
        ++signature_checks_;
    }
    auto refused = [&](const std::string& why) -> Result<AccessTokenClaims> {
        std::lock_guard lock(mutex_);
        verdicts_.remember(token, key_pem, {std::nullopt, why}, now_seconds, 0);
        return fail(Errc::unauthorized, why);
    };
    jwt_t* raw = nullptr;
    if (jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key_pem.data()),
                   static_cast<int>(key_pem.size())) != 0 ||
        !raw) {
        return refused("access token signature is not valid");
    }
    JwtPtr jwt(raw);
    if (jwt_get_alg(jwt.get()) != JWT_ALG_ES256) {
        return refused("access token is not signed with ES256");
    }
    AccessTokenClaims claims;
    claims.issuer = grant(jwt.get(), "iss");
    claims.subject = grant(jwt.get(), "sub");
    claims.audience = grant(jwt.get(), "aud");
    claims.client_id = grant(jwt.get(), "client_id");
    claims.scope = grant(jwt.get(), "scope");
    claims.token_id = grant(jwt.get(), "jti");
    claims.issued_at = jwt_get_grant_int(jwt.get(), "iat");
    claims.expires_at = jwt_get_grant_int(jwt.get(), "exp");
    auto primary_id = primary_id_claim(jwt.get());
    if (!primary_id) return refused(primary_id.error().reason);
    claims.primary_id = std::move(*primary_id);
    std::lock_guard lock(mutex_);
    verdicts_.remember(token, key_pem, {claims, {}}, now_seconds,
                       claims.expires_at + kClockSkewSeconds);
    return claims;
}

Result<TokenVerifier::Verified> TokenVerifier::verify_signed(const std::string& token,
                                                             std::int64_t now_seconds,
                                                             Audience accepted) const {
    if (token.empty()) return fail(Errc::unauthorized, "no access token");
    if (token.size() > kMaxTokenBytes) return fail(Errc::unauthorized, "access token too long");
    auto issuer = unverified_issuer(token);
    if (!issuer) return tl::unexpected(issuer.error());
    auto kid = unverified_key_id(token);
    if (!kid) return tl::unexpected(kid.error());
    const auto trusted = trusted_issuer(*issuer, *kid);
    if (!trusted) {
        return fail(Errc::forbidden, "access token issuer '" + *issuer +
                                         "' is not trusted here (or its key is not known yet)");
    }
    // A kid other than the known key's: the issuer rotated its key (a partner's is fetched
    // again, rate-limited, by the resolver) or the token is forged. A token without kid is
    // checked against the known key.
    if (!kid->empty() && !trusted->key_id.empty() && *kid != trusted->key_id) {
        return fail(Errc::forbidden, "access token of '" + *issuer + "' is signed with key " +
                                         *kid + ", not the one known here (" + trusted->key_id +
                                         "); a changed key is fetched again");
    }
    auto checked = checked_signature(token, trusted->public_pem, now_seconds);
    if (!checked) return tl::unexpected(checked.error());
    AccessTokenClaims claims = std::move(*checked);
    if (claims.issuer != *issuer) return fail(Errc::unauthorized, "access token issuer changed");
    const auto issuers_audience = own_audience_of(claims.issuer);
    if (claims.audience != audience_ &&
        (accepted != Audience::ours_or_issuers || issuers_audience.empty() ||
         claims.audience != issuers_audience)) {
        return fail(Errc::unauthorized,
                    "access token is for '" + claims.audience + "', not '" + audience_ + "'" +
                        (accepted == Audience::ours_or_issuers
                             ? " nor its issuer's own '" + issuers_audience + "'"
                             : std::string{}));
    }
    if (claims.expires_at <= 0 || now_seconds > claims.expires_at + kClockSkewSeconds) {
        return fail(Errc::unauthorized, "access token expired");
    }
    if (claims.issued_at > now_seconds + kClockSkewSeconds) {
        return fail(Errc::unauthorized, "access token issued in the future");
    }
    return Verified{std::move(claims), trusted->domain, trusted->public_pem};
}

}  // namespace mcx::idms
