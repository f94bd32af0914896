// SIP access for users (issue 16 item 1, docs/security.md "SIP access"): SIP over TLS for
// clients, UDP turned off by [sip] udp_access = false, and requests of a user taken only on the
// connection (flow) the user registered on.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "harness.hpp"
#include "idms/certificates.hpp"

namespace mcx::test {
namespace {

namespace fs = std::filesystem;

// The MCPTT client ID of the n-th raw client; its token must be issued to it.
std::string raw_client_id(int n) {
    return "urn:uuid:00000000-0000-4000-8000-00000000000" + std::to_string(n % 10);
}

std::string register_as(const McSystem& system, const std::string& user, const std::string& token,
                        const std::string& via, int n) {
    return build_register(system, {.user = user,
                                   .access_token = token,
                                   .client_id = raw_client_id(n),
                                   .via = via,
                                   .contact = "<sip:" + user + "@127.0.0.1:9;transport=tls>",
                                   .tag = "reg" + std::to_string(n)});
}

// A TLS connection of its own to `to` (openssl s_client), checking the server's certificate.
class TlsConnection {
  public:
    TlsConnection(const net::Endpoint& to, const std::string& ca) {
        auto child = ChildProcess::spawn({"/usr/bin/openssl", "s_client", "-quiet", "-connect",
                                          to.to_string(), "-CAfile", ca, "-verify_return_error",
                                          "-verify_ip", to.host});
        if (!child) throw std::runtime_error(child.error().reason);
        process_ = std::move(*child);
    }
    ~TlsConnection() { process_.stop(std::chrono::seconds(1)); }
    void send(const std::string& message) { process_.write_line(message); }
    // The status line of the next final response; empty on timeout.
    std::string final_status(std::chrono::milliseconds timeout = 3s) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            auto line = process_.read_line(std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now()));
            if (!line) return {};
            if (line->starts_with("SIP/2.0 ") && !line->starts_with("SIP/2.0 1")) {
                if (!line->empty() && line->back() == '\r') line->pop_back();
                return *line;
            }
        }
        return {};
    }
    void close() { process_.stop(std::chrono::seconds(1)); }

  private:
    ChildProcess process_;
};

McSystem::Options tls_only() {
    McSystem::Options options;
    options.client_tls = true;
    options.extra_toml = "[sip]\nudp_access = false\ntcp_access = false\n";
    return options;
}

TEST(SipAccess, ClientsRegisterAndCallOverTls) {
    auto run = start_alice_and_bob(tls_only());
    ASSERT_TRUE(run.system->sip_tls());
    run.alice->send("call bob");
    ASSERT_TRUE(run.bob->wait("connected")) << "see " << run.system->log_path();
    ASSERT_TRUE(run.alice->wait("connected"));
    // In-dialog requests travel on the clients' connections too (the server connects to no
    // client): bob hangs up, alice is told.
    run.bob->send("hangup");
    EXPECT_TRUE(run.alice->wait("released"));
    // The SIP of the TLS connections is in mcxd's pcap as clear text.
    const auto check = check_sip_pcap(run.system->pcap_path());
    EXPECT_GT(check.sip, 4);
    EXPECT_EQ(check.malformed, 0);
}

TEST(SipAccess, UdpTurnedOffRefusesRegisterAndSpoofedInvite) {
    auto run = start_alice_and_bob(tls_only());
    RawSipSocket udp;
    const auto udp_via = "UDP 127.0.0.1:" + std::to_string(udp.port()) + ";rport";
    udp.send(run.system->sip(),
             register_as(*run.system, "alice", run.system->token("alice", "pw-a", raw_client_id(1)),
                         udp_via, 1));
    const auto registered = udp.receive_final();
    EXPECT_EQ(status_of(registered), 403) << registered;
    EXPECT_NE(header_of(registered, "Warning").find("udp is not accepted"), std::string::npos)
        << registered;
    udp.send(run.system->sip(), alice_calls_bob_invite(*run.system, udp_via, 2));
    const auto invited = udp.receive_final();
    EXPECT_EQ(status_of(invited), 403) << invited;
    EXPECT_FALSE(run.bob->wait("connected", 1s)) << "the spoofed INVITE reached bob";
}

TEST(SipAccess, InviteFromAnotherTlsConnectionIsRefused) {
    auto run = start_alice_and_bob(tls_only());
    // alice is registered on her client's connection; this one names her in From.
    TlsConnection other(*run.system->sip_tls(), run.system->client_ca());
    other.send(alice_calls_bob_invite(*run.system, "TLS 127.0.0.1:9", 3));
    const auto status = other.final_status();
    EXPECT_TRUE(status.starts_with("SIP/2.0 403")) << status;
    EXPECT_FALSE(run.bob->wait("connected", 1s)) << "an INVITE from another connection reached bob";
    // alice's own connection still places calls.
    run.alice->send("call bob");
    EXPECT_TRUE(run.bob->wait("connected"));
}

TEST(SipAccess, RegistrationEndsWithItsConnection) {
    McSystem::Options options = tls_only();
    options.users = {{"alice", "pw-a", {"*"}}, {"carol", "pw-c", {"*"}}};
    auto system = McSystem::start(options, test_output_dir());
    {
        TlsConnection carol(*system->sip_tls(), system->client_ca());
        carol.send(register_as(*system, "carol", system->token("carol", "pw-c", raw_client_id(4)),
                               "TLS 127.0.0.1:9", 4));
        ASSERT_TRUE(carol.final_status().starts_with("SIP/2.0 200"));
        auto alice = ClientProcess::start(*system, "alice", "pw-a");
        ASSERT_TRUE(alice->wait("registered"));
        carol.close();
        // carol's binding went with her connection: alice's call fails at once (480), it does
        // not wait for an INVITE to a connection that is gone.
        std::this_thread::sleep_for(300ms);
        alice->send("call carol");
        auto failed = alice->wait("released", 3s);
        ASSERT_TRUE(failed) << "see " << system->log_path();
        EXPECT_EQ((*failed)["status"], 480) << failed->dump();
    }
}

TEST(SipAccess, ClientRefusesAServerCertificateOfAnotherCa) {
    McSystem::Options options = tls_only();
    options.users = {{"alice", "pw-a", {"*"}}};
    auto system = McSystem::start(options, test_output_dir());
    const auto dir = fs::path(system->log_path()).parent_path();
    const auto other = (dir / "other-ca").string();
    ASSERT_TRUE(idms::write_interconnect_certificates(other, {"X"}));
    const auto config = (dir / "client-wrong-ca.toml").string();
    std::ofstream(config) << "[client]\nuser = " << toml_string(system->uri("alice"))
                          << "\npassword = \"pw-a\"\nsip_server = "
                          << toml_string(system->client_sip().to_string())
                          << "\nidms_url = " << toml_string(system->http_url())
                          << "\ntransport = \"tls\"\nca_file = " << toml_string(other + "/ca.pem")
                          << "\n";
    auto mallory =
        ClientProcess::start_with_config(config, "alice", (dir / "client-wrong-ca.log").string());
    EXPECT_FALSE(mallory->wait("registered", 3s));
}

}  // namespace
}  // namespace mcx::test
