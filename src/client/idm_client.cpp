#include "client/idm_client.hpp"

#include <nlohmann/json.hpp>

namespace mcx::client {

Result<TokenGrant> parse_token_response(int status, std::string_view body, const std::string& who) {
    auto json = nlohmann::json::parse(body, nullptr, false);
    if (status != 200) {
        std::string why = "HTTP " + std::to_string(status);
        if (json.is_object() && json.contains("error") && json["error"].is_string()) {
            why = json["error"].get<std::string>();
            if (json.contains("error_description") && json["error_description"].is_string()) {
                why += ": " + json["error_description"].get<std::string>();
            }
        }
        return fail(Errc::unauthorized, who + " refused: " + why);
    }
    if (!json.is_object() || !json.contains("access_token") || !json["access_token"].is_string()) {
        return fail(Errc::malformed, who + " answered without an access_token");
    }
    TokenGrant grant;
    grant.access_token = json["access_token"].get<std::string>();
    if (json.contains("mcptt_id") && json["mcptt_id"].is_string()) {
        auto id = McServiceId::parse(json["mcptt_id"].get<std::string>());
        if (!id) return fail(Errc::malformed, who + ": mcptt_id: " + id.error().reason);
        grant.mc_service_id = *id;
    }
    if (json.contains("primary_mcptt_id") && json["primary_mcptt_id"].is_string()) {
        auto id = McServiceId::parse(json["primary_mcptt_id"].get<std::string>());
        if (!id) return fail(Errc::malformed, who + ": primary_mcptt_id: " + id.error().reason);
        grant.primary_id = *id;
    }
    if (json.contains("expires_in") && json["expires_in"].is_number_integer()) {
        grant.expires_in = json["expires_in"].get<std::int64_t>();
    }
    return grant;
}

namespace {

net::HttpWorker::Done finish(std::string who, IdmClient::Done done) {
    return [who = std::move(who), done = std::move(done)](Result<net::HttpResponse> response) {
        if (!response) {
            done(fail(Errc::io, who + " cannot be reached: " + response.error().reason));
            return;
        }
        done(parse_token_response(response->status, response->body, who));
    };
}

}  // namespace

void IdmClient::password_login(const std::string& idms_url, const McServiceId& user,
                               const std::string& password, const std::string& client_id,
                               const std::string& audience, Done done) {
    std::map<std::string, std::string> form{{"grant_type", "password"},
                                            {"username", user.uri()},
                                            {"password", password},
                                            {"client_id", client_id}};
    if (!audience.empty()) form["audience"] = audience;
    http_.post_form(idms_url + "/idms/token", std::move(form), timeout_,
                    finish("the IdMS at " + idms_url, std::move(done)));
}

void IdmClient::exchange(const std::string& idms_url, const std::string& subject_token,
                         const std::string& client_id, Done done) {
    std::map<std::string, std::string> form{{"grant_type", std::string(kTokenExchangeGrant)},
                                            {"subject_token", subject_token},
                                            {"subject_token_type", std::string(kAccessTokenType)},
                                            {"client_id", client_id}};
    http_.post_form(idms_url + "/idms/token", std::move(form), timeout_,
                    finish("the IdMS at " + idms_url, std::move(done)));
}

void IdmClient::revoke(const std::string& idms_url, const std::string& token,
                       const std::string& client_id, std::function<void(Result<void>)> done) {
    std::map<std::string, std::string> form{
        {"token", token}, {"token_type_hint", "access_token"}, {"client_id", client_id}};
    http_.post_form(
        idms_url + "/idms/revoke", std::move(form), timeout_,
        [who = "the IdMS at " + idms_url,
         done = std::move(done)](Result<net::HttpResponse> response) {
            if (!response) {
                return done(fail(Errc::io, who + " cannot be reached: " + response.error().reason));
            }
            if (response->status != 200) {
                auto refused = parse_token_response(response->status, response->body, who);
                return done(
                    fail(Errc::unauthorized, refused ? who + " refused" : refused.error().reason));
            }
            done({});
        });
}

}  // namespace mcx::client
