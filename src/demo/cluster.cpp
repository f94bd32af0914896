#include "demo/cluster.hpp"

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "idms/certificates.hpp"
#include "net/http.hpp"

namespace mcx::demo {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::uint16_t free_tcp_port() {
    return net::free_tcp_port("127.0.0.1").value_or(0);
}

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string system_toml(const ClusterSystem& s, const std::vector<ClusterSystem>& all,
                        const std::string& certs, net::Transport client_transport) {
    std::ostringstream t;
    t << "[system]\nid = \"" << s.id << "\"\ndomain = \"" << s.domain
      << "\"\nhost = \"127.0.0.1\"\n\n[http]\nport = " << s.http_port
      << "\n\n[idms]\nkey_file = \"idms-" << s.id << ".pem\"\n\n";
    // Users' TLS listener with the interconnect's certificate (it names 127.0.0.1).
    t << "[sip]\ntls_port = 0\n";
    if (client_transport == net::Transport::tls) t << "udp_access = false\ntcp_access = false\n";
    t << "\n";
    auto user = [&](const std::string& name, const std::string& migrate_to) {
        t << "[[users]]\nid = \"sip:" << name << "@" << s.domain << "\"\npassword = \"" << name
          << "-demo\"\nprivate_call_targets = [\"*\"]\nmigrate_to = [" << migrate_to << "]\n\n";
    };
    t << "[[users]]\nid = \"sip:" << kClusterAdmin << "@" << s.domain << "\"\npassword = \""
      << kClusterAdmin << "-demo\"\nadmin = true\nprivate_call = false\nmay_be_called = false\n\n";
    if (s.id == "A") {
        user("alice", "\"B\", \"C\"");
        user("bob", "");
    } else if (s.id == "B") {
        user("carol", "");
    } else {
        user("dave", "");
    }
    t << "[interconnect]\nport = " << s.tls_port << "\ncertificate = \"" << certs << "/" << s.id
      << ".pem\"\nca = \"" << certs
      << "/ca.pem\"\ntimeout_seconds = 2\nhttps_port = " << s.https_port << "\n\n";
    for (const auto& p : all) {
        if (p.id == s.id) continue;
        t << "[[partners]]\nid = \"" << p.id << "\"\ndomain = \"" << p.domain << "\"\nidms_url = \""
          << p.https_url() << "\"\ncms_url = \"" << p.https_url()
          << "\"\nsip = \"127.0.0.1:" << p.tls_port << "\"\n\n";
    }
    return t.str();
}

Result<net::Endpoint> endpoint_of(const nlohmann::json& ready, const char* key) {
    if (!ready.contains(key) || !ready[key].is_string()) return net::Endpoint{};
    return client::parse_endpoint(ready[key].get<std::string>());
}

}  // namespace

Result<std::unique_ptr<Cluster>> Cluster::start(const ClusterOptions& options) {
    auto cluster = std::unique_ptr<Cluster>(new Cluster());
    // Absolute: mcxd reads the paths of its configuration relative to the configuration file.
    const auto dir = fs::absolute(options.dir).lexically_normal().string();
    const auto certs = dir + "/certs";
    if (auto made = idms::write_interconnect_certificates(certs, {"A", "B", "C"}); !made) {
        return fail(Errc::io, "certificates: " + made.error().reason);
    }
    cluster->ca_file_ = certs + "/ca.pem";
    cluster->client_transport_ = options.client_transport;
    auto& systems = cluster->systems_;
    for (const auto* id : {"A", "B", "C"}) {
        ClusterSystem s;
        s.id = id;
        s.domain = lower(id) + ".mcx";
        s.dir = dir + "/" + lower(id);
        s.http_port = free_tcp_port();
        s.tls_port = free_tcp_port();
        s.https_port = free_tcp_port();
        s.pcap = s.dir + "/system-" + s.id + ".pcap";
        s.log = s.dir + "/system-" + s.id + ".log";
        fs::create_directories(s.dir);
        systems.push_back(std::move(s));
    }
    for (auto& s : systems) {
        const auto config = s.dir + "/system-" + s.id + ".toml";
        std::ofstream toml(config);
        toml << system_toml(s, systems, certs, options.client_transport);
        if (auto extra = options.extra_toml.find(s.id); extra != options.extra_toml.end()) {
            toml << extra->second;
        }
        toml.close();
        std::vector<std::string> argv{options.mcxd, "--config", config, "--log-level",
                                      options.log_level};
        if (options.pcap) {
            argv.push_back("--pcap");
            argv.push_back(s.pcap);
        }
        auto child = ChildProcess::spawn(argv, s.log);
        if (!child) return tl::unexpected(child.error());
        s.process = std::move(*child);
    }
    for (auto& s : systems) {
        auto ready = nlohmann::json::parse(s.process.read_line(options.start_timeout).value_or(""),
                                           nullptr, false);
        if (ready.is_discarded() || ready.value("event", "") != "ready") {
            return fail(Errc::io, "MC system " + s.id + " did not start; see " + s.log);
        }
        s.sip = endpoint_of(ready, "sip").value_or(net::Endpoint{});
        s.sip_tls = endpoint_of(ready, "sip_tls").value_or(net::Endpoint{});
        s.legs = endpoint_of(ready, "sip_legs").value_or(net::Endpoint{});
        s.interconnect = endpoint_of(ready, "interconnect").value_or(net::Endpoint{});
        auto login =
            net::http_post_form(s.http_url() + "/idms/token",
                                {{"grant_type", "password"},
                                 {"username", "sip:" + std::string(kClusterAdmin) + "@" + s.domain},
                                 {"password", std::string(kClusterAdmin) + "-demo"},
                                 {"scope", "mcx-admin"}},
                                5s);
        auto grant = login && login->status == 200
                         ? nlohmann::json::parse(login->body, nullptr, false)
                         : nlohmann::json();
        if (!grant.is_object() || !grant.contains("access_token")) {
            return fail(Errc::io,
                        "MC system " + s.id + ": the administrator cannot log in; see " + s.log);
        }
        s.admin_token = grant["access_token"].get<std::string>();
    }
    // Every system trusts its partners' IdMS keys (fetched in the background at start).
    for (const auto& s : systems) {
        bool known = false;
        for (int i = 0; i < 100 && !known; ++i) {
            auto r = net::http_get(s.http_url() + "/status",
                                   {{"Authorization", "Bearer " + s.admin_token}}, 1s);
            auto st = r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
            known = st.is_object() && st.contains("partner_idms_keys");
            const auto keys = st.value("partner_idms_keys", nlohmann::json::object());
            for (const auto& [partner, state] : keys.items()) {
                if (state != "fetched" && state != "configured") known = false;
            }
            if (!known) std::this_thread::sleep_for(50ms);
        }
        if (!known) return fail(Errc::timeout, "MC system " + s.id + " does not know its partners");
    }
    return cluster;
}

Cluster::~Cluster() {
    stop();
}

ClusterSystem& Cluster::system(const std::string& id) {
    for (auto& s : systems_) {
        if (s.id == id) return s;
    }
    return systems_.front();
}

client::ClientConfig Cluster::client_config(const std::string& name,
                                            const std::string& home) const {
    client::ClientConfig config;
    config.user = *McServiceId::parse("sip:" + name + "@" + lower(home) + ".mcx");
    config.password = name + "-demo";
    config.home = home;
    config.transport = client_transport_;
    if (client_transport_ == net::Transport::tls) config.ca_file = ca_file_;
    for (const auto& s : systems_) {
        client::SystemAddress a;
        a.id = s.id;
        a.domain = s.domain;
        a.sip_server = client_transport_ == net::Transport::tls ? s.sip_tls : s.sip;
        a.idms_url = s.http_url();
        a.cms_url = s.http_url();
        config.systems.push_back(a);
    }
    return config;
}

void Cluster::stop() {
    for (auto& s : systems_) s.process.stop(std::chrono::seconds(3));
}

}  // namespace mcx::demo
