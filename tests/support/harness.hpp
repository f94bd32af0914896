#pragma once
// Integration-test support: real mcxd and `mcx client` processes on 127.0.0.1 with ports
// picked at run time, stopped when the test ends (also when it fails).

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/process.hpp"
#include "net/endpoint.hpp"
#include "net/http.hpp"
#include "test_support.hpp"

namespace mcx::test {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// A fresh directory under build/test-out/<suite>.<test>/ that stays for inspection.
std::string test_output_dir();

struct UserSpec {
    std::string name;  // "alice" -> sip:alice@<domain>
    std::string password;
    std::vector<std::string> targets = {"*"};
    bool private_call = true;
    bool may_be_called = true;
    std::vector<std::string> migrate_to = {};
};

// A user who may call anyone and migrate to `migrate_to` (the migration tests' users).
inline UserSpec user(const std::string& name, const std::string& password,
                     std::vector<std::string> migrate_to = {}) {
    UserSpec u;
    u.name = name;
    u.password = password;
    u.migrate_to = std::move(migrate_to);
    return u;
}

// `s` as a TOML basic string, quotes included.
std::string toml_string(const std::string& s);

// A TCP port free at the time of the call (for configurations that must name each other).
std::uint16_t free_tcp_port();
std::uint16_t free_udp_port();

// Clients use SIP over TLS unless the environment says MCX_TEST_TRANSPORT=udp (issue 16: the
// tests about calls use TLS by default, and run once more over UDP).
bool default_client_tls();

class McSystem {
  public:
    struct Options {
        std::string id = "A";
        std::string domain = "a.mcx";
        std::vector<UserSpec> users;
        std::uint32_t max_calls_per_user = 4;
        std::uint16_t http_port = 0;  // 0: any
        // 0: any. Written as `[sip] port`, into extra_toml's own [sip] table if it has one.
        std::uint16_t sip_port = 0;
        std::uint32_t inactivity_seconds = 120;
        std::string extra_toml;  // appended to the generated configuration
        // Clients reach mcxd over SIP over TLS ([sip] tls_port); default: yes, unless the
        // environment's MCX_TEST_TRANSPORT=udp (the call suites run once per transport).
        bool client_tls = default_client_tls();
        std::uint16_t tls_port = 0;   // 0: any
        std::string tls_certificate;  // PEM chain + key; empty: made in the test directory
        std::string tls_ca;           // the CA clients trust for it (with tls_certificate)
        std::string idms_toml;        // more keys of the generated [idms] table ("login_... = 3\n")
        std::string http_toml;        // more keys of the generated [http] table, as idms_toml
        bool pcap = true;             // --pcap system-<id>.pcap (off for floods: gigabytes)
    };
    // Starts mcxd with a generated config and --pcap; waits for its ready line.
    static std::unique_ptr<McSystem> start(const Options& options, const std::string& dir);
    ~McSystem();
    McSystem(const McSystem&) = delete;
    McSystem& operator=(const McSystem&) = delete;

    const std::string& id() const { return options_.id; }
    const net::Endpoint& sip() const { return sip_; }
    // The clients' TLS listener (ready line "sip_tls"); nullopt without [sip] tls_port.
    const std::optional<net::Endpoint>& sip_tls() const { return sip_tls_; }
    // Where its clients send SIP: the TLS listener when clients use TLS, else sip().
    const net::Endpoint& client_sip() const { return sip_tls_ ? *sip_tls_ : sip_; }
    const std::string& client_ca() const { return options_.tls_ca; }
    bool client_tls() const { return options_.client_tls; }
    // The TLS listener for partner systems (ready line); nullopt without [interconnect].
    const std::optional<net::Endpoint>& interconnect() const { return interconnect_; }
    // Where INVITEs to local users leave from ([sip] leg_thread); nullopt without a leg thread.
    const std::optional<net::Endpoint>& sip_legs() const { return sip_legs_; }
    const net::Endpoint& http() const { return http_; }
    std::string http_url() const { return "http://" + http_.to_string(); }
    // The partner HTTPS listener (ready line "https", [interconnect] https_port); nullopt
    // without one.
    const std::optional<net::Endpoint>& https() const { return https_; }
    const std::string& domain() const { return options_.domain; }
    const std::string& pcap_path() const { return pcap_; }  // of the current run (see restart)
    const std::string& log_path() const { return log_; }
    const std::string& config_path() const { return config_; }
    std::string key_path() const;  // the IdMS signing key file
    pid_t pid() const { return process_.pid(); }
    std::string uri(const std::string& name) const { return "sip:" + name + "@" + options_.domain; }

    // The administrator every generated configuration has (private calls off), for the admin
    // and monitoring API: mcxd is logged in once per start with scope mcx-admin.
    static constexpr const char* kAdminName = "mcx-admin";
    static constexpr const char* kAdminPassword = "mcx-admin-pw";
    // GET /status with the administrator's token (logged in again once when refused with 401,
    // e.g. after the token expired); null when mcxd does not answer 200.
    Json status() const;
    // GET `path` (e.g. "/metrics") with the administrator's token, the same way.
    std::optional<net::HttpResponse> admin_get(const std::string& path) const;
    // The administrator's current token ("" when mcxd refused the login).
    std::string admin_token() const;
    // Waits until the keys of every partner IdMS are known (fetched at start, in the background).
    bool wait_for_partner_keys(std::chrono::milliseconds timeout = 5s) const;
    // A password-grant token; `client_id` is the MCPTT client ID it is bound to (a REGISTER
    // must carry the same one in <mcptt-client-id>).
    std::string token(const std::string& user, const std::string& password,
                      const std::string& client_id = {}) const;
    // POST /idms/token for scope=mcx-admin: the token, or "" when refused.
    std::string admin_login(const std::string& user, const std::string& password) const;
    int stop();  // SIGTERM; the exit status
    // SIGKILL, as a crash: no BYE, no store checkpoint. The exit status (-SIGKILL), or that of
    // an earlier stop.
    int kill();
    bool running();
    // Stops mcxd if it runs (SIGTERM) and starts it again on the same configuration, store,
    // IdMS key, SIP and HTTP ports (the interconnect port too when the configuration names it,
    // as Systems does; the leg thread's port is new). The log is continued; the pcap of run n > 1
    // is system-<id>.run<n>.pcap. Waits for the ready line; throws when mcxd does not start.
    void restart();

  private:
    McSystem() = default;
    void write_config() const;
    void launch();

    Options options_;
    ChildProcess process_;
    net::Endpoint sip_;
    std::optional<net::Endpoint> sip_legs_;
    std::optional<net::Endpoint> sip_tls_;
    std::optional<net::Endpoint> interconnect_;
    std::optional<net::Endpoint> https_;
    net::Endpoint http_;
    std::string dir_;
    std::string pcap_;
    std::string log_;
    std::string config_;
    int runs_ = 0;
    mutable std::mutex admin_mutex_;
    mutable std::string admin_token_;
};

// `mcx client --script -` driven over stdin; its JSON events are read from stdout.
class ClientProcess {
  public:
    static std::unique_ptr<ClientProcess> start(const McSystem& system, const std::string& name,
                                                const std::string& password,
                                                const std::vector<std::string>& extra_args = {});
    // `mcx client --config FILE --script -`; its log goes to `log`.
    static std::unique_ptr<ClientProcess> start_with_config(
        const std::string& config, const std::string& name, const std::string& log,
        const std::vector<std::string>& extra_args = {});
    ~ClientProcess();

    void send(const std::string& command);
    // First event (oldest first) matching `pred`; consumed. nullopt after `timeout`.
    std::optional<Json> wait(const std::function<bool(const Json&)>& pred,
                             std::chrono::milliseconds timeout = 5s);
    std::optional<Json> wait(const std::string& event, std::chrono::milliseconds timeout = 5s);
    // Sends "status" and returns the status event.
    std::optional<Json> status();
    // SIGSTOP / SIGCONT: a client that answers nothing for a while.
    void pause();
    void resume();
    const std::string& name() const { return name_; }

  private:
    ChildProcess process_;
    std::string name_;
    std::deque<Json> backlog_;
};

// mcxd with alice (password pw-a) and bob (pw-b), both allowed to call anyone unless
// `options.users` says otherwise, and both clients registered. Throws when that fails.
struct AliceAndBob {
    std::unique_ptr<McSystem> system;
    std::unique_ptr<ClientProcess> alice;
    std::unique_ptr<ClientProcess> bob;
};
AliceAndBob start_alice_and_bob(McSystem::Options options = {});

// POST /idms/token over a TCP connection from `source`, written by hand: net::http_post_form
// cannot choose the address it connects from. The status, or 0 when there is no answer.
int login_from(const std::string& source, const McSystem& system, const std::string& user,
               const std::string& password);

// A REGISTER as an MCPTT client sends it (TS 24.379 7.2.1: the access token and the MCPTT client
// ID in the mcptt-info body), for tests that speak SIP from a raw socket.
struct RawRegister {
    std::string user;  // registers sip:user@<the system's domain>
    std::string access_token;
    std::string client_id;
    std::string via;      // transport and sent-by, with any parameter: "UDP 127.0.0.1:5060;rport"
    std::string contact;  // the Contact value: "<sip:bob@127.0.0.1:5060>;+g.3gpp.mcptt"
    std::string tag;      // the branch (z9hG4bK-tag), the From tag and the Call-ID
    int expires = 600;
};
std::string build_register(const McSystem& system, const RawRegister& request);
// The Via (with rport) and Contact (with the MCPTT feature tag) of a client on UDP 127.0.0.1:port.
RawRegister udp_client_register(const std::string& user, std::uint16_t port);

// A SIP user agent written by hand for malformed and edge-case requests over UDP.
class RawSipSocket {
  public:
    RawSipSocket();
    ~RawSipSocket();
    std::uint16_t port() const { return port_; }
    // connect(2)s the socket: from then on the kernel drops datagrams from any other address
    // (a client behind a port-restricted NAT sees the same).
    void connect_to(const net::Endpoint& peer);
    void send(const net::Endpoint& to, const std::string& message);
    // Next final response (status >= 200), skipping provisional ones; empty on timeout.
    std::string receive_final(std::chrono::milliseconds timeout = 3s);
    // Next request of `method` and where it came from; empty on timeout.
    std::pair<std::string, net::Endpoint> receive_request(const std::string& method,
                                                          std::chrono::milliseconds timeout = 3s);

  private:
    std::optional<std::pair<std::string, net::Endpoint>> receive_matching(
        const std::function<bool(const std::string&)>& wanted, std::chrono::milliseconds timeout);
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// A private call INVITE from alice to bob of `system`, as a client sends it (SDP with audio and
// floor control, mcptt-info, resource-lists), for raw sockets; `via` is the Via's transport
// and sent-by ("UDP 127.0.0.1:9;rport"), `n` makes the branch, tag and Call-ID unique.
std::string alice_calls_bob_invite(const McSystem& system, const std::string& via, int n);

// tshark's reading of an mcxd pcap: frames in all, frames decoded as SIP, frames flagged
// malformed or with an error-level expert note, and floor control messages (RTCP APP "MCPT").
struct SipPcapCheck {
    int frames = 0;
    int sip = 0;
    int malformed = 0;
    int floor = 0;
};
SipPcapCheck check_sip_pcap(const std::string& pcap);

// Status code and a header of a raw SIP response.
int status_of(const std::string& response);
// A response to a raw request: its Via headers, From, To (with `to_tag`), Call-ID and CSeq.
std::string response_to(const std::string& request, int status, const std::string& reason,
                        const std::string& to_tag, const std::string& extra_headers,
                        const std::string& content_type, const std::string& body);
std::string header_of(const std::string& response, const std::string& name);

// mcxd on `config` for a start that must fail: its exit status (nullopt when it still ran after
// `timeout`; it is killed then), whether it printed its ready line, and what it said on stderr.
// `command_prefix` runs it under another program (prlimit, setpriv).
struct FailedStart {
    std::optional<int> status;
    bool ready = false;
    std::string stderr_text;
};
FailedStart start_mcxd_expecting_failure(const std::string& config, const std::string& log,
                                         const std::vector<std::string>& command_prefix = {},
                                         std::chrono::milliseconds timeout = 15s);

// A binary of this build (set by CMake).
std::string mcxd_binary();
std::string mcx_binary();
std::string source_dir();

}  // namespace mcx::test
