#include "client/cm_client.hpp"

namespace mcx::client {

std::string profile_url(const std::string& cms_url, const McServiceId& user, std::uint32_t index) {
    return cms_url + "/cms/org.3gpp.mcptt.user-profile/users/" + user.uri() + "/user-profile-" +
           std::to_string(index) + ".xml";
}

Result<proto::UserProfile> parse_profile_response(int status, std::string_view body,
                                                  const std::string& who) {
    if (status != 200) {
        std::string text(body.substr(0, body.find('\n')));
        return fail(status == 404 ? Errc::not_found : Errc::forbidden,
                    who + " answered " + std::to_string(status) +
                        (text.empty() ? std::string() : ": " + text));
    }
    auto profile = proto::parse_user_profile(body);
    if (!profile)
        return fail(Errc::malformed, who + " sent a bad profile: " + profile.error().reason);
    return profile;
}

void CmClient::retrieve_profile(const std::string& cms_url, const McServiceId& user,
                                const std::string& access_token, Done done) {
    const std::string who = "the CMS at " + cms_url;
    http_.get(profile_url(cms_url, user, 0), {{"Authorization", "Bearer " + access_token}},
              timeout_, [who, done = std::move(done)](Result<net::HttpResponse> response) {
                  if (!response) {
                      done(fail(Errc::io, who + " cannot be reached: " + response.error().reason));
                      return;
                  }
                  done(parse_profile_response(response->status, response->body, who));
              });
}

}  // namespace mcx::client
