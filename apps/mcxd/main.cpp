// mcxd: one MC system (SIP core, MCPTT server, IdMS, CMS) configured by one TOML file.
#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cms/cms.hpp"
#include "cms/profile_import.hpp"
#include "cms/profiles.hpp"
#include "common/system_config.hpp"
#include "http_api/idms_wiring.hpp"
#include "http_api/routes.hpp"
#include "idms/keys.hpp"
#include "idms/partner_keys.hpp"
#include "idms/password_hash_pool.hpp"
#include "idms/token.hpp"
#include "idms/token_endpoint.hpp"
#include "idms/token_ledger.hpp"
#include "net/event_loop.hpp"
#include "net/http.hpp"
#include "net/leg_thread.hpp"
#include "net/pcap_writer.hpp"
#include "net/sip_stack.hpp"
#include "server/mc_server.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_watcher.hpp"

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}
std::int64_t now_s() {
    return now_ms() / 1000;
}

// SIGINT/SIGTERM go to the event loop's thread only (libre's re_main handles them there).
void block_stop_signals(bool block) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}

// mcxd's exit codes (config/README.md): 1 another start failure (a port, a certificate),
// 2 the configuration, 3 the store (cannot be opened, read or written).
constexpr int kExitConfiguration = 2;
constexpr int kExitStore = 3;

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"mcxd: one MC system (SIP core, MCPTT server, IdMS, CMS) on one machine"};
    std::string config_path;
    std::string pcap_path;
    std::string import_path;
    std::string log_level = "info";
    app.add_option("-c,--config", config_path,
                   "MC system configuration (TOML, see config/README.md)")
        ->required();
    app.add_option("--pcap", pcap_path,
                   "write every SIP message and every floor control packet sent or received "
                   "into this pcap");
    app.add_option("--import", import_path,
                   "import user profile XML files (a file or a directory) into the store before "
                   "serving; progress is printed as JSON lines");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    CLI11_PARSE(app, argc, argv);

    auto logger = spdlog::stderr_color_mt("mcxd");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(log_level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [mcxd] %v");

    // A write beyond a file size limit (ulimit -f) then fails with EFBIG, as on a full disk,
    // and is reported, instead of killing mcxd.
    std::signal(SIGXFSZ, SIG_IGN);

    auto config = mcx::load_system_config(config_path);
    if (!config) {
        std::cerr << "mcxd: " << config.error().reason << "\n";
        return kExitConfiguration;
    }
    auto store = mcx::store::SqliteStore::open(config->store_path);
    if (!store) {
        std::cerr << "mcxd: " << store.error().reason << "\n";
        return kExitStore;
    }
    // Not half started: a store that cannot take a write (full disk) stops mcxd here.
    if (auto writable = (*store)->check_writable("mcxd " + config->system_id + ", pid " +
                                                 std::to_string(::getpid()) + ", at " +
                                                 std::to_string(now_s()));
        !writable) {
        std::cerr << "mcxd: the store cannot be written: " << writable.error().reason << "\n";
        return kExitStore;
    }
    if (auto seeded = mcx::cms::seed_store(**store, *config); !seeded) {
        std::cerr << "mcxd: seeding the store: " << seeded.error().reason << "\n";
        return kExitStore;
    } else if (*seeded) {
        spdlog::info("store {} seeded with {} users from the configuration", config->store_path,
                     config->users.size());
    }
    if (!import_path.empty()) {
        auto imported =
            mcx::cms::import_profiles(**store, import_path, [](const mcx::cms::ImportProgress& p) {
                std::cout << nlohmann::json{{"event", "import-progress"},
                                            {"committed", p.committed},
                                            {"total", p.total}}
                                 .dump()
                          << std::endl;
            });
        if (!imported) {
            std::cerr << "mcxd: import: " << imported.error().reason << "\n";
            return 1;
        }
    }

    auto key = config->idms_key_file.empty()
                   ? mcx::idms::SigningKey::generate()
                   : mcx::idms::SigningKey::load_or_create(config->idms_key_file);
    if (!key) {
        std::cerr << "mcxd: IdMS key: " << key.error().reason << "\n";
        return kExitConfiguration;
    }
    const auto public_pem = key->public_pem;
    mcx::idms::TokenIssuer issuer(*key, config->idms_issuer(), config->token_audience(),
                                  config->token_lifetime_seconds);
    mcx::idms::TokenVerifier verifier(config->token_audience());
    verifier.trust(config->idms_issuer(), {public_pem, config->domain, issuer.key_id()});
    // Partners' IdMS keys and CMSs are reached over HTTPS with mutual TLS: this system's
    // interconnect certificate, the partner's checked against the interconnect CA
    // (docs/security.md, "Partner trust over TLS"); http:// only with plain_http (lab).
    const mcx::net::HttpTls partner_tls{config->interconnect.certificate_file,
                                        config->interconnect.ca_file};
    auto partner_http_get = [partner_tls](const std::string& url,
                                          const std::map<std::string, std::string>& headers,
                                          std::chrono::milliseconds timeout) {
        return mcx::net::http_get(url, headers, timeout,
                                  url.starts_with("https://") ? &partner_tls : nullptr);
    };
    // Partners are trusted with the key configured, or the one their IdMS publishes, fetched
    // off the event loop and again on a schedule or a new kid (idms/partner_keys.hpp).
    std::vector<mcx::idms::PartnerKeyFetcher::Source> published_keys;
    for (const auto& partner : config->partners) {
        if (partner.idms_public_key.empty()) {
            published_keys.push_back({partner.idms_issuer(), partner.idms_url + "/idms/public-key",
                                      std::chrono::seconds(partner.key_refresh_seconds)});
        }
        if (partner.plain_http) {
            spdlog::warn("partner {}: plain HTTP allowed (plain_http = true): for lab use only",
                         partner.id);
        }
    }
    mcx::idms::PartnerKeyFetcher partner_keys(
        std::move(published_keys),
        [partner_http_get](const std::string& url) -> std::optional<std::string> {
            auto r = partner_http_get(url, {}, std::chrono::seconds(2));
            if (!r) {
                spdlog::warn("cannot fetch a partner's IdMS key from {}: {}", url,
                             r.error().reason);
                return std::nullopt;
            }
            if (r->status != 200 || r->body.size() > 4096) {
                spdlog::warn("cannot fetch a partner's IdMS key from {}: HTTP {}", url, r->status);
                return std::nullopt;
            }
            return r->body;
        });
    // A partner's IdMS key: configured, or fetched (nullopt until it arrives).
    const mcx::http_api::PublishedPartnerKey published_key =
        [&partner_keys](const std::string& issuer_name, const std::string& kid) {
            return partner_keys.key(issuer_name, kid);
        };
    mcx::http_api::resolve_partner_keys(verifier, *config, published_key);
    // Only the newest token of a user and client is valid (docs/identity.md): the verifier
    // asks the ledger, which answers from memory.
    mcx::http_api::StoreTokenRecords token_records(**store);
    mcx::idms::TokenLedger token_ledger(config->idms_issuer(), token_records);
    if (auto loaded = token_ledger.load(); !loaded) {
        std::cerr << "mcxd: " << loaded.error().reason << "\n";
        return kExitStore;
    }
    verifier.set_status_check([&token_ledger](const mcx::idms::AccessTokenClaims& claims) {
        return token_ledger.check(claims);
    });
    mcx::http_api::StoreCredentials credentials(**store);
    mcx::idms::TokenEndpoint token_endpoint(
        credentials, issuer, config->token_audience(),
        mcx::http_api::partner_audience_policy(*config, **store),
        static_cast<int>(config->login.hash_iterations));
    token_endpoint.track_tokens(token_ledger);
    // Password hashes are computed on a pool of their own, off the HTTP threads that also
    // serve the CMS and /status; failed logins are throttled (docs/identity.md).
    mcx::idms::PasswordHashPool password_hashing(config->login.hash_threads,
                                                 config->login.hash_queue);
    token_endpoint.protect_logins(mcx::http_api::login_throttle_limits(config->login),
                                  password_hashing);
    // A partner's user presents its primary's token (token exchange, TS 33.180 5.1.4.2).
    token_endpoint.enable_token_exchange(verifier, mcx::http_api::migration_intake(*config));
    mcx::cms::ConfigurationManagementServer cms(
        *config, **store, verifier, issuer,
        [partner_http_get](const std::string& url,
                           const std::string& token) -> mcx::Result<mcx::cms::PartnerResponse> {
            auto r = partner_http_get(url, {{"Authorization", "Bearer " + token}},
                                      std::chrono::seconds(3));
            if (!r) spdlog::warn("partner CMS request {} failed: {}", url, r.error().reason);
            if (!r) return tl::unexpected(r.error());
            return mcx::cms::PartnerResponse{r->status, r->body};
        },
        now_s);

    mcx::net::EventLoop loop;
    const auto descriptors = mcx::net::EventLoop::raise_descriptor_limit();
    spdlog::debug("up to {} open files", descriptors);
    mcx::net::SipStackOptions sip_options{
        config->host, config->sip_port, "mcxd/" + config->system_id, std::nullopt,
        std::nullopt, std::nullopt,     config->sip_stream};
    if (!mcx::net::SipStreamGuard::interposed()) {
        spdlog::warn(
            "SIP over TCP/TLS is not guarded: libre's tcp_accept is not mcxd's "
            "(docs/security.md, \"SIP over TCP and TLS: caps and framing\")");
    }
    if (config->interconnect.enabled) {
        sip_options.tls =
            mcx::net::TlsOptions{config->interconnect.port, config->interconnect.certificate_file,
                                 config->interconnect.ca_file};
    }
    if (config->sip_access.tls) {
        sip_options.access_tls = mcx::net::AccessTlsOptions{
            config->sip_access.tls_port, config->sip_access.tls_certificate_file};
    }
    auto sip = mcx::net::SipStack::create(loop, sip_options);
    if (!sip) {
        std::cerr << "mcxd: " << sip.error().reason << "\n";
        return 1;
    }
    std::unique_ptr<mcx::net::PcapWriter> pcap;
    if (!pcap_path.empty()) {
        auto writer = mcx::net::PcapWriter::open(pcap_path);
        if (!writer) {
            std::cerr << "mcxd: " << writer.error().reason << "\n";
            return 1;
        }
        pcap = std::move(*writer);
        (*sip)->set_trace_handler([&pcap](bool, mcx::net::Transport, const mcx::net::Endpoint& src,
                                          const mcx::net::Endpoint& dst,
                                          std::string_view data) { pcap->write(src, dst, data); });
    }
    // Declared before the server: its calls hand their callee legs back to this thread.
    std::unique_ptr<mcx::net::LegThread> legs;
    if (config->sip_leg_thread) {
        mcx::net::SipStack::TraceHandler trace;
        if (pcap) {
            trace = [&pcap](bool, mcx::net::Transport, const mcx::net::Endpoint& src,
                            const mcx::net::Endpoint& dst,
                            std::string_view data) { pcap->write(src, dst, data); };
        }
        auto started = mcx::net::LegThread::start(
            mcx::net::SipStackOptions{config->host, 0, "mcxd/" + config->system_id, std::nullopt,
                                      std::nullopt, std::nullopt, config->sip_stream},
            trace);
        if (!started) {
            std::cerr << "mcxd: SIP leg thread: " << started.error().reason << "\n";
            return 1;
        }
        legs = std::move(*started);
    }
    mcx::cms::ProfileCache profiles(**store);
    mcx::server::McServer server(
        *config, **sip, verifier,
        [&profiles](const mcx::McServiceId& user) { return profiles(user); }, now_ms, &issuer);

    server.set_leg_thread(legs.get());
    if (pcap) {
        // Floor control (RTCP APP "MCPT", TS 24.380) next to the SIP of the same calls.
        server.set_floor_trace([&pcap](const mcx::net::Ipv4Endpoint& src,
                                       const mcx::net::Ipv4Endpoint& dst,
                                       std::span<const std::uint8_t> packet) {
            pcap->write(
                mcx::net::to_endpoint(src), mcx::net::to_endpoint(dst),
                std::string_view(reinterpret_cast<const char*>(packet.data()), packet.size()));
        });
    }
    mcx::server::MigratedUserRegistry migrated_users(**store);
    server.set_migration(
        &migrated_users, [&config](const mcx::McServiceId& primary, const std::string& home) {
            return mcx::cms::assigned_id(config->migration, primary, home, config->domain);
        });
    server.set_partner_key_state([published_key](const mcx::PartnerConfig& partner) {
        if (!partner.idms_public_key.empty()) return "configured";
        return mcx::http_api::partner_key(partner, {}, published_key) ? "fetched" : "not known yet";
    });

    // Logout (RFC 7009) and `mcx admin user remove` retire tokens; the registrations made with
    // them go at once. Changes by another process are seen through PRAGMA data_version, polled
    // off the loop (docs/identity.md says why 200 ms and why not on the loop).
    token_endpoint.enable_revocation(verifier, [&loop, &server, &token_ledger](const auto&) {
        loop.post([&server, &token_ledger] { server.drop_retired_registrations(token_ledger); });
    });
    block_stop_signals(true);  // also for the store watcher's thread
    mcx::store::StoreWatcher store_watcher(
        **store, std::chrono::milliseconds(200), [&loop, &server, &token_ledger] {
            if (auto loaded = token_ledger.load(); !loaded) {
                spdlog::error("reloading the tokens: {}", loaded.error().reason);
                return;
            }
            loop.post(
                [&server, &token_ledger] { server.drop_retired_registrations(token_ledger); });
        });

    // [http]'s limits hold for both listeners (docs/security.md, "HTTP that cannot be
    // starved"). The partner listener is made first: /metrics on `http` reads its counters.
    const auto http_limits = mcx::http_api::http_limits(config->http_limits);
    std::unique_ptr<mcx::net::HttpServer> https;
    if (config->interconnect.https) {
        auto made = mcx::net::HttpServer::https(partner_tls, http_limits);
        if (!made) {
            std::cerr << "mcxd: [interconnect] https_port: " << made.error().reason << "\n";
            return 1;
        }
        https = std::move(*made);
    }
    mcx::net::HttpServer http(http_limits);
    if (config->login.hash_threads + config->login.hash_queue >= http.worker_threads()) {
        spdlog::warn(
            "[idms] password_hash_threads + password_hash_queue ({}) reach the {} HTTP threads: "
            "a login flood can hold every one of them and stall the CMS and /status",
            config->login.hash_threads + config->login.hash_queue, http.worker_threads());
    }
    const mcx::http_api::HttpApi http_api{
        *config,
        **store,
        token_endpoint,
        verifier,
        cms,
        public_pem,
        key->jwks(issuer.key_id()).value_or("{}"),
        {[&loop, &server] {
             return loop.call([&] { return server.status_json(); }, std::chrono::seconds(2));
         },
         [&loop, &server] {
             return loop.call([&] { return server.metrics(); }, std::chrono::seconds(2));
         }},
        now_s};
    mcx::http_api::register_http_routes(http, http_api, https.get());
    // Partner paths over HTTPS with mutual TLS (docs/security.md, "Partner trust over TLS"):
    // the IdMS key and the CMS's migration profile (CSC-17).
    std::optional<mcx::net::Endpoint> https_endpoint;
    if (https) {
        mcx::http_api::register_partner_routes(*https, http_api);
        auto bound = https->start(config->host, config->interconnect.https_port);
        if (!bound) {
            std::cerr << "mcxd: " << bound.error().reason << "\n";
            return 1;
        }
        https_endpoint = *bound;
    }
    auto http_endpoint = http.start(config->host, config->http_port);
    // Signals stay blocked until re_main has installed its handlers: a SIGTERM sent right
    // after the ready line then still ends mcxd cleanly.
    loop.post([] { block_stop_signals(false); });
    if (!http_endpoint) {
        std::cerr << "mcxd: " << http_endpoint.error().reason << "\n";
        return 1;
    }

    // One machine-readable line so that scripts and tests learn the ports picked.
    nlohmann::json ready{{"event", "ready"},
                         {"system", config->system_id},
                         {"domain", config->domain},
                         {"sip", (*sip)->local_endpoint().to_string()},
                         {"http", http_endpoint->to_string()},
                         {"store", config->store_path}};
    if (auto tls = (*sip)->tls_endpoint()) ready["interconnect"] = tls->to_string();
    if (auto tls = (*sip)->access_tls_endpoint()) ready["sip_tls"] = tls->to_string();
    if (https_endpoint) ready["https"] = https_endpoint->to_string();
    if (legs) ready["sip_legs"] = legs->local_endpoint().to_string();
    std::cout << ready.dump() << std::endl;
    std::string user_transports;
    if (config->sip_access.udp) user_transports += "udp";
    if (config->sip_access.tcp) user_transports += user_transports.empty() ? "tcp" : ", tcp";
    if (auto tls = (*sip)->access_tls_endpoint()) {
        user_transports += (user_transports.empty() ? "tls on " : ", tls on ") + tls->to_string();
    }
    spdlog::info(
        "MC system {} ({}) serving SIP on {} (users: {}), HTTP on {}{}", config->system_id,
        config->domain, (*sip)->local_endpoint().to_string(), user_transports,
        http_endpoint->to_string(),
        ((*sip)->tls_endpoint()
             ? ", interconnect (SIP over TLS) on " + (*sip)->tls_endpoint()->to_string()
             : std::string{}) +
            (https_endpoint ? ", partner HTTPS (mutual TLS) on " + https_endpoint->to_string()
                            : std::string{}));

    loop.run();
    spdlog::info("stopping");
    http.stop();
    if (https) https->stop();
    return 0;
}
