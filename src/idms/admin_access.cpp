#include "idms/admin_access.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <string_view>

namespace mcx::idms {

namespace {

// A quoted-string of RFC 9110 5.6.4 carries no '"' nor '\' here: the realm is a domain.
std::string quoted(std::string s) {
    for (auto& c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\' || u < 0x20 || u > 0x7e) c = '?';
    }
    return '"' + s + '"';
}

}  // namespace

std::string bearer_token(const std::string& authorization) {
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() <= scheme.size()) return {};
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return {};
    }
    auto token = authorization.substr(scheme.size());
    while (!token.empty() && token.front() == ' ') token.erase(0, 1);
    while (!token.empty() && token.back() == ' ') token.pop_back();
    return token;
}

AdminAuthorizer::AdminAuthorizer(const TokenVerifier& verifier, std::string own_issuer,
                                 std::string realm, RoleLookup is_admin)
    : verifier_(verifier),
      own_issuer_(std::move(own_issuer)),
      realm_(std::move(realm)),
      is_admin_(std::move(is_admin)) {}

AdminAccess AdminAuthorizer::check(const std::string& authorization,
                                   std::int64_t now_seconds) const {
    using Outcome = AdminAccess::Outcome;
    const auto token = bearer_token(authorization);
    if (token.empty()) {
        return {Outcome::no_token,
                "an administrator's access token is required (Authorization: Bearer; "
                "mcx token --admin)",
                {}};
    }
    auto claims = verifier_.verify(token, now_seconds);
    if (!claims) return {Outcome::invalid_token, claims.error().reason, {}};
    if (claims->issuer != own_issuer_ || claims->primary_id) {
        return {Outcome::insufficient_scope,
                "only an administrator's token from " + own_issuer_ + " is accepted here",
                {}};
    }
    if (!has_scope(claims->scope, kAdminScope)) {
        return {Outcome::insufficient_scope,
                "the access token lacks the scope mcx-admin (log in with scope=mcx-admin)",
                {}};
    }
    const auto user = claims->mc_service_id();
    if (!is_admin_ || !is_admin_(user)) {
        return {Outcome::insufficient_scope, user.uri() + " is no longer an administrator", {}};
    }
    return {Outcome::allowed, {}, user};
}

HttpReply AdminAuthorizer::refusal(const AdminAccess& access) const {
    using Outcome = AdminAccess::Outcome;
    auto challenge = "Bearer realm=" + quoted(realm_);
    const char* error = nullptr;
    int status = 401;
    if (access.outcome == Outcome::invalid_token) {
        error = "invalid_token";
        challenge += ", error=\"invalid_token\"";
    } else if (access.outcome == Outcome::insufficient_scope) {
        status = 403;
        error = "insufficient_scope";
        challenge += ", error=\"insufficient_scope\", scope=\"" + std::string(kAdminScope) + "\"";
    }
    nlohmann::json body{{"error", error ? error : "unauthorized"},
                        {"error_description", access.reason}};
    return HttpReply{status,
                     "application/json",
                     body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                     {{"WWW-Authenticate", challenge}}};
}

}  // namespace mcx::idms
