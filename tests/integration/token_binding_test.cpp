// Tokens bound and retired (issue 16 item 2), on a real mcxd: a token sniffed from the clear
// SIP of alice's REGISTER (mcxd's pcap: what an attacker on the path sees) and replayed from
// another port — with another client ID, or copied whole — is refused with 403 and warning
// 101 and her binding stays; so is her older token after a newer login of her client, her
// token within a second of `mcx admin user remove` run as another process, and her token
// after she logged out (RFC 7009 revocation).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "net/http.hpp"
#include "proto/mcptt_info.hpp"

namespace mcx::test {
namespace {

namespace fs = std::filesystem;

struct Sniffed {
    std::string token;
    std::string client_id;
};

// The mcptt-info of the last REGISTER for `aor` in the pcap (SIP is written in clear).
Sniffed sniff_register(const std::string& pcap, const std::string& aor) {
    std::ifstream in(pcap, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const auto data = buffer.str();
    Sniffed found;
    for (auto at = data.find("REGISTER sip:"); at != std::string::npos;
         at = data.find("REGISTER sip:", at + 1)) {
        const auto head_end = data.find("\r\n\r\n", at);
        if (head_end == std::string::npos) break;
        if (data.substr(at, head_end - at).find("To: <" + aor + ">") == std::string::npos) {
            continue;
        }
        const auto open = data.find("<mcpttinfo", head_end);
        const auto close = data.find("</mcpttinfo>", head_end);
        if (open == std::string::npos || close == std::string::npos || close < open) continue;
        auto info = proto::parse_mcptt_info(data.substr(open, close + 12 - open));
        if (!info || !info->access_token) continue;
        found = {*info->access_token, info->client_id.value_or("")};
    }
    return found;
}

class TokenBinding : public ::testing::Test {
  protected:
    void SetUp() override {
        McSystem::Options options;
        options.users = {{"alice", "pw-a", {"*"}}, {"bob", "pw-b", {"*"}}};
        system_ = McSystem::start(options, test_output_dir());
    }

    std::unique_ptr<ClientProcess> client(const std::string& name, const std::string& password,
                                          const std::vector<std::string>& args = {}) {
        auto c = ClientProcess::start(*system_, name, password, args);
        EXPECT_TRUE(c->wait("registered")) << name << " did not register";
        return c;
    }

    // alice's client with a fixed MCPTT client ID (a configuration file names it).
    std::unique_ptr<ClientProcess> alice_with_client_id(const std::string& client_id,
                                                        const std::string& tag) {
        const auto dir = fs::path(system_->log_path()).parent_path();
        const auto config = dir / ("client-alice-" + tag + ".toml");
        std::ofstream(config) << "[client]\nclient_id = " << toml_string(client_id) << "\n";
        auto c = ClientProcess::start_with_config(
            config.string(), "alice", (dir / ("client-alice-" + tag + ".log")).string(),
            {"--user", system_->uri("alice"), "--password", "pw-a", "--sip-server",
             system_->sip().to_string(), "--idms-url", system_->http_url()});
        EXPECT_TRUE(c->wait("registered")) << "alice (" << tag << ") did not register";
        return c;
    }

    // A REGISTER for alice from the raw socket with this token and client ID; the response.
    std::string register_alice(const std::string& token, const std::string& client_id,
                               int expires = 600) {
        const auto n = std::to_string(++sequence_);
        auto request = udp_client_register("alice", thief_.port());
        request.access_token = token;
        request.client_id = client_id;
        request.tag = "thief-" + n;
        request.expires = expires;
        thief_.send(system_->sip(), build_register(*system_, request));
        for (;;) {
            auto response = thief_.receive_final();
            if (response.empty() || header_of(response, "Call-ID") == "thief-" + n) {
                return response;
            }
        }
    }

    // bob calls alice: her real client answers (automatic commencement), the thief hears
    // nothing.
    void bob_reaches_alice(ClientProcess& bob, ClientProcess& alice) {
        bob.send("call alice");
        auto connected = bob.wait("connected");
        ASSERT_TRUE(connected) << "bob's call did not connect";
        EXPECT_TRUE(alice.wait("connected")) << "the call did not reach alice's client";
        EXPECT_TRUE(thief_.receive_request("INVITE", 300ms).first.empty())
            << "the call rang the thief";
        bob.send("hangup");
        EXPECT_TRUE(alice.wait("released"));
    }

    static void expect_refused(const std::string& response, const std::string& why) {
        EXPECT_EQ(status_of(response), 403) << response;
        const auto warning = header_of(response, "Warning");
        EXPECT_NE(warning.find("\"101 service authorisation failed"), std::string::npos)
            << response;
        EXPECT_NE(warning.find(why), std::string::npos) << response;
    }

    std::unique_ptr<McSystem> system_;
    RawSipSocket thief_;
    int sequence_ = 0;
};

// (i) alice's token, sniffed, replayed from another port: with another client ID it names a
// client it was not issued to; copied whole (with her client ID) it is in use by her live
// registration. Both 403, her binding unchanged, bob's call rings her real client.
TEST_F(TokenBinding, ReplayedTokenFromAnotherPortIsRefusedAndBobStillReachesAlice) {
    auto alice = client("alice", "pw-a");
    auto bob = client("bob", "pw-b");
    const auto stolen = sniff_register(system_->pcap_path(), system_->uri("alice"));
    ASSERT_FALSE(stolen.token.empty()) << "no REGISTER of alice in " << system_->pcap_path();
    ASSERT_FALSE(stolen.client_id.empty());

    expect_refused(register_alice(stolen.token, "urn:uuid:00000000-0000-4000-8000-00000000dead"),
                   "access token was issued to client " + stolen.client_id);
    expect_refused(register_alice(stolen.token, stolen.client_id), "in use by the registration");
    expect_refused(register_alice(stolen.token, stolen.client_id, 0), "in use by the registration");
    EXPECT_EQ(system_->status()["registrations"], 2);
    EXPECT_EQ(system_->status()["counters"]["register_rejected"], 3);
    bob_reaches_alice(*bob, *alice);
}

// (ii) alice's client logs in again (a restart of her device, the same client ID): the new
// token is the only valid one; her older token, replayed, gets 403 and the binding made with
// the new one stays.
TEST_F(TokenBinding, OlderTokenOfTheSameClientAfterANewLoginIsRefused) {
    const std::string client_id = "urn:uuid:6f1c2a40-1d3e-4b7a-9c55-00000000a11c";
    auto first = alice_with_client_id(client_id, "first");
    const auto old = sniff_register(system_->pcap_path(), system_->uri("alice"));
    ASSERT_EQ(old.client_id, client_id);
    auto again = alice_with_client_id(client_id, "again");  // logs in, registers anew
    const auto current = sniff_register(system_->pcap_path(), system_->uri("alice"));
    ASSERT_NE(current.token, old.token);
    auto bob = client("bob", "pw-b");

    expect_refused(register_alice(old.token, client_id), "retired by a newer login");
    EXPECT_EQ(system_->status()["registrations"], 2);
    bob_reaches_alice(*bob, *again);
    EXPECT_FALSE(first->wait("incoming", 200ms));
}

// (iii) `mcx admin user remove alice`, a process of its own, while mcxd runs: within a second
// her token is refused, her registration is gone and her call ended.
TEST_F(TokenBinding, RemovedUsersTokenIsRefusedWithinOneSecond) {
    auto alice = client("alice", "pw-a");
    auto bob = client("bob", "pw-b");
    const auto stolen = sniff_register(system_->pcap_path(), system_->uri("alice"));
    ASSERT_FALSE(stolen.token.empty());
    bob->send("call alice");
    ASSERT_TRUE(bob->wait("connected"));
    ASSERT_TRUE(alice->wait("connected"));

    const auto dir = fs::path(system_->log_path()).parent_path();
    const auto cmd = mcx_binary() + " admin --config " + system_->config_path() + " user remove " +
                     system_->uri("alice") + " > " + (dir / "admin.out").string() + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "see " << (dir / "admin.out");
    const auto removed = std::chrono::steady_clock::now();

    std::string response;
    for (;;) {
        response = register_alice(stolen.token, stolen.client_id);
        const auto warning = header_of(response, "Warning");
        if (status_of(response) == 403 && warning.find("retired") != std::string::npos) break;
        ASSERT_LT(std::chrono::steady_clock::now() - removed, 1s)
            << "alice's token still taken 1 s after her removal: " << response;
        std::this_thread::sleep_for(20ms);
    }
    expect_refused(response, "the user was removed");
    const auto refused_after = std::chrono::steady_clock::now() - removed;
    std::cout << "refused "
              << std::chrono::duration_cast<std::chrono::milliseconds>(refused_after).count()
              << " ms after mcx admin user remove returned\n";
    for (;;) {
        if (system_->status()["registrations"] == 1) break;
        ASSERT_LT(std::chrono::steady_clock::now() - removed, 1s) << "her binding stayed";
        std::this_thread::sleep_for(20ms);
    }
    auto released = bob->wait("released", 1s);
    ASSERT_TRUE(released) << "her call went on";
    EXPECT_EQ((*released)["by"], "remote");
    bob->send("call alice");
    auto refused = bob->wait("released");
    ASSERT_TRUE(refused);
    EXPECT_NE((*refused)["status"], 200);
}

// (iv) logout: REGISTER Expires: 0, then the token revoked at the IdMS (RFC 7009); the token
// no longer registers. The revocation endpoint answers 200 for garbage (RFC 7009 2.2).
TEST_F(TokenBinding, LogoutRevokesTheTokenAndTheEndpointAnswers200ForGarbage) {
    auto alice = client("alice", "pw-a");
    auto bob = client("bob", "pw-b");
    const auto stolen = sniff_register(system_->pcap_path(), system_->uri("alice"));
    ASSERT_FALSE(stolen.token.empty());

    alice->send("logout");
    ASSERT_TRUE(alice->wait("unregistered"));
    auto out = alice->wait("logged-out");
    ASSERT_TRUE(out) << "no logged-out event";
    EXPECT_NE((*out)["reason"].get<std::string>().find("token revoked at"), std::string::npos)
        << *out;
    EXPECT_EQ(system_->status()["registrations"], 1);
    expect_refused(register_alice(stolen.token, stolen.client_id), "retired");
    EXPECT_EQ(system_->status()["registrations"], 1);

    const auto revoke = system_->http_url() + "/idms/revoke";
    auto garbage = net::http_post_form(revoke, {{"token", "garbage"}}, 3s);
    ASSERT_TRUE(garbage);
    EXPECT_EQ(garbage->status, 200);
    auto again = net::http_post_form(
        revoke, {{"token", stolen.token}, {"token_type_hint", "access_token"}}, 3s);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
    auto missing = net::http_post_form(revoke, {{"token_type_hint", "access_token"}}, 3s);
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 400);
    EXPECT_NE(missing->body.find("invalid_request"), std::string::npos);
}

}  // namespace
}  // namespace mcx::test
