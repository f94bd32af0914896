#include "idms/token_endpoint.hpp"

#include <nlohmann/json.hpp>

#include "idms/password.hpp"

namespace mcx::idms {

namespace {

// RFC 6749 5.2 error response.
HttpReply error(int status, const char* code, const std::string& description) {
    nlohmann::json body{{"error", code}, {"error_description", description}};
    return HttpReply{status, "application/json", body.dump()};
}

std::string field(const std::map<std::string, std::string>& form, const char* name) {
    auto it = form.find(name);
    return it == form.end() ? std::string{} : it->second;
}

}  // namespace

HttpReply TokenEndpoint::handle(const std::map<std::string, std::string>& form,
                                std::int64_t now) const {
    const auto grant_type = field(form, "grant_type");
    if (grant_type.empty()) return error(400, "invalid_request", "grant_type is missing");
    if (grant_type != "password") {
        return error(400, "unsupported_grant_type", "only grant_type=password is supported");
    }
    const auto username = field(form, "username");
    const auto password = field(form, "password");
    if (username.empty() || password.empty()) {
        return error(400, "invalid_request", "username and password are required");
    }
    auto user = McServiceId::parse(username);
    // Same answer for unknown users and wrong passwords: no user enumeration.
    if (!user) return error(400, "invalid_grant", "unknown user or wrong password");
    const auto stored = credentials_.password_hash(*user);
    if (stored.empty() || !verify_password(password, stored)) {
        return error(400, "invalid_grant", "unknown user or wrong password");
    }
    const auto client_id = field(form, "client_id");
    // RFC 8707 resource indicator style: "audience" names the MC system the token is for.
    auto audience = field(form, "audience");
    if (audience.empty()) audience = own_audience_;
    if (audience != own_audience_) {
        auto allowed = audience_policy_
                           ? audience_policy_(*user, audience)
                           : fail(Errc::forbidden, "only " + own_audience_ + " is served");
        if (!allowed) return error(400, "invalid_target", allowed.error().reason);
    }
    auto token = issuer_.issue_for(*user, client_id, audience, now);
    if (!token) return error(500, "server_error", token.error().reason);
    nlohmann::json body{{"access_token", *token},
                        {"token_type", "Bearer"},
                        {"expires_in", issuer_.lifetime_seconds()},
                        {"mcptt_id", user->uri()},
                        {"audience", audience},
                        {"scope", "openid 3gpp:mc:ptt_service"}};
    return HttpReply{200, "application/json", body.dump()};
}

}  // namespace mcx::idms
