#pragma once
// mcxd's HTTP API on a net::HttpServer: the IdMS (POST /idms/token, /idms/revoke, GET
// /idms/public-key, /.well-known/jwks.json, /.well-known/openid-configuration), the CMS (GET
// /cms/org.3gpp.mcptt.user-profile/users/..., /cms/partner/migration-profile) and the
// monitoring API for administrators (GET /status, /metrics; docs/security.md). The handlers
// run on the server's worker threads; they take the time from `now_seconds` and the MC
// server's figures from `server`, so nothing here has a clock or a socket of its own: mcxd and
// the fuzz target tests/fuzz/http_handlers_fuzz.cpp register the same routes.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cms/cms.hpp"
#include "common/prometheus.hpp"
#include "common/system_config.hpp"
#include "idms/token.hpp"
#include "idms/token_endpoint.hpp"
#include "net/http.hpp"
#include "store/store.hpp"

namespace mcx::http_api {

// The MC server's part of /status and /metrics, read where it lives (mcxd: on the event loop);
// nullopt when it does not answer in time (503 busy).
struct ServerReports {
    std::function<std::optional<std::string>()> status_json;  // a JSON object
    std::function<std::optional<std::vector<prometheus::Family>>()> metrics;
};

// What the routes serve; everything named must outlive the HttpServer they are registered on.
struct HttpApi {
    const SystemConfig& config;
    store::Store& store;
    idms::TokenEndpoint& token_endpoint;
    // Checks the administrators' tokens of the monitoring API.
    const idms::TokenVerifier& verifier;
    cms::ConfigurationManagementServer& cms;
    std::string public_pem;  // the IdMS's signing key (GET /idms/public-key)
    std::string jwks;        // the same as a JWK set (RFC 7517)
    ServerReports server;
    std::function<std::int64_t()> now_seconds;
};

// The routes of the HTTP listener ([http] port). GET /metrics also counts what `http` and
// `partner_https` (the listener of register_partner_routes, if any) refused on their own
// (mcx_http_refused_total); both must outlive the routes' use.
void register_http_routes(net::HttpServer& http, const HttpApi& api,
                          const net::HttpServer* partner_https = nullptr);

// [http]'s limits, for both listeners.
net::HttpLimits http_limits(const HttpLimitsConfig& config);

// The routes of the partner HTTPS listener with mutual TLS ([interconnect] https_port): the
// IdMS's key and the CMS's migration profile (CSC-17; docs/security.md, "Partner trust over
// TLS").
void register_partner_routes(net::HttpServer& https, const HttpApi& api);

}  // namespace mcx::http_api
