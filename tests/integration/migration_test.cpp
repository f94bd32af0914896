// Migration during ongoing private calls (TS 23.280 10.16.3, issue 14) with real mcxd processes
// and real `mcx client`s on 127.0.0.1: the client releases its calls and keeps them suspended,
// authenticates at the target's IdMS, registers there, retrieves the profile valid there, and
// re-initiates each call; the peer's client ties the new call to its suspended one.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "systems.hpp"
#include "test_support.hpp"

namespace mcx::test {
namespace {

UserSpec user(const std::string& name, const std::string& password,
              std::vector<std::string> migrate_to = {}) {
    UserSpec u;
    u.name = name;
    u.password = password;
    u.migrate_to = std::move(migrate_to);
    return u;
}

std::uint64_t received(ClientProcess& c, std::size_t index = 0) {
    auto s = c.status();
    return s && (*s)["calls"].size() > index
               ? (*s)["calls"][index]["rtp_received"].get<std::uint64_t>()
               : 0;
}

// alice@A and bob@A talk; alice migrates to partner B (the seed's literal order).
TEST(Migration, PrimaryToPartnerResumesTheCall) {
    auto systems = SystemsBuilder({"A", "B"})
                       .users("A", {user("alice", "pw-a", {"B"}), user("bob", "pw-b")})
                       .users("B", {user("carol", "pw-c")})
                       .start();
    auto alice = systems->client("A", "alice");
    auto bob = systems->client("A", "bob");
    ASSERT_TRUE(alice->wait("registered"));
    ASSERT_TRUE(alice->wait("profile")) << "alice's CMC did not retrieve her profile";
    ASSERT_TRUE(bob->wait("registered"));

    alice->send("call bob");
    ASSERT_TRUE(alice->wait("connected"));
    ASSERT_TRUE(bob->wait("connected"));
    ASSERT_TRUE(alice->wait("floor-granted"));

    alice->send("migrate B");
    auto suspended = alice->wait("suspended");
    ASSERT_TRUE(suspended) << "step 1: alice's call was not suspended";
    EXPECT_EQ((*suspended)["by"], "local");
    auto peer_suspended = bob->wait("suspended");
    ASSERT_TRUE(peer_suspended) << "bob did not learn that alice suspends the call (BYE Reason)";
    EXPECT_EQ((*peer_suspended)["by"], "remote");

    auto migrated = alice->wait("migrated", 15s);
    ASSERT_TRUE(migrated) << "no migrated event; see " << systems->dir();
    EXPECT_EQ((*migrated)["from"], "A");
    EXPECT_EQ((*migrated)["to"], "B");
    EXPECT_EQ((*migrated)["order"], "literal");
    EXPECT_EQ((*migrated)["trigger"], "manual");
    EXPECT_EQ((*migrated)["mc_service_id"], "sip:alice.a@b.mcx") << "the ID B assigned";
    ASSERT_EQ((*migrated)["calls"].size(), 1u);
    EXPECT_EQ((*migrated)["calls"][0]["result"], "resumed");
    for (const auto* step : {"release", "authenticate", "register", "profile", "resume"}) {
        EXPECT_TRUE((*migrated)["steps_ms"].contains(step)) << "no duration for step " << step;
    }
    auto resumed = bob->wait("call-resumed", 5s);
    ASSERT_TRUE(resumed) << "bob's client did not tie the new call to the suspended one";
    EXPECT_EQ((*resumed)["peer"], "sip:alice.a@b.mcx");

    auto status = alice->status();
    ASSERT_TRUE(status);
    EXPECT_EQ((*status)["serving_system"], "B");
    EXPECT_EQ((*status)["mc_service_id"], "sip:alice.a@b.mcx");
    EXPECT_EQ((*status)["calls"][0]["state"], "connected");

    // The server side: B keeps the migrated user, A knows where its user is now.
    auto b_status = systems->system("B").status();
    ASSERT_EQ(b_status["migrated_users"].size(), 1u);
    EXPECT_EQ(b_status["migrated_users"][0]["primary_id"], "sip:alice@a.mcx");
    EXPECT_EQ(b_status["migrated_users"][0]["local_id"], "sip:alice.a@b.mcx");
    auto a_status = systems->system("A").status();
    ASSERT_EQ(a_status["roaming_users"].size(), 1u);
    EXPECT_EQ(a_status["roaming_users"][0]["system"], "B");
    EXPECT_TRUE(eventually([&] { return systems->system("A").status()["registrations"] == 1; }, 5s))
        << "alice's registration in A was not removed";

    // The floor is restored (alice talked before) and media flows through B and A.
    ASSERT_TRUE(alice->wait("floor-granted", 5s)) << "alice's implicit request in the resume";
    alice->send("send-rtp 1 25");
    EXPECT_TRUE(eventually([&] { return received(*bob) >= 24 + 0u; }, 5s));
}

}  // namespace
}  // namespace mcx::test
