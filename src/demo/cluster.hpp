#pragma once
// Three interconnected MC systems on 127.0.0.1 for the demo and the migration bench: A (the
// primary of alice, who may migrate to B and C, and of bob), B (carol's) and C (dave's), each
// one mcxd process with generated configuration, IdMS key and interconnect certificates; every
// system a partner of the other two. Ports are picked free before any configuration is
// written, since each names its partners'.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/client_config.hpp"
#include "common/error.hpp"
#include "common/process.hpp"
#include "net/endpoint.hpp"

namespace mcx::demo {

// The administrator of each system (no private calls): sip:mcx-admin@<domain>, password
// "mcx-admin-demo", like the demo's users.
inline constexpr const char* kClusterAdmin = "mcx-admin";

struct ClusterOptions {
    std::string dir;   // one sub-directory per system, and the certificates
    std::string mcxd;  // the mcxd binary
    bool pcap = true;  // --pcap system-<id>.pcap
    std::string log_level = "info";
    // Appended to a system's configuration, by system id (the benches' load users).
    std::map<std::string, std::string> extra_toml;
    std::chrono::seconds start_timeout{10};  // each system's ready line
    // How the clients of client_config() reach their systems. TLS (docs/security.md, "SIP
    // access"): each system also refuses users over UDP and TCP; UDP: the lab set-up.
    net::Transport client_transport = net::Transport::tls;
};

struct ClusterSystem {
    std::string id;
    std::string domain;
    std::string dir;
    std::uint16_t http_port = 0;
    std::uint16_t tls_port = 0;
    std::uint16_t https_port = 0;  // partner IdMS key and CMS (mutual TLS)
    std::string pcap;
    std::string log;
    net::Endpoint sip;
    net::Endpoint sip_tls;  // the clients' TLS listener
    net::Endpoint legs;
    net::Endpoint interconnect;
    ChildProcess process;
    // The administrator's token (scope mcx-admin) for GET /status and /metrics, logged in at
    // start as kClusterAdmin.
    std::string admin_token;
    std::string http_url() const { return "http://127.0.0.1:" + std::to_string(http_port); }
    std::string https_url() const { return "https://127.0.0.1:" + std::to_string(https_port); }
};

class Cluster {
  public:
    // Starts the three systems and returns once each knows its partners' IdMS keys.
    static Result<std::unique_ptr<Cluster>> start(const ClusterOptions& options);
    ~Cluster();

    std::vector<ClusterSystem>& systems() { return systems_; }
    ClusterSystem& system(const std::string& id);
    // A client of `name` (password "<name>-demo") of system `home`, knowing every system.
    client::ClientConfig client_config(const std::string& name, const std::string& home) const;
    void stop();  // SIGTERM each system still running

  private:
    std::vector<ClusterSystem> systems_;
    std::string ca_file_;  // the CA of every system's certificate
    net::Transport client_transport_ = net::Transport::tls;
};

std::uint16_t free_tcp_port();

}  // namespace mcx::demo
