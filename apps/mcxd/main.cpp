// mcxd: one MC system (SIP core, MCPTT server, IdMS) configured by one TOML file.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <pthread.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/system_config.hpp"
#include "idms/keys.hpp"
#include "idms/password.hpp"
#include "idms/token.hpp"
#include "idms/token_endpoint.hpp"
#include "net/event_loop.hpp"
#include "net/http.hpp"
#include "net/pcap_writer.hpp"
#include "net/sip_stack.hpp"
#include "server/mc_server.hpp"

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class ConfigCredentials : public mcx::idms::CredentialStore {
  public:
    explicit ConfigCredentials(const mcx::SystemConfig& config) {
        for (const auto& user : config.users) {
            if (!user.password.empty()) hashes_[user.id] = mcx::idms::hash_password(user.password);
        }
    }
    std::string password_hash(const mcx::McServiceId& user) const override {
        auto it = hashes_.find(user);
        return it == hashes_.end() ? std::string{} : it->second;
    }

  private:
    std::unordered_map<mcx::McServiceId, std::string> hashes_;
};

// SIGINT/SIGTERM go to the event loop's thread only (libre's re_main handles them there).
void block_stop_signals(bool block) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"mcxd: one MC system (SIP core, MCPTT server, IdMS) on one machine"};
    std::string config_path;
    std::string pcap_path;
    std::string log_level = "info";
    app.add_option("-c,--config", config_path,
                   "MC system configuration (TOML, see config/README.md)")
        ->required();
    app.add_option("--pcap", pcap_path, "write every SIP message sent or received into this pcap");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    CLI11_PARSE(app, argc, argv);

    auto logger = spdlog::stderr_color_mt("mcxd");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(log_level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [mcxd] %v");

    auto config = mcx::load_system_config(config_path);
    if (!config) {
        std::cerr << "mcxd: " << config.error().reason << "\n";
        return 2;
    }
    auto key = config->idms_key_file.empty()
                   ? mcx::idms::SigningKey::generate()
                   : mcx::idms::SigningKey::load_or_create(config->idms_key_file);
    if (!key) {
        std::cerr << "mcxd: IdMS key: " << key.error().reason << "\n";
        return 2;
    }
    const auto public_pem = key->public_pem;
    mcx::idms::TokenIssuer issuer(*key, config->idms_issuer(), config->token_audience(),
                                  config->token_lifetime_seconds);
    mcx::idms::TokenVerifier verifier(config->token_audience());
    verifier.trust(config->idms_issuer(), public_pem);
    ConfigCredentials credentials(*config);
    mcx::idms::TokenEndpoint token_endpoint(credentials, issuer);

    mcx::net::EventLoop loop;
    mcx::net::EventLoop::set_max_descriptors(16384);
    auto sip = mcx::net::SipStack::create(
        loop, {config->host, config->sip_port, "mcxd/" + config->system_id});
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
    mcx::server::McServer server(*config, **sip, verifier, now_ms);

    block_stop_signals(true);
    mcx::net::HttpServer http;
    http.post("/idms/token", [&](const mcx::net::HttpRequest& req) {
        auto reply = token_endpoint.handle(req.params, now_ms() / 1000);
        return mcx::net::HttpResponse{
            reply.status, reply.content_type, reply.body, {{"Cache-Control", "no-store"}}};
    });
    http.get("/idms/public-key", [&](const mcx::net::HttpRequest&) {
        return mcx::net::HttpResponse{200, "application/x-pem-file", public_pem, {}};
    });
    http.get("/status", [&](const mcx::net::HttpRequest&) {
        auto status = loop.call([&] { return server.status_json(); }, std::chrono::seconds(2));
        if (!status)
            return mcx::net::HttpResponse{503, "application/json", R"({"error":"busy"})", {}};
        return mcx::net::HttpResponse{200, "application/json", *status, {}};
    });
    auto http_endpoint = http.start(config->host, config->http_port);
    block_stop_signals(false);
    if (!http_endpoint) {
        std::cerr << "mcxd: " << http_endpoint.error().reason << "\n";
        return 1;
    }

    // One machine-readable line so that scripts and tests learn the ports picked.
    nlohmann::json ready{{"event", "ready"},
                         {"system", config->system_id},
                         {"domain", config->domain},
                         {"sip", (*sip)->local_endpoint().to_string()},
                         {"http", http_endpoint->to_string()}};
    std::cout << ready.dump() << std::endl;
    spdlog::info("MC system {} ({}) serving SIP on {} (udp, tcp), HTTP on {}", config->system_id,
                 config->domain, (*sip)->local_endpoint().to_string(), http_endpoint->to_string());

    loop.run();
    spdlog::info("stopping");
    http.stop();
    return 0;
}
