// One MC system (real mcxd) and real `mcx client` processes: the on-network private call of
// TS 23.379 10.7.2.2 with automatic and manual commencement, media through the server.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "harness.hpp"

namespace mcx::test {
namespace {

class PrivateCall : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test_output_dir();
        McSystem::Options options;
        options.users = {{"alice", "alice-pw", {"bob"}}, {"bob", "bob-pw", {"*"}}};
        system_ = McSystem::start(options, dir_);
        alice_ = ClientProcess::start(*system_, "alice", "alice-pw");
        bob_ = ClientProcess::start(*system_, "bob", "bob-pw");
        ASSERT_TRUE(alice_->wait("registered")) << "alice did not register";
        ASSERT_TRUE(bob_->wait("registered")) << "bob did not register";
    }

    std::string dir_;
    std::unique_ptr<McSystem> system_;
    std::unique_ptr<ClientProcess> alice_;
    std::unique_ptr<ClientProcess> bob_;
};

std::uint64_t rtp_received(ClientProcess& client) {
    auto status = client.status();
    if (!status || (*status)["calls"].empty()) return 0;
    return (*status)["calls"][0]["rtp_received"].get<std::uint64_t>();
}

// Without floor control (TS 24.379 11.1.2) both parties may send at once.
TEST_F(PrivateCall, AutomaticCommencementRelaysRtpBothWaysAndReleasesBoth) {
    alice_->send("call bob --full-duplex");
    auto alice_connected = alice_->wait("connected");
    auto bob_connected = bob_->wait("connected");
    ASSERT_TRUE(alice_connected) << "alice not connected";
    ASSERT_TRUE(bob_connected) << "bob not connected";
    EXPECT_EQ((*bob_connected)["peer"], system_->uri("alice"));
    EXPECT_EQ((*alice_connected)["peer"], system_->uri("bob"));

    auto status = system_->status();
    ASSERT_EQ(status["active_calls"], 1);
    EXPECT_EQ(status["calls"][0]["state"], "connected");
    EXPECT_EQ(status["calls"][0]["floor"], "none");

    alice_->send("send-rtp 1 50");
    bob_->send("send-rtp 1 50");  // 50 packets at 20 ms: 1 s each way
    EXPECT_TRUE(eventually([&] { return rtp_received(*bob_) >= 48; }, 5s))
        << "alice's RTP did not reach bob through mcxd: " << rtp_received(*bob_);
    EXPECT_TRUE(eventually([&] { return rtp_received(*alice_) >= 48; }, 5s))
        << "bob's RTP did not reach alice through mcxd: " << rtp_received(*alice_);
    const auto relayed = [&] { return system_->status()["calls"][0]["relayed_packets"]; };
    EXPECT_TRUE(eventually([&] { return relayed() >= 96; }, 5s)) << relayed();

    alice_->send("hangup");
    auto alice_released = alice_->wait("released");
    auto bob_released = bob_->wait("released");
    ASSERT_TRUE(alice_released && bob_released);
    EXPECT_EQ((*alice_released)["by"], "local");
    EXPECT_EQ((*bob_released)["by"], "remote");
    EXPECT_TRUE(eventually([&] { return system_->status()["active_calls"] == 0; }, 5s))
        << system_->status().dump();
    status = system_->status();
    EXPECT_EQ(status["counters"]["calls_connected"], 1);
    EXPECT_EQ(status["counters"]["calls_released"], 1);
}

TEST_F(PrivateCall, ManualCommencementRejectedThenAccepted) {
    alice_->send("call bob --manual");
    ASSERT_TRUE(bob_->wait("incoming")) << "bob's client did not alert its user";
    ASSERT_TRUE(alice_->wait("ringing")) << "alice did not hear ringing (180)";
    bob_->send("reject");
    auto refused = alice_->wait("released");
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["status"], 480);
    EXPECT_EQ((*refused)["warning"], 110) << refused->dump();
    EXPECT_NE((*refused)["reason"].get<std::string>().find("declined"), std::string::npos);

    alice_->send("call bob --manual");
    auto incoming = bob_->wait("incoming");
    ASSERT_TRUE(incoming);
    bob_->send("accept " + std::to_string((*incoming)["call"].get<int>()));
    ASSERT_TRUE(alice_->wait("connected"));
    ASSERT_TRUE(bob_->wait("connected"));
    // The callee ends this one: BYE from either side ends both legs.
    bob_->send("hangup");
    auto alice_released = alice_->wait("released");
    ASSERT_TRUE(alice_released);
    EXPECT_EQ((*alice_released)["by"], "remote");
    EXPECT_TRUE(eventually([&] { return system_->status()["active_calls"] == 0; }, 5s))
        << system_->status().dump();
}

TEST_F(PrivateCall, CallerCancelsWhileCalleeRings) {
    alice_->send("call bob --manual");
    ASSERT_TRUE(bob_->wait("incoming"));
    alice_->send("hangup");
    auto bob_released = bob_->wait("released");
    ASSERT_TRUE(bob_released);
    EXPECT_EQ((*bob_released)["reason"], "cancelled by caller");
    EXPECT_TRUE(eventually([&] { return system_->status()["active_calls"] == 0; }, 5s))
        << system_->status().dump();
}

TEST_F(PrivateCall, ServerShutdownReleasesActiveCallsCleanly) {
    alice_->send("call bob");
    ASSERT_TRUE(alice_->wait("connected"));
    ASSERT_TRUE(bob_->wait("connected"));
    EXPECT_EQ(system_->stop(), 0) << "mcxd must exit cleanly on SIGTERM with a call up";
    auto alice_released = alice_->wait("released");
    auto bob_released = bob_->wait("released");
    ASSERT_TRUE(alice_released && bob_released) << "the server's BYEs did not arrive";
    EXPECT_EQ((*alice_released)["by"], "remote");
    EXPECT_EQ((*bob_released)["by"], "remote");
}

// tshark reads the pcap mcxd wrote: every frame is SIP, none malformed, and the INVITE
// carries the mcptt-info body.
TEST_F(PrivateCall, PcapDecodesAsSipInTshark) {
    if (!have_tshark()) GTEST_SKIP() << "tshark not installed";
    alice_->send("call bob");
    ASSERT_TRUE(alice_->wait("connected"));
    alice_->send("hangup");
    ASSERT_TRUE(bob_->wait("released"));
    alice_.reset();
    bob_.reset();
    system_->stop();
    const auto pcap = system_->pcap_path();
    const auto check = check_sip_pcap(pcap);
    EXPECT_GT(check.frames, 10);
    EXPECT_EQ(check.sip + check.floor, check.frames) << "every frame is SIP or floor control";
    EXPECT_GT(check.floor, 0) << "the floor control messages are in the pcap";
    EXPECT_EQ(check.malformed, 0);
    const auto invite_parts = command_output("tshark -r " + pcap +
                                             " -Y 'sip.Method == \"INVITE\"' -T fields -e "
                                             "mime_multipart.header.content-type 2>/dev/null");
    EXPECT_NE(invite_parts.find("application/vnd.3gpp.mcptt-info+xml"), std::string::npos)
        << invite_parts;
    EXPECT_NE(invite_parts.find("application/resource-lists+xml"), std::string::npos)
        << invite_parts;
}

}  // namespace
}  // namespace mcx::test

namespace mcx::test {
namespace {

// [mcx-defined] A call with no media and no floor control for the inactivity period ends.
TEST(PrivateCallInactivity, SilentCallIsReleasedOnBothLegs) {
    McSystem::Options options;
    options.inactivity_seconds = 1;
    auto [system, alice, bob] = start_alice_and_bob(options);
    alice->send("call bob --full-duplex");
    ASSERT_TRUE(alice->wait("connected"));
    auto a = alice->wait("released", 5s);
    auto b = bob->wait("released", 5s);
    ASSERT_TRUE(a && b) << "the silent call was kept";
    EXPECT_EQ((*a)["by"], "remote");
    EXPECT_EQ(system->status()["active_calls"], 0);
}

}  // namespace
}  // namespace mcx::test

namespace mcx::test {
namespace {

// The INVITE to a local callee over UDP leaves from the main SIP port, the port the callee
// registered to, with [sip] leg_thread (the default: the leg thread speaks through the main port,
// net/leg_port_share.hpp) and without it. The call works either way.
class CalleeLegPort : public ::testing::TestWithParam<bool> {};

TEST_P(CalleeLegPort, InviteToCalleeLeavesFromTheConfiguredStack) {
    if (!have_tshark()) GTEST_SKIP() << "tshark not installed";
    const bool leg_thread = GetParam();
    McSystem::Options options;
    options.client_tls = false;  // the leg thread serves callees on UDP; TLS ones keep their flow
    options.extra_toml = std::string("[sip]\nleg_thread = ") + (leg_thread ? "true" : "false");
    auto [system, alice, bob] = start_alice_and_bob(options);
    ASSERT_EQ(system->sip_legs().has_value(), leg_thread);
    alice->send("call bob");
    ASSERT_TRUE(alice->wait("connected"));
    ASSERT_TRUE(bob->wait("connected"));
    bob->send("hangup");  // a BYE from the callee's side reaches the leg's stack
    ASSERT_TRUE(alice->wait("released"));
    ASSERT_TRUE(bob->wait("released"));
    EXPECT_TRUE(eventually([&] { return system->status()["active_calls"] == 0; }, 5s))
        << system->status().dump();
    system->stop();

    // Source ports of the INVITEs in mcxd's pcap: alice's (to mcxd), then mcxd's (to bob).
    const auto ports = command_output("tshark -r " + system->pcap_path() +
                                      " -Y 'sip.Method == \"INVITE\"' -T fields -e udp.srcport "
                                      "2>/dev/null");
    std::vector<std::uint16_t> sources;
    std::istringstream lines(ports);
    for (int port = 0; lines >> port;) sources.push_back(static_cast<std::uint16_t>(port));
    const auto expected = system->sip().port;
    EXPECT_EQ(std::count(sources.begin(), sources.end(), expected), 1)
        << "INVITE source ports: " << ports << " expected " << expected;
    if (leg_thread) {
        EXPECT_EQ(std::find(sources.begin(), sources.end(), system->sip_legs()->port),
                  sources.end())
            << "an INVITE left from the leg thread's own port: " << ports;
    }
}

INSTANTIATE_TEST_SUITE_P(LegThreadOnAndOff, CalleeLegPort, ::testing::Bool());

// Issue 17 item 3: bob registers from a connected UDP socket (the kernel drops datagrams from
// any address but mcxd's SIP port, as a port-restricted NAT does). alice's call reaches him at
// once, his 486 reaches mcxd's transaction (it ACKs it to the same socket) and alice hears 486.
class ConnectedUdpCallee : public ::testing::TestWithParam<bool> {};

TEST_P(ConnectedUdpCallee, IsCalledAtOnceAndHisAnswerIsHeard) {
    const bool leg_thread = GetParam();
    McSystem::Options options;
    options.client_tls = false;
    options.users = {{"alice", "pw-a", {"*"}}, {"bob", "pw-b", {"*"}}};
    options.extra_toml = std::string("[sip]\nleg_thread = ") + (leg_thread ? "true" : "false");
    auto system = McSystem::start(options, test_output_dir());
    RawSipSocket bob;
    bob.connect_to(system->sip());
    const std::string client_id = "urn:uuid:00000000-0000-4000-8000-0000000000b0";
    const auto token = system->token("bob", "pw-b", client_id);
    ASSERT_FALSE(token.empty());
    auto reg = udp_client_register("bob", bob.port());
    reg.access_token = token;
    reg.client_id = client_id;
    reg.tag = "bob-reg-1";
    bob.send(system->sip(), build_register(*system, reg));
    ASSERT_EQ(status_of(bob.receive_final()), 200) << "bob's REGISTER";

    auto alice = ClientProcess::start(*system, "alice", "pw-a");
    ASSERT_TRUE(alice->wait("registered"));
    alice->send("call bob");
    const auto [invite, from] = bob.receive_request("INVITE", 3s);
    ASSERT_FALSE(invite.empty()) << "the INVITE never reached bob's connected socket";
    EXPECT_EQ(from, system->sip());
    EXPECT_NE(header_of(invite, "Contact").find(system->sip().to_string()), std::string::npos)
        << "in-dialog requests would miss bob's flow: " << header_of(invite, "Contact");
    bob.send(system->sip(), response_to(invite, 486, "Busy Here", "bob-tag", "", "", ""));
    EXPECT_FALSE(bob.receive_request("ACK", 3s).first.empty()) << "mcxd did not ACK bob's 486";
    auto released = alice->wait("released", 5s);
    ASSERT_TRUE(released) << "alice did not hear bob's answer";
    EXPECT_EQ((*released)["status"], 486);
}

INSTANTIATE_TEST_SUITE_P(LegThreadOnAndOff, ConnectedUdpCallee, ::testing::Bool());

}  // namespace
}  // namespace mcx::test
