#include "http_api/routes.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "idms/admin_access.hpp"

namespace mcx::http_api {

namespace {

net::HttpResponse from_idms(idms::HttpReply reply) {
    return net::HttpResponse{reply.status, std::move(reply.content_type), std::move(reply.body),
                             std::move(reply.headers)};
}

net::HttpResponse from_cms(const cms::CmsReply& reply) {
    return net::HttpResponse{reply.status, reply.content_type, reply.body, reply.headers};
}

// What the HTTP listeners refused or closed on their own, one sample per listener and reason.
prometheus::Family http_refusals(const net::HttpServer& http, const net::HttpServer* https) {
    prometheus::Family family{
        "mcx_http_refused_total",
        prometheus::Type::counter,
        "Requests refused and connections closed by an HTTP listener on its own, before any "
        "handler, by listener (http: [http] port, https: [interconnect] https_port) and reason "
        "(docs/security.md, \"HTTP that cannot be starved\").",
        {}};
    for (const auto& [listener, server] : {std::pair{"http", &http}, std::pair{"https", https}}) {
        if (!server) continue;
        const auto counts = server->refusals();
        for (std::size_t i = 0; i < counts.size(); ++i) {
            family.samples.push_back(
                {{{"listener", listener},
                  {"reason", net::to_string(static_cast<net::HttpRefusal>(i))}},
                 static_cast<double>(counts[i])});
        }
    }
    return family;
}

cms::CmsRequest to_cms(const net::HttpRequest& req, bool mutual_tls = false) {
    return cms::CmsRequest{
        req.path,   req.params,  req.header("authorization"), req.header("if-none-match"),
        mutual_tls, req.tls_peer};
}

// RFC 9110 7.2: Host = uri-host [ ":" port ], uri-host an IP-literal in brackets, or an IPv4
// address or reg-name (RFC 3986 3.2.2: unreserved, pct-encoded, sub-delims).
bool is_host_field(std::string_view host) {
    std::string_view port;
    if (host.starts_with('[')) {
        const auto close = host.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        for (const char c : host.substr(1, close - 1)) {
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
        }
        const auto rest = host.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return false;
        if (!rest.empty()) port = rest.substr(1);
    } else {
        const auto colon = host.rfind(':');
        const auto name = host.substr(0, colon);
        if (name.empty()) return false;
        constexpr std::string_view kOther = "-._~!$&'()*+,;=%";
        for (const char c : name) {
            if (!std::isalnum(static_cast<unsigned char>(c)) &&
                kOther.find(c) == std::string_view::npos) {
                return false;
            }
        }
        if (colon != std::string_view::npos) port = host.substr(colon + 1);
    }
    return std::all_of(port.begin(), port.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// The token endpoint's answers are never cached (RFC 6749 5.1).
net::HttpResponse no_store(idms::HttpReply reply) {
    reply.headers.emplace_back("Cache-Control", "no-store");
    return from_idms(std::move(reply));
}

}  // namespace

void register_http_routes(net::HttpServer& http, const HttpApi& api_in,
                          const net::HttpServer* partner_https) {
    const auto api = std::make_shared<const HttpApi>(api_in);
    http.post("/idms/token", [api](const net::HttpRequest& req) {
        return no_store(
            api->token_endpoint.handle(req.params, api->now_seconds(), req.remote_address));
    });
    http.post("/idms/revoke", [api](const net::HttpRequest& req) {
        return no_store(api->token_endpoint.revoke(req.params, api->now_seconds()));
    });
    http.get("/idms/public-key", [api](const net::HttpRequest&) {
        return net::HttpResponse{200, "application/x-pem-file", api->public_pem, {}};
    });
    // OpenID Connect discovery (OIDC Discovery 1.0) and the key set (RFC 7517).
    http.get("/.well-known/jwks.json", [api](const net::HttpRequest&) {
        return net::HttpResponse{200, "application/jwk-set+json", api->jwks, {}};
    });
    http.get("/.well-known/openid-configuration", [api](const net::HttpRequest& req) {
        // The endpoints are named where the client reached this server. A Host that is no
        // authority would make them no URLs, or no UTF-8 for the JSON: RFC 9112 3.2 wants 400
        // for an invalid or (HTTP/1.1) missing Host.
        const auto host = req.header("host");
        if (!is_host_field(host)) {
            const nlohmann::json refusal{
                {"error", "invalid_request"},
                {"error_description", "the Host field must name this server (RFC 9112 3.2)"}};
            return net::HttpResponse{400, "application/json", refusal.dump(), {}};
        }
        const auto base = "http://" + host;
        nlohmann::json discovery{
            {"issuer", api->config.idms_issuer()},
            {"token_endpoint", base + "/idms/token"},
            {"revocation_endpoint", base + "/idms/revoke"},
            {"jwks_uri", base + "/.well-known/jwks.json"},
            {"grant_types_supported", api->token_endpoint.grant_types()},
            {"id_token_signing_alg_values_supported", {"ES256"}},
            {"scopes_supported", {"openid", "3gpp:mc:ptt_service", idms::kAdminScope}}};
        return net::HttpResponse{200, "application/json", discovery.dump(), {}};
    });
    http.get(R"(/cms/org\.3gpp\.mcptt\.user-profile/users/.+)", [api](const net::HttpRequest& req) {
        return from_cms(api->cms.get_user_profile(to_cms(req)));
    });
    http.get("/cms/partner/migration-profile", [api](const net::HttpRequest& req) {
        return from_cms(api->cms.get_migration_profile(to_cms(req)));
    });

    // The admin and monitoring API: an administrator's token (scope mcx-admin) of this system's
    // IdMS, the role read from the store at each request (docs/security.md).
    const auto admin_api = std::make_shared<const idms::AdminAuthorizer>(
        api->verifier, api->config.idms_issuer(), api->config.domain,
        [api](const McServiceId& user) { return api->store.is_admin(user).value_or(false); });
    auto refused = [api,
                    admin_api](const net::HttpRequest& req) -> std::optional<net::HttpResponse> {
        const auto access = admin_api->check(req.header("authorization"), api->now_seconds());
        if (access.allowed()) return std::nullopt;
        spdlog::debug("GET {} from {} refused: {}", req.path, req.remote, access.reason);
        return from_idms(admin_api->refusal(access));
    };
    http.get("/status", [api, refused](const net::HttpRequest& req) {
        if (auto refusal = refused(req)) return *refusal;
        auto status = api->server.status_json();
        if (!status) return net::HttpResponse{503, "application/json", R"({"error":"busy"})", {}};
        // The IdMS's login counters, spliced in: parsing and re-dumping a status with many calls
        // costs memory and time (docs/BENCHMARKS.md).
        if (status->size() > 2 && status->back() == '}') {
            const auto logins = api->token_endpoint.login_counters();
            const nlohmann::json counters{{"succeeded", logins.succeeded},
                                          {"failed", logins.failed},
                                          {"held_user", logins.held_user},
                                          {"held_source", logins.held_source},
                                          {"busy", logins.busy}};
            status->insert(status->size() - 1, ",\"logins\":" + counters.dump());
            const nlohmann::json store_state{{"path", api->config.store_path},
                                             {"write_failures", api->store.write_failures()}};
            status->insert(status->size() - 1, ",\"store\":" + store_state.dump());
        }
        return net::HttpResponse{200, "application/json", *status, {}};
    });
    // Prometheus text exposition (format 0.0.4) of the gauges and counters of /status.
    const net::HttpServer* self = &http;  // the routes live in it
    http.get("/metrics", [api, refused, self, partner_https](const net::HttpRequest& req) {
        if (auto refusal = refused(req)) return *refusal;
        auto families = api->server.metrics();
        if (!families) return net::HttpResponse{503, "text/plain", "busy\n", {}};
        const auto logins = api->token_endpoint.login_counters();
        prometheus::Family attempts{
            "mcx_logins_total",
            prometheus::Type::counter,
            "Password grant attempts by result: succeeded, failed (unknown user or wrong "
            "password), held_user and held_source (429), busy (503).",
            {}};
        for (const auto& [result, value] :
             {std::pair{"succeeded", logins.succeeded}, std::pair{"failed", logins.failed},
              std::pair{"held_user", logins.held_user},
              std::pair{"held_source", logins.held_source}, std::pair{"busy", logins.busy}}) {
            attempts.samples.push_back({{{"result", result}}, static_cast<double>(value)});
        }
        families->push_back(std::move(attempts));
        families->push_back(prometheus::Family{
            "mcx_store_write_failures_total",
            prometheus::Type::counter,
            "Writes to the store that failed (disk full, I/O error, read-only), each reported "
            "to its requester; nothing of them was kept.",
            {{{}, static_cast<double>(api->store.write_failures())}}});
        families->push_back(http_refusals(*self, partner_https));
        auto text = prometheus::write_text(*families);
        if (!text) {
            spdlog::error("/metrics: {}", text.error().reason);
            return net::HttpResponse{500, "text/plain", text.error().reason + "\n", {}};
        }
        return net::HttpResponse{200, prometheus::kContentType, std::move(*text), {}};
    });
}

net::HttpLimits http_limits(const HttpLimitsConfig& config) {
    using std::chrono::milliseconds;
    net::HttpLimits limits;
    limits.max_head_bytes = config.max_head_bytes;
    limits.max_header_fields = config.max_header_fields;
    limits.max_line_bytes = config.max_line_bytes;
    limits.max_body_bytes = config.max_body_bytes;
    limits.request_timeout = milliseconds(config.request_timeout_ms);
    limits.idle_timeout = milliseconds(config.idle_timeout_ms);
    limits.handshake_timeout = milliseconds(config.handshake_timeout_ms);
    limits.write_timeout = milliseconds(config.write_timeout_ms);
    limits.linger_timeout = milliseconds(config.linger_timeout_ms);
    limits.max_connections_per_source = config.max_connections_per_source;
    limits.max_connections = config.max_connections;
    limits.max_requests_per_connection = config.max_requests_per_connection;
    limits.worker_threads = config.worker_threads;
    return limits;
}

void register_partner_routes(net::HttpServer& https, const HttpApi& api_in) {
    const auto api = std::make_shared<const HttpApi>(api_in);
    https.get("/idms/public-key", [api](const net::HttpRequest&) {
        return net::HttpResponse{200, "application/x-pem-file", api->public_pem, {}};
    });
    https.get("/.well-known/jwks.json", [api](const net::HttpRequest&) {
        return net::HttpResponse{200, "application/jwk-set+json", api->jwks, {}};
    });
    https.get("/cms/partner/migration-profile", [api](const net::HttpRequest& req) {
        return from_cms(api->cms.get_migration_profile(to_cms(req, true)));
    });
}

}  // namespace mcx::http_api
