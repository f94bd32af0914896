#pragma once
// The configuration management client of the UE (TS 24.484, TS 23.280 10.1.4.3.2): retrieves
// the MC service user profile valid in the system that serves it, from that system's CMS with
// that system's token; a partner CMS gets a migrating user's profile from the primary CMS.
// Off the event loop (net::HttpWorker); results come back on the loop thread.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "net/http_worker.hpp"
#include "proto/user_profile.hpp"

namespace mcx::client {

// ".../users/<ID>/user-profile-<index>.xml" under `cms_url` (TS 24.484 A.2.1 naming).
std::string profile_url(const std::string& cms_url, const McServiceId& user, std::uint32_t index);
Result<proto::UserProfile> parse_profile_response(int status, std::string_view body,
                                                  const std::string& who);

class CmClient {
  public:
    using Done = std::function<void(Result<proto::UserProfile>)>;

    explicit CmClient(net::HttpWorker& http,
                      std::chrono::milliseconds timeout = std::chrono::seconds(4))
        : http_(http), timeout_(timeout) {}

    // `user`: the MC service ID the token names (primary or assigned).
    void retrieve_profile(const std::string& cms_url, const McServiceId& user,
                          const std::string& access_token, Done done);

  private:
    net::HttpWorker& http_;
    std::chrono::milliseconds timeout_;
};

}  // namespace mcx::client
