// mcx: the MC service client CLI, the token helper and the demo.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/command_shell.hpp"
#include "client/idm_client.hpp"
#include "client/mc_client.hpp"
#include "cms/admin.hpp"
#include "common/system_config.hpp"
#include "demo/demo.hpp"
#include "idms/certificates.hpp"
#include "idms/token.hpp"
#include "net/event_loop.hpp"
#include "net/http.hpp"

namespace {

struct ClientOptions {
    std::string config_path;
    std::string user;
    std::string password;
    std::string sip_server;
    std::string idms_url;
    std::string domain;
    std::string cms_url;
    std::string script;
    bool json = false;
    bool no_floor_queueing = false;
    bool no_implicit_floor = false;
    int floor_priority = 0;
    std::string speak;
    std::string audience;
    std::string record;
    std::string log_level = "warn";
    std::string transport;
    std::string ca_file;
};

void add_connection_options(CLI::App* cmd, ClientOptions& o) {
    cmd->add_option("-c,--config", o.config_path, "client configuration (TOML, [client] table)");
    cmd->add_option("-u,--user", o.user, "MC service ID, e.g. sip:alice@a.mcx");
    cmd->add_option("-p,--password", o.password, "password at the IdMS");
    cmd->add_option("--sip-server", o.sip_server, "SIP address of the MC system (host:port)");
    cmd->add_option("--transport", o.transport,
                    "SIP transport towards the MC systems: udp, tcp or tls (default udp, or the "
                    "configuration's)")
        ->check(CLI::IsMember({"udp", "tcp", "tls"}));
    cmd->add_option("--ca", o.ca_file,
                    "with --transport tls: the CA certificates (PEM) the MC systems' SIP "
                    "certificates must chain to")
        ->check(CLI::ExistingFile);
    cmd->add_option("--idms-url", o.idms_url, "IdMS base URL, e.g. http://127.0.0.1:8080");
    cmd->add_option("--domain", o.domain, "domain of the MC system (default: the user's)");
    cmd->add_option("--cms-url", o.cms_url,
                    "CMS base URL of the primary system (the profile is retrieved there)");
    cmd->add_option("--audience", o.audience,
                    "token for this MC system (mcx:<id>), e.g. a partner");
}

mcx::Result<mcx::client::ClientConfig> build_config(const ClientOptions& o) {
    mcx::client::ClientConfig config;
    if (!o.config_path.empty()) {
        if (auto r = mcx::client::load_client_config(o.config_path, config); !r) {
            return tl::unexpected(r.error());
        }
    }
    if (!o.user.empty()) {
        auto id = mcx::McServiceId::parse(o.user);
        if (!id) return mcx::fail(mcx::Errc::invalid_argument, "--user: " + id.error().reason);
        config.user = *id;
    }
    if (config.user.empty()) return mcx::fail(mcx::Errc::invalid_argument, "no user: give --user");
    if (!o.password.empty()) config.password = o.password;
    // The command line describes the primary system (the one the user belongs to).
    auto& home = config.ensure_home_system();
    if (!o.sip_server.empty()) {
        auto e = mcx::client::parse_endpoint(o.sip_server);
        if (!e) return mcx::fail(mcx::Errc::invalid_argument, "--sip-server: " + e.error().reason);
        home.sip_server = *e;
    }
    if (!o.transport.empty()) {
        config.transport = o.transport == "tls"   ? mcx::net::Transport::tls
                           : o.transport == "tcp" ? mcx::net::Transport::tcp
                                                  : mcx::net::Transport::udp;
    }
    if (!o.ca_file.empty()) config.ca_file = o.ca_file;
    if (!o.idms_url.empty()) home.idms_url = o.idms_url;
    if (!o.cms_url.empty()) home.cms_url = o.cms_url;
    if (!o.domain.empty()) home.domain = o.domain;
    if (home.domain.empty()) home.domain = std::string(config.user.domain());
    if (o.no_floor_queueing) config.floor_queueing = false;
    if (o.no_implicit_floor) config.implicit_floor_request = false;
    if (o.floor_priority > 0) config.floor_priority = static_cast<std::uint8_t>(o.floor_priority);
    if (!o.speak.empty()) config.speak_file = o.speak;
    if (!o.record.empty()) config.record_file = o.record;
    if (auto checked = config.check(); !checked) return tl::unexpected(checked.error());
    return config;
}

void setup_logging(const std::string& level) {
    auto logger = spdlog::stderr_color_mt("mcx");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::set_pattern("%H:%M:%S.%e %^%l%$ %v");
}

int run_client(const ClientOptions& o) {
    auto config = build_config(o);
    if (!config) {
        std::cerr << "mcx client: " << config.error().reason << "\n";
        return 2;
    }
    std::istream* input = &std::cin;
    std::ifstream script_file;
    if (!o.script.empty() && o.script != "-") {
        script_file.open(o.script);
        if (!script_file) {
            std::cerr << "mcx client: cannot read script " << o.script << "\n";
            return 2;
        }
        input = &script_file;
    }
    const bool interactive = o.script.empty() && isatty(STDIN_FILENO);
    const bool json = o.json || !interactive;

    mcx::net::EventLoop loop;
    std::mutex out_mutex;
    auto print = [&out_mutex](const std::string& line) {
        std::lock_guard lock(out_mutex);
        std::cout << line << std::endl;
    };
    int exit_code = 0;
    std::unique_ptr<mcx::client::CommandShell> shell;
    mcx::client::McClient client(loop, *config, [&shell](const mcx::client::ClientEvent& e) {
        if (shell) shell->on_event(e);
    });
    if (auto r = client.open(); !r) {
        std::cerr << "mcx client: " << r.error().reason << "\n";
        return 1;
    }
    shell = std::make_unique<mcx::client::CommandShell>(client, json, print, [&](int code) {
        exit_code = code;
        loop.post([&loop] { loop.stop(); });
    });
    loop.post([&client] { client.start(); });
    if (interactive) {
        print("mcx client for " + config->user.uri() + " at " +
              config->system(config->home)->sip_server.to_string() + ". Type 'help' for commands.");
    }
    std::thread reader([&] {
        std::string line;
        while (std::getline(*input, line)) {
            loop.post([&shell, line] { shell->feed(line); });
        }
        loop.post([&shell] { shell->end_of_input(); });
    });
    reader.detach();  // blocked in getline until input ends; the process exits anyway
    loop.run();
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    // A write beyond a file size limit (ulimit -f) fails with EFBIG, as on a full disk, and
    // `mcx admin` reports it instead of being killed.
    std::signal(SIGXFSZ, SIG_IGN);
    CLI::App app{"mcx: MC service client (MCPTT private calls), token helper and demo"};
    app.require_subcommand(1);

    ClientOptions client_opts;
    auto* client_cmd = app.add_subcommand(
        "client",
        "log in, register and make private calls (interactive, or scripted with --script)");
    add_connection_options(client_cmd, client_opts);
    client_cmd->add_option("--script", client_opts.script,
                           "read commands from this file ('-' = stdin) and print JSON events");
    client_cmd->add_flag("--json", client_opts.json, "print one JSON event per line");
    client_cmd->add_option("--log-level", client_opts.log_level, "trace, debug, info, warn, error");
    client_cmd
        ->add_option("--speak", client_opts.speak,
                     "speech file (WAV or any libsndfile format) sent as AMR-WB whenever this "
                     "client holds the floor; the floor is released when it ends")
        ->check(CLI::ExistingFile);
    client_cmd->add_option("--record", client_opts.record,
                           "write the speech received (decoded AMR-WB) to this 16 kHz WAV file");
    client_cmd->add_flag("--no-floor-queueing", client_opts.no_floor_queueing,
                         "do not offer mc_queueing: a busy floor answers Floor Deny");
    client_cmd->add_flag("--no-implicit-floor", client_opts.no_implicit_floor,
                         "do not ask for the floor in the INVITE (mc_implicit_request)");
    client_cmd
        ->add_option("--floor-priority", client_opts.floor_priority,
                     "mc_priority to ask for (1-255)")
        ->check(CLI::Range(1, 255));
    client_cmd->footer(mcx::client::CommandShell::help_text());

    ClientOptions token_opts;
    bool admin_token = false;
    auto* token_cmd = app.add_subcommand(
        "token", "log in at the IdMS and print the access token (for SIPp and curl)");
    add_connection_options(token_cmd, token_opts);
    token_cmd->add_flag("--admin", admin_token,
                        "an administrator's token (scope mcx-admin) for GET /status and "
                        "/metrics: curl -H \"Authorization: Bearer $(mcx token --admin ...)\"");

    mcx::cms::AdminCommand admin;
    std::string admin_config;
    auto* admin_cmd = app.add_subcommand(
        "admin", "administer an MC system's store: users, profiles, import, integrity check");
    admin_cmd->add_option("--store", admin.store_path, "the SQLite store file");
    admin_cmd->add_option("--config", admin_config,
                          "or: the mcxd configuration naming the store (and, for 'user add', "
                          "its [idms] password_hash_iterations)");
    admin_cmd->add_option("--password", admin.password, "password for 'user add'");
    admin_cmd->add_flag("--admin", admin.admin,
                        "'user add': the user is an administrator (may get a token with the "
                        "scope mcx-admin, for GET /status and /metrics); without it, not");
    admin_cmd->add_option("--index", admin.index,
                          "profile index for 'profile show/remove' (default 0)");
    std::string certs_out;
    admin_cmd->add_option("--out", certs_out,
                          "directory for 'certs SYSTEM...' (CA and per-system certificates)");
    admin_cmd
        ->add_option("command", admin.words,
                     "user add ID | user admin ID on|off | user list | user remove ID | "
                     "profile list [ID] | profile show ID | profile remove ID | import FILE_OR_DIR "
                     "| check | "
                     "certs SYSTEM... --out DIR")
        ->required();

    mcx::demo::DemoOptions demo_opts;
    auto* demo_cmd = app.add_subcommand(
        "demo",
        "start MC systems A, B, C on 127.0.0.1 and show a user migrating between them during two "
        "private calls (TS 23.280 10.16.3); --basic: one system, private calls");
    demo_cmd->add_flag("--basic", demo_opts.basic,
                       "the single-system demo: private calls with floor control and voice");
    demo_cmd->add_option("--out", demo_opts.out_dir, "output directory (pcap, log, summary)");
    demo_cmd->add_option("--mcxd", demo_opts.mcxd_path, "mcxd binary (default: next to mcx)");

    CLI11_PARSE(app, argc, argv);

    if (*client_cmd) {
        setup_logging(client_opts.log_level);
        return run_client(client_opts);
    }
    if (*admin_cmd) {
        setup_logging("warn");
        if (!admin.words.empty() && admin.words[0] == "certs") {
            // A private CA and one certificate per MC system for the mutual-TLS interconnect.
            std::vector<std::string> systems(admin.words.begin() + 1, admin.words.end());
            if (systems.empty() || certs_out.empty()) {
                std::cerr << "mcx admin: usage: certs SYSTEM... --out DIR\n";
                return 2;
            }
            if (auto r = mcx::idms::write_interconnect_certificates(certs_out, systems); !r) {
                std::cerr << "mcx admin: " << r.error().reason << "\n";
                return 1;
            }
            std::cout << "wrote " << certs_out << "/ca.pem";
            for (const auto& system : systems)
                std::cout << ", " << certs_out << "/" << system << ".pem";
            std::cout << "\n";
            return 0;
        }
        if (admin.store_path.empty() && admin_config.empty()) {
            std::cerr << "mcx admin: give --store FILE or --config FILE\n";
            return 2;
        }
        if (!admin_config.empty()) {
            auto config = mcx::load_system_config(admin_config);
            if (!config) {
                std::cerr << "mcx admin: " << config.error().reason << "\n";
                return 2;
            }
            if (admin.store_path.empty()) admin.store_path = config->store_path;
            // `user add` hashes as mcxd does ([idms] password_hash_iterations).
            admin.hash_iterations = static_cast<int>(config->login.hash_iterations);
        }
        return mcx::cms::run_admin(admin, std::cout, std::cerr);
    }
    if (*token_cmd) {
        setup_logging("warn");
        // The token command needs no SIP server.
        if (token_opts.sip_server.empty()) token_opts.sip_server = "127.0.0.1:1";
        auto config = build_config(token_opts);
        if (!config) {
            std::cerr << "mcx token: " << config.error().reason << "\n";
            return 2;
        }
        const auto* home = config->system(config->home);
        std::map<std::string, std::string> form{
            {"grant_type", "password"},
            {"username", config->user.uri()},
            {"password", config->password},
            {"client_id",
             config->client_id.empty() ? mcx::client::random_client_id() : config->client_id}};
        if (!token_opts.audience.empty()) form["audience"] = token_opts.audience;
        if (admin_token) form["scope"] = mcx::idms::kAdminScope;
        auto response =
            mcx::net::http_post_form(home->idms_url + "/idms/token", form, std::chrono::seconds(5));
        if (!response) {
            std::cerr << "mcx token: " << response.error().reason << "\n";
            return 1;
        }
        auto grant = mcx::client::parse_token_response(response->status, response->body,
                                                       "the IdMS at " + home->idms_url);
        if (!grant) {
            std::cerr << "mcx token: " << grant.error().reason << "\n";
            return 1;
        }
        if (admin_token) {
            // An IdMS that ignored the scope would hand out a user's token, useless here.
            const auto body = nlohmann::json::parse(response->body, nullptr, false);
            const auto scope = body.is_object() ? body.value("scope", std::string{}) : "";
            if (scope != mcx::idms::kAdminScope) {
                std::cerr << "mcx token: the IdMS at " << home->idms_url << " granted the scope '"
                          << scope << "', not mcx-admin\n";
                return 1;
            }
        }
        std::cout << grant->access_token << "\n";
        return 0;
    }
    setup_logging("warn");
    return mcx::demo::run_demo(demo_opts);
}
