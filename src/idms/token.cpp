#include "idms/token.hpp"

#include <jwt.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>

namespace mcx::idms {

namespace {

constexpr std::int64_t kClockSkewSeconds = 30;
constexpr std::size_t kMaxTokenBytes = 4096;

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

}  // namespace

McServiceId AccessTokenClaims::mc_service_id() const {
    auto id = McServiceId::parse(subject);
    return id ? *id : McServiceId{};
}

TokenIssuer::TokenIssuer(SigningKey key, std::string issuer, std::string audience,
                         std::int64_t lifetime_seconds)
    : key_(std::move(key)),
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
                {{"iat", now_seconds}, {"exp", now_seconds + 300}});
}

Result<std::string> TokenIssuer::issue_for(const McServiceId& subject, const std::string& client_id,
                                           const std::string& audience,
                                           std::int64_t now_seconds) const {
    return sign({{"sub", subject.uri()},
                 {"aud", audience},
                 {"mcptt_id", subject.uri()},
                 {"client_id", client_id},
                 {"scope", "openid 3gpp:mc:ptt_service"}},
                {{"iat", now_seconds}, {"exp", now_seconds + lifetime_}});
}

void TokenVerifier::trust(const std::string& issuer, TrustedIssuer trusted) {
    std::lock_guard lock(mutex_);
    trusted_[issuer] = std::move(trusted);
}

void TokenVerifier::set_key_resolver(KeyResolver resolver) {
    std::lock_guard lock(mutex_);
    resolver_ = std::move(resolver);
}

std::optional<TrustedIssuer> TokenVerifier::trusted_issuer(const std::string& issuer) const {
    KeyResolver resolver;
    {
        std::lock_guard lock(mutex_);
        if (auto it = trusted_.find(issuer); it != trusted_.end()) return it->second;
        resolver = resolver_;
    }
    if (!resolver) return std::nullopt;
    auto found = resolver(issuer);
    if (!found) return std::nullopt;
    std::lock_guard lock(mutex_);
    trusted_[issuer] = *found;
    return found;
}

Result<AccessTokenClaims> TokenVerifier::verify(const std::string& token,
                                                std::int64_t now_seconds) const {
    auto verified = verify_signed(token, now_seconds);
    if (!verified) return tl::unexpected(verified.error());
    auto& claims = verified->claims;
    auto subject = McServiceId::parse(claims.subject);
    if (!subject) return fail(Errc::unauthorized, "access token subject is not an MC service ID");
    if (subject->domain() != verified->issuer_domain) {
        return fail(Errc::forbidden, "access token issuer '" + claims.issuer +
                                         "' may not vouch for users of " +
                                         std::string(subject->domain()));
    }
    return std::move(claims);
}

Result<AccessTokenClaims> TokenVerifier::verify_system(const std::string& token,
                                                       std::int64_t now_seconds) const {
    auto verified = verify_signed(token, now_seconds);
    if (!verified) return tl::unexpected(verified.error());
    auto& claims = verified->claims;
    constexpr std::string_view issuer_prefix = "mcx-idms:";
    if (!claims.issuer.starts_with(issuer_prefix) ||
        claims.subject != "mcx-system:" + claims.issuer.substr(issuer_prefix.size())) {
        return fail(Errc::unauthorized, "token does not name the issuing MC system");
    }
    return std::move(claims);
}

Result<TokenVerifier::Verified> TokenVerifier::verify_signed(const std::string& token,
                                                             std::int64_t now_seconds) const {
    if (token.empty()) return fail(Errc::unauthorized, "no access token");
    if (token.size() > kMaxTokenBytes) return fail(Errc::unauthorized, "access token too long");
    auto issuer = unverified_issuer(token);
    if (!issuer) return tl::unexpected(issuer.error());
    const auto trusted = trusted_issuer(*issuer);
    if (!trusted) {
        return fail(Errc::forbidden, "access token issuer '" + *issuer +
                                         "' is not trusted here (or its key is not known yet)");
    }
    jwt_t* raw = nullptr;
    const auto& key = trusted->public_pem;
    if (jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                   static_cast<int>(key.size())) != 0 ||
        !raw) {
        return fail(Errc::unauthorized, "access token signature is not valid");
    }
    JwtPtr jwt(raw);
    if (jwt_get_alg(jwt.get()) != JWT_ALG_ES256) {
        return fail(Errc::unauthorized, "access token is not signed with ES256");
    }
    AccessTokenClaims claims;
    claims.issuer = grant(jwt.get(), "iss");
    claims.subject = grant(jwt.get(), "sub");
    claims.audience = grant(jwt.get(), "aud");
    claims.client_id = grant(jwt.get(), "client_id");
    claims.scope = grant(jwt.get(), "scope");
    claims.issued_at = jwt_get_grant_int(jwt.get(), "iat");
    claims.expires_at = jwt_get_grant_int(jwt.get(), "exp");
    if (claims.issuer != *issuer) return fail(Errc::unauthorized, "access token issuer changed");
    if (claims.audience != audience_) {
        return fail(Errc::unauthorized,
                    "access token is for '" + claims.audience + "', not '" + audience_ + "'");
    }
    if (claims.expires_at <= 0 || now_seconds > claims.expires_at + kClockSkewSeconds) {
        return fail(Errc::unauthorized, "access token expired");
    }
    if (claims.issued_at > now_seconds + kClockSkewSeconds) {
        return fail(Errc::unauthorized, "access token issued in the future");
    }
    return Verified{std::move(claims), trusted->domain};
}

}  // namespace mcx::idms
