#pragma once
// Several interconnected MC systems on 127.0.0.1 for integration tests: one mcxd per system,
// each configured with [interconnect] (mutual TLS, certificates made here) and a [[partners]]
// entry for every other system of the set (docs/interconnect.md, config/README.md).
//
//   auto systems = SystemsBuilder({"A", "B"})
//                      .users("A", {{.name = "alice", .password = "pw-a", .migrate_to = {"B"}}})
//                      .users("B", {{"carol", "pw-c"}})
//                      .start();
//   auto carol = ClientProcess::start(systems->system("B"), "carol", "pw-c");
//
// Every port (HTTP, SIP, interconnect TLS, partner HTTPS) is picked before any configuration is
// written, since each configuration names its partners' ports. start() returns once every system
// knows the IdMS keys of its partners. The processes stop with the Systems object.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace mcx::test {

class Systems {
  public:
    struct Member {
        std::string id;                       // "A"
        std::string domain;                   // "a.mcx"
        std::string dir;                      // its configuration, store, key, log and pcap
        std::uint16_t http_port = 0;          // IdMS and CMS
        std::uint16_t sip_port = 0;           // UDP and TCP, for its clients
        std::uint16_t interconnect_port = 0;  // SIP over TLS, for its partners
        std::uint16_t https_port = 0;         // IdMS key and CMS for its partners (mutual TLS)
        std::vector<UserSpec> users;
        std::unique_ptr<McSystem> system;
    };

    // The systems `ids`, every one a partner of every other, no users; as SystemsBuilder(ids).
    static std::unique_ptr<Systems> start(const std::vector<std::string>& ids);

    McSystem& system(const std::string& id) const;  // throws std::out_of_range
    McSystem& operator[](const std::string& id) const { return system(id); }
    const Member& member(const std::string& id) const;
    const std::vector<std::string>& ids() const { return ids_; }
    const std::string& domain(const std::string& id) const { return member(id).domain; }
    std::uint16_t interconnect_port(const std::string& id) const {
        return member(id).interconnect_port;
    }
    const std::string& dir() const { return dir_; }
    const std::string& certs_dir() const { return certs_; }  // the CA most systems share

    // Writes a client configuration for `name` of system `home` that lists every system of the
    // set ([client] user, password, home; one [[systems]] with id, domain, sip_server,
    // idms_url, cms_url each) and returns its path. The password is the one `home` was
    // configured with unless given.
    std::string write_client_config(const std::string& home, const std::string& name,
                                    const std::optional<std::string>& password = {}) const;
    // Where write_client_config puts it: <dir>/client-<name>-<home>.toml.
    std::string client_config_path(const std::string& home, const std::string& name) const;

    // A client of `name` (a user of `home`) that knows every system of the set: its
    // configuration is written as above with `extra_toml` appended (e.g. a [migration]
    // table), its log is <dir>/client-<name>.log.
    std::unique_ptr<ClientProcess> client(const std::string& home, const std::string& name,
                                          const std::string& extra_toml = {},
                                          const std::vector<std::string>& extra_args = {}) const;

    // Every running system knows the IdMS keys of all its partners.
    bool wait_for_partner_keys(std::chrono::milliseconds timeout = 5s) const;

  private:
    friend class SystemsBuilder;
    std::string dir_;
    std::string certs_;
    std::vector<std::string> ids_;
    std::map<std::string, Member> members_;
};

class SystemsBuilder {
  public:
    // Domains default to <lower-case id>.mcx; every system is a partner of every other.
    explicit SystemsBuilder(std::vector<std::string> ids);

    SystemsBuilder& domain(const std::string& id, std::string domain);
    SystemsBuilder& users(const std::string& id, std::vector<UserSpec> users);
    // Appended to that system's configuration (a [migration] table, [sip] keys, …) before the
    // [interconnect] and [[partners]] the builder writes.
    SystemsBuilder& extra_toml(const std::string& id, std::string toml);
    // Anything else of McSystem::Options (max_calls_per_user, inactivity_seconds, …); id,
    // domain, users and ports are the builder's.
    SystemsBuilder& configure(const std::string& id, std::function<void(McSystem::Options&)> edit);
    // `of` has no [[partners]] entry for `partner` (one direction only).
    SystemsBuilder& without_partner(const std::string& of, const std::string& partner);
    // Neither of `a` and `b` names the other.
    SystemsBuilder& without_pair(const std::string& a, const std::string& b);
    // `id` gets its certificate from a CA of its own, the only one it trusts; the others trust
    // the shared CA only, so TLS between `id` and them fails (SIP and the partner HTTPS: start()
    // then does not wait for partner keys).
    SystemsBuilder& own_ca(const std::string& id);
    SystemsBuilder& interconnect_timeout(std::uint32_t seconds);  // default 2
    // Whether start() waits until every system knows its partners' keys (default true).
    SystemsBuilder& wait_for_partner_keys(bool wait);

    // Makes the certificates, picks the ports, writes the configurations into <dir>/<id in
    // lower case>/ (dir: test_output_dir() when empty), starts every mcxd and waits for the
    // partner keys. Throws std::runtime_error naming the system when something fails; the
    // systems already started are stopped then.
    std::unique_ptr<Systems> start(std::string dir = {}) const;

  private:
    struct Spec {
        std::string domain;
        std::vector<UserSpec> users;
        std::string extra_toml;
        std::function<void(McSystem::Options&)> edit;
        bool own_ca = false;
    };
    Spec& spec(const std::string& id);

    std::vector<std::string> ids_;
    std::map<std::string, Spec> specs_;
    std::set<std::pair<std::string, std::string>> missing_;  // (of, partner)
    std::uint32_t interconnect_timeout_ = 2;
    bool wait_for_keys_ = true;
};

// `count` distinct ports that were free for both TCP and UDP on 127.0.0.1 when picked (all
// held until the last is found, so none is handed out twice).
std::vector<std::uint16_t> free_ports(std::size_t count);

}  // namespace mcx::test
