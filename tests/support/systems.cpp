#include "systems.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include "idms/certificates.hpp"

namespace mcx::test {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string loopback(std::uint16_t port) {
    return "127.0.0.1:" + std::to_string(port);
}

class Socket {
  public:
    explicit Socket(int type) : fd_(::socket(AF_INET, type, 0)) {}
    ~Socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    Socket& operator=(Socket&&) = delete;

    // Binds to 127.0.0.1:port (0: any); the port bound, 0 on failure.
    std::uint16_t bind(std::uint16_t port) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port);
        socklen_t len = sizeof(addr);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            return 0;
        }
        return ntohs(addr.sin_port);
    }

  private:
    int fd_ = -1;
};

}  // namespace

// The lowest port of the kernel's ephemeral range (bind to port 0, connect): ports picked
// below it cannot be taken by another test's mcxd on "any port" or its clients' connections
// between picking and mcxd's bind (the "Address already in use" of a CI run, 2026-12-03).
std::uint16_t ephemeral_range_start() {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    unsigned low = 32768;
    if (!(in >> low) || low < 4096 || low > 65535) low = 32768;
    return static_cast<std::uint16_t>(low);
}

std::vector<std::uint16_t> free_ports(std::size_t count) {
    const std::uint16_t end = ephemeral_range_start();
    const std::uint16_t begin = std::max<int>(1024, end - 12000);
    std::mt19937 random(std::random_device{}());
    std::uniform_int_distribution<int> pick(begin, end - 1);
    std::vector<Socket> held;  // a port stays taken (by us) until all are picked
    std::vector<std::uint16_t> ports;
    for (int attempt = 0; ports.size() < count; ++attempt) {
        if (attempt > 1000) throw std::runtime_error("no free ports on 127.0.0.1");
        const auto wanted = static_cast<std::uint16_t>(pick(random));
        if (std::find(ports.begin(), ports.end(), wanted) != ports.end()) continue;
        Socket tcp(SOCK_STREAM);
        if (tcp.bind(wanted) != wanted) continue;
        Socket udp(SOCK_DGRAM);
        if (udp.bind(wanted) != wanted) continue;
        held.push_back(std::move(tcp));
        held.push_back(std::move(udp));
        ports.push_back(wanted);
    }
    return ports;
}

std::unique_ptr<Systems> Systems::start(const std::vector<std::string>& ids) {
    return SystemsBuilder(ids).start();
}

const Systems::Member& Systems::member(const std::string& id) const {
    const auto it = members_.find(id);
    if (it == members_.end()) throw std::out_of_range("no MC system " + id + " in this set");
    return it->second;
}

McSystem& Systems::system(const std::string& id) const {
    return *member(id).system;
}

std::string Systems::client_config_path(const std::string& home, const std::string& name) const {
    return (fs::path(dir_) / ("client-" + name + "-" + home + ".toml")).string();
}

std::string Systems::write_client_config(const std::string& home, const std::string& name,
                                         const std::optional<std::string>& password) const {
    const auto& primary = member(home);
    std::string secret;
    if (password) {
        secret = *password;
    } else {
        bool found = false;
        for (const auto& u : primary.users) {
            if (u.name == name) {
                secret = u.password;
                found = true;
            }
        }
        if (!found) {
            throw std::invalid_argument("no user " + name + " in MC system " + home +
                                        " and no password given");
        }
    }
    const auto path = client_config_path(home, name);
    std::ofstream out(path);
    out << "[client]\nuser = " << toml_string(primary.system->uri(name))
        << "\npassword = " << toml_string(secret) << "\nhome = " << toml_string(home) << "\n";
    if (primary.system->client_tls()) {
        out << "transport = \"tls\"\nca_file = " << toml_string(primary.system->client_ca())
            << "\n";
    }
    for (const auto& id : ids_) {
        const auto& m = member(id);
        out << "\n[[systems]]\nid = " << toml_string(id) << "\ndomain = " << toml_string(m.domain)
            << "\nsip_server = " << toml_string(m.system->client_sip().to_string())
            << "\nidms_url = " << toml_string(m.system->http_url())
            << "\ncms_url = " << toml_string(m.system->http_url()) << "\n";
    }
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
    return path;
}

std::unique_ptr<ClientProcess> Systems::client(const std::string& home, const std::string& name,
                                               const std::string& extra_toml,
                                               const std::vector<std::string>& extra_args) const {
    const auto path = write_client_config(home, name);
    if (!extra_toml.empty()) {
        std::ofstream out(path, std::ios::app);
        out << "\n" << extra_toml << "\n";
        if (!out.flush()) throw std::runtime_error("cannot write " + path);
    }
    return ClientProcess::start_with_config(path, name, dir_ + "/client-" + name + ".log",
                                            extra_args);
}

bool Systems::wait_for_partner_keys(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (const auto& id : ids_) {
        auto& system = *member(id).system;
        if (!system.running()) continue;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (!system.wait_for_partner_keys(std::max(left, std::chrono::milliseconds(0)))) {
            return false;
        }
    }
    return true;
}

SystemsBuilder::SystemsBuilder(std::vector<std::string> ids) : ids_(std::move(ids)) {
    for (const auto& id : ids_) {
        if (id.empty() || specs_.contains(id)) {
            throw std::invalid_argument("MC system ids must be distinct and not empty");
        }
        specs_[id].domain = lower(id) + ".mcx";
    }
}

SystemsBuilder::Spec& SystemsBuilder::spec(const std::string& id) {
    const auto it = specs_.find(id);
    if (it == specs_.end()) throw std::invalid_argument("no MC system " + id + " in this set");
    return it->second;
}

SystemsBuilder& SystemsBuilder::domain(const std::string& id, std::string domain) {
    spec(id).domain = std::move(domain);
    return *this;
}

SystemsBuilder& SystemsBuilder::users(const std::string& id, std::vector<UserSpec> users) {
    spec(id).users = std::move(users);
    return *this;
}

SystemsBuilder& SystemsBuilder::extra_toml(const std::string& id, std::string toml) {
    spec(id).extra_toml += toml + "\n";
    return *this;
}

SystemsBuilder& SystemsBuilder::configure(const std::string& id,
                                          std::function<void(McSystem::Options&)> edit) {
    spec(id).edit = std::move(edit);
    return *this;
}

SystemsBuilder& SystemsBuilder::without_partner(const std::string& of, const std::string& partner) {
    spec(of);
    spec(partner);
    missing_.emplace(of, partner);
    return *this;
}

SystemsBuilder& SystemsBuilder::without_pair(const std::string& a, const std::string& b) {
    return without_partner(a, b).without_partner(b, a);
}

SystemsBuilder& SystemsBuilder::own_ca(const std::string& id) {
    spec(id).own_ca = true;
    return *this;
}

SystemsBuilder& SystemsBuilder::interconnect_timeout(std::uint32_t seconds) {
    interconnect_timeout_ = seconds;
    return *this;
}

SystemsBuilder& SystemsBuilder::wait_for_partner_keys(bool wait) {
    wait_for_keys_ = wait;
    return *this;
}

std::unique_ptr<Systems> SystemsBuilder::start(std::string dir) const {
    if (dir.empty()) dir = test_output_dir();
    auto systems = std::unique_ptr<Systems>(new Systems());
    systems->dir_ = dir;
    systems->certs_ = (fs::path(dir) / "certs").string();
    systems->ids_ = ids_;
    if (auto made = idms::write_interconnect_certificates(systems->certs_, ids_); !made) {
        throw std::runtime_error("interconnect certificates: " + made.error().reason);
    }

    // Every port first: each configuration names its partners'.
    const auto ports = free_ports(4 * ids_.size());
    for (std::size_t i = 0; i < ids_.size(); ++i) {
        const auto& id = ids_[i];
        const auto& spec = specs_.at(id);
        Systems::Member m;
        m.id = id;
        m.domain = spec.domain;
        m.dir = (fs::path(dir) / lower(id)).string();
        m.http_port = ports[4 * i];
        m.sip_port = ports[4 * i + 1];
        m.interconnect_port = ports[4 * i + 2];
        m.https_port = ports[4 * i + 3];
        m.users = spec.users;
        fs::create_directories(m.dir);
        systems->members_.emplace(id, std::move(m));
    }

    for (const auto& id : ids_) {
        const auto& spec = specs_.at(id);
        auto& m = systems->members_.at(id);
        auto certs = systems->certs_;
        if (spec.own_ca) {
            certs = (fs::path(dir) / ("certs-" + id)).string();
            if (auto made = idms::write_interconnect_certificates(certs, {id}); !made) {
                throw std::runtime_error("certificates of " + id + ": " + made.error().reason);
            }
        }
        McSystem::Options options;
        if (spec.edit) spec.edit(options);
        options.id = id;
        options.domain = m.domain;
        options.users = m.users;
        if (options.client_tls) {  // clients trust the certificate of the interconnect
            options.tls_certificate = (fs::path(certs) / (id + ".pem")).string();
            options.tls_ca = (fs::path(certs) / "ca.pem").string();
        }
        options.http_port = m.http_port;
        options.sip_port = m.sip_port;
        std::string toml = options.extra_toml;
        if (!toml.empty() && toml.back() != '\n') toml += '\n';
        toml += spec.extra_toml;
        toml += "\n[interconnect]\nport = " + std::to_string(m.interconnect_port) +
                "\ncertificate = " + toml_string(certs + "/" + id + ".pem") +
                "\nca = " + toml_string(certs + "/ca.pem") +
                "\ntimeout_seconds = " + std::to_string(interconnect_timeout_) +
                "\nhttps_port = " + std::to_string(m.https_port) + "\n";
        for (const auto& partner_id : ids_) {
            if (partner_id == id || missing_.contains({id, partner_id})) continue;
            const auto& partner = systems->members_.at(partner_id);
            // Partner IdMS key and CMS over HTTPS with mutual TLS (docs/security.md).
            const auto http = toml_string("https://" + loopback(partner.https_port));
            toml += "\n[[partners]]\nid = " + toml_string(partner_id) +
                    "\ndomain = " + toml_string(partner.domain) + "\nidms_url = " + http +
                    "\ncms_url = " + http +
                    "\nsip = " + toml_string(loopback(partner.interconnect_port)) + "\n";
        }
        options.extra_toml = toml;
        m.system = McSystem::start(options, m.dir);
    }

    // A system with a CA of its own cannot fetch its partners' keys, nor they its: the fetches
    // are over mutual TLS (docs/security.md, "Partner trust over TLS").
    const bool any_own_ca = std::any_of(specs_.begin(), specs_.end(),
                                        [](const auto& entry) { return entry.second.own_ca; });
    if (wait_for_keys_ && !any_own_ca) {
        for (const auto& id : ids_) {
            const auto& system = *systems->members_.at(id).system;
            if (!system.wait_for_partner_keys()) {
                const auto status = system.status();
                throw std::runtime_error(
                    "MC system " + id + " does not know its partners' IdMS keys: " +
                    (status.is_object() ? status.value("partner_idms_keys", Json()) : status)
                        .dump() +
                    "; see " + system.log_path());
            }
        }
    }
    return systems;
}

}  // namespace mcx::test
