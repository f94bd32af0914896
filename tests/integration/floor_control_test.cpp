// Floor control in a private call (TS 24.380) between real mcx clients through a real mcxd:
// the caller's implicit request is granted, the callee sees Floor Taken with the caller's
// identity, the callee's request is queued (or denied without queueing), and Floor Idle reaches
// both after the last release. Only the holder's RTP crosses the server.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace mcx::test {
namespace {

struct FloorControl : ::testing::Test {
    void start(const std::vector<std::string>& bob_args) {
        McSystem::Options options;
        options.users = {{"alice", "pw-a", {"*"}}, {"bob", "pw-b", {"*"}}};
        system = McSystem::start(options, test_output_dir());
        alice = ClientProcess::start(*system, "alice", "pw-a");
        bob = ClientProcess::start(*system, "bob", "pw-b", bob_args);
        ASSERT_TRUE(alice->wait("registered"));
        ASSERT_TRUE(bob->wait("registered"));
        alice->send("call bob");
        ASSERT_TRUE(alice->wait("connected"));
        ASSERT_TRUE(bob->wait("connected"));
    }

    std::uint64_t received(ClientProcess& client) {
        auto status = client.status();
        return status && !(*status)["calls"].empty()
                   ? (*status)["calls"][0]["rtp_received"].get<std::uint64_t>()
                   : 0;
    }

    std::unique_ptr<McSystem> system;
    std::unique_ptr<ClientProcess> alice;
    std::unique_ptr<ClientProcess> bob;
};

TEST_F(FloorControl, ImplicitGrantTakenQueuedThenGrantedAndIdleAtTheEnd) {
    start({});
    // The INVITE was alice's floor request (mc_implicit_request).
    ASSERT_TRUE(alice->wait("floor-granted")) << "alice was not granted the floor";
    auto taken = bob->wait("floor-taken");
    ASSERT_TRUE(taken);
    EXPECT_EQ((*taken)["talker"], system->uri("alice"));
    EXPECT_EQ(system->status()["calls"][0]["floor"], "G: Floor Taken");
    EXPECT_EQ(system->status()["calls"][0]["floor_holder"], system->uri("alice"));

    // Only the holder talks: bob's client refuses, alice's RTP reaches bob.
    bob->send("send-rtp 1 10");
    auto refused = bob->wait("error");
    ASSERT_TRUE(refused);
    EXPECT_NE((*refused)["reason"].get<std::string>().find("permission"), std::string::npos);
    alice->send("send-rtp 1 25");
    EXPECT_TRUE(eventually([&] { return received(*bob) >= 24; }, 5s)) << received(*bob);

    // Both offered mc_queueing: bob's request waits in the queue...
    bob->send("ptt");
    auto queued = bob->wait("floor-queued");
    ASSERT_TRUE(queued) << "bob's request was not queued";
    EXPECT_EQ((*queued)["position"], 1);
    // ...and is granted when alice releases.
    alice->send("release");
    ASSERT_TRUE(bob->wait("floor-granted")) << "queued request not granted on release";
    auto alice_sees = alice->wait("floor-taken");
    ASSERT_TRUE(alice_sees);
    EXPECT_EQ((*alice_sees)["talker"], system->uri("bob"));
    bob->send("send-rtp 1 25");
    EXPECT_TRUE(eventually([&] { return received(*alice) >= 24; }, 5s)) << received(*alice);

    bob->send("release");
    EXPECT_TRUE(bob->wait("floor-idle"));
    EXPECT_TRUE(alice->wait("floor-idle"));
    EXPECT_EQ(system->status()["calls"][0]["floor"], "G: Floor Idle");
    alice->send("hangup");
    EXPECT_TRUE(bob->wait("released"));
}

TEST_F(FloorControl, RequestWithoutQueueingIsDenied) {
    start({"--no-floor-queueing"});
    ASSERT_TRUE(alice->wait("floor-granted"));
    ASSERT_TRUE(bob->wait("floor-taken"));
    bob->send("ptt");
    auto denied = bob->wait("floor-denied");
    ASSERT_TRUE(denied) << "bob's request was not denied";
    EXPECT_EQ((*denied)["cause"], 1);  // TS 24.380 8.2.6.2: another MCPTT client has permission
    alice->send("release");
    EXPECT_TRUE(alice->wait("floor-idle"));
    EXPECT_TRUE(bob->wait("floor-idle"));
    bob->send("ptt");
    EXPECT_TRUE(bob->wait("floor-granted"));
    auto taken = alice->wait("floor-taken");
    ASSERT_TRUE(taken);
    EXPECT_EQ((*taken)["talker"], system->uri("bob"));
}

}  // namespace
}  // namespace mcx::test
