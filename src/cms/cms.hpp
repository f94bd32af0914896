#pragma once
// Configuration management server (TS 24.484 over HTTP, XCAP-style URIs, TS 33.180 B.5 bearer
// tokens) with partner retrieval of a migrating user's profile (TS 23.280 10.1.4.3.2, CSC-17).
//
//   GET /cms/org.3gpp.mcptt.user-profile/users/<MC service ID>/user-profile-<index>.xml
//       the user's CMC, "Authorization: Bearer <access token>", If-None-Match (ETag).
//       A user of a partner system (token from a trusted partner IdMS for our audience) gets
//       the profile valid here: fetched from its primary CMS and adapted to our local policy.
//       So does one with a token our IdMS exchanged for its primary one (sub = the ID assigned
//       here, primary_mcptt_id = its primary ID), asking under the assigned ID.
//   GET /cms/partner/migration-profile?user=<MC service ID>          [mcx-defined path]
//       a partner CMS, with a system token from its IdMS, over mutual TLS with a certificate
//       naming that partner (plain HTTP only for a partner with plain_http, lab use); answers
//       the migration profile (docs/security.md, "Partner trust over TLS").
//
// No sockets: requests come in as plain data, the partner HTTP client is injected.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/system_config.hpp"
#include "idms/token.hpp"
#include "store/store.hpp"

namespace mcx::cms {

struct CmsRequest {
    std::string path;
    std::map<std::string, std::string> params;  // query parameters
    std::string authorization;                  // Authorization header value
    std::string if_none_match;
    // Came over the partner HTTPS listener (mutual TLS), whose client certificate has this CN
    // (the partner's system ID, `mcx admin certs`).
    bool mutual_tls = false;
    std::string tls_peer{};
};

struct CmsReply {
    int status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

// GET `url` with "Authorization: Bearer <token>"; a transport failure is an Error.
struct PartnerResponse {
    int status = 0;
    std::string body;
};
using PartnerGet =
    std::function<Result<PartnerResponse>(const std::string& url, const std::string& bearer_token)>;

class ConfigurationManagementServer {
  public:
    ConfigurationManagementServer(const SystemConfig& config, store::Store& store,
                                  const idms::TokenVerifier& verifier,
                                  const idms::TokenIssuer& issuer, PartnerGet partner_get,
                                  std::function<std::int64_t()> now_seconds);

    CmsReply get_user_profile(const CmsRequest& request);
    CmsReply get_migration_profile(const CmsRequest& request);

    static std::string profile_path(const McServiceId& user, std::uint32_t index);

  private:
    CmsReply serve_profile(const store::StoredProfile& profile, const CmsRequest& request) const;
    CmsReply migrated_profile(const McServiceId& primary_id, const PartnerConfig& home,
                              const CmsRequest& request);
    CmsReply unauthorized(const std::string& why) const;

    const SystemConfig& config_;
    store::Store& store_;
    const idms::TokenVerifier& verifier_;
    const idms::TokenIssuer& issuer_;
    PartnerGet partner_get_;
    std::function<std::int64_t()> now_;
};

// "Bearer abc" -> "abc"; empty when the scheme is not Bearer (RFC 6750 2.1).
std::string bearer_token(const std::string& authorization);

}  // namespace mcx::cms
