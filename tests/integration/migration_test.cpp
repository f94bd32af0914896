// Migration during ongoing private calls (TS 23.280 10.16.3, issue 14) with real mcxd processes
// and real `mcx client`s on 127.0.0.1: the client releases its calls and keeps them suspended,
// authenticates at the target's IdMS, registers there, retrieves the profile valid there, and
// re-initiates each call; the peer's client ties the new call to its suspended one. All three
// directions (primary -> partner -> partner -> primary), restrictions (NOTE 2), requests during
// the resume (NOTE 3), refusals, the automatic trigger, return home, the prepared order.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include "media/amr_wb.hpp"
#include "media/correlation.hpp"
#include "media/wav.hpp"
#include "systems.hpp"
#include "test_support.hpp"

namespace mcx::test {
namespace {

// The calls of a status event by peer.
Json call_with(ClientProcess& c, const std::string& peer) {
    auto s = c.status();
    if (!s) return {};
    for (const auto& call : (*s)["calls"]) {
        if (call["peer"] == peer) return call;
    }
    return {};
}

std::uint64_t received_from(ClientProcess& c, const std::string& peer) {
    auto call = call_with(c, peer);
    return call.is_object() ? call["rtp_received"].get<std::uint64_t>() : 0;
}

// `record FILE`: what was heard so far is written to the previous file once the client says ok.
void record(ClientProcess& client, const std::string& file) {
    client.send("record " + file);
    EXPECT_TRUE(client.wait([](const Json& j) { return j.value("command", "") == "record"; }))
        << client.name() << " did not switch its recording";
}

// A migration event of `client` that went from `from` to `to`, with every call resumed.
Json expect_migrated(ClientProcess& client, const std::string& from, const std::string& to,
                     const std::string& id, std::size_t calls,
                     std::chrono::milliseconds timeout = 15s) {
    auto migrated = client.wait("migrated", timeout);
    EXPECT_TRUE(migrated) << client.name() << " did not migrate " << from << " -> " << to;
    if (!migrated) return {};
    EXPECT_EQ((*migrated)["from"], from);
    EXPECT_EQ((*migrated)["to"], to);
    EXPECT_EQ((*migrated)["mc_service_id"], id);
    EXPECT_EQ((*migrated)["calls"].size(), calls);
    for (const auto& call : (*migrated)["calls"]) {
        EXPECT_EQ(call["result"], "resumed") << call.dump();
    }
    return *migrated;
}

class MigrationTest : public ::testing::Test {
  protected:
    // Of A (alice may migrate to `alice_may_migrate_to`; bob, dave), B (carol, erin) and C
    // (frank), the systems `ids`; `tweak` adds configuration.
    void start(std::vector<std::string> ids = {"A", "B", "C"},
               const std::function<void(SystemsBuilder&)>& tweak = {},
               std::vector<std::string> alice_may_migrate_to = {"B", "C"}) {
        SystemsBuilder builder(ids);
        auto has = [&](const char* id) {
            return std::find(ids.begin(), ids.end(), id) != ids.end();
        };
        builder.users("A", {user("alice", "pw-a", std::move(alice_may_migrate_to)),
                            user("bob", "pw-b"), user("dave", "pw-d")});
        if (has("B")) builder.users("B", {user("carol", "pw-c"), user("erin", "pw-e")});
        if (has("C")) builder.users("C", {user("frank", "pw-f")});
        if (tweak) tweak(builder);
        systems_ = builder.start();
    }
    std::unique_ptr<ClientProcess> client(const std::string& home, const std::string& name,
                                          const std::string& extra_toml = {},
                                          const std::vector<std::string>& args = {}) {
        auto c = systems_->client(home, name, extra_toml, args);
        EXPECT_TRUE(c->wait("registered")) << name << " did not register";
        return c;
    }
    // `caller` calls `callee_uri`; both ends connected.
    void connect(ClientProcess& caller, ClientProcess& callee, const std::string& callee_uri) {
        caller.send("call " + callee_uri);
        ASSERT_TRUE(caller.wait("connected")) << caller.name() << " -> " << callee_uri;
        ASSERT_TRUE(callee.wait("connected")) << callee.name() << " did not get the call";
    }
    Json status(const std::string& system) { return systems_->system(system).status(); }
    // send-rtp on the client's first call, and its answer: refused without the floor.
    static void send_rtp(ClientProcess& c, unsigned count) {
        c.send("send-rtp 1 " + std::to_string(count));
        auto answer = c.wait([](const Json& e) { return e.value("command", "") == "send-rtp"; });
        ASSERT_TRUE(answer) << c.name() << ": no answer to send-rtp";
        ASSERT_EQ((*answer)["event"], "ok") << c.name() << ": " << answer->dump();
    }

    std::unique_ptr<Systems> systems_;
};

TEST_F(MigrationTest, PrimaryToPartnerResumesTheCall) {
    start({"A", "B"});
    auto alice = client("A", "alice");
    auto bob = client("A", "bob");
    ASSERT_TRUE(alice->wait("profile")) << "alice's CMC did not retrieve her profile";
    connect(*alice, *bob, "bob");
    ASSERT_TRUE(alice->wait("floor-granted"));

    alice->send("migrate B");
    auto suspended = alice->wait("suspended");
    ASSERT_TRUE(suspended) << "step 1: alice's call was not suspended";
    EXPECT_EQ((*suspended)["by"], "local");
    auto peer_suspended = bob->wait("suspended");
    ASSERT_TRUE(peer_suspended) << "bob did not learn that alice suspends the call (BYE Reason)";
    EXPECT_EQ((*peer_suspended)["by"], "remote");

    auto migrated = expect_migrated(*alice, "A", "B", "sip:alice.a@b.mcx", 1);
    EXPECT_EQ(migrated["order"], "literal");
    EXPECT_EQ(migrated["trigger"], "manual");
    for (const auto* step : {"release", "authenticate", "register", "profile", "resume"}) {
        EXPECT_TRUE(migrated["steps_ms"].contains(step)) << "no duration for step " << step;
    }
    auto resumed = bob->wait("call-resumed", 5s);
    ASSERT_TRUE(resumed) << "bob's client did not tie the new call to the suspended one";
    EXPECT_EQ((*resumed)["peer"], "sip:alice.a@b.mcx");

    auto s = alice->status();
    ASSERT_TRUE(s);
    EXPECT_EQ((*s)["serving_system"], "B");
    EXPECT_EQ((*s)["mc_service_id"], "sip:alice.a@b.mcx");
    EXPECT_EQ((*s)["calls"][0]["state"], "connected");

    // The server side: B keeps the migrated user, A knows where its user is now.
    auto b = status("B");
    ASSERT_EQ(b["migrated_users"].size(), 1u);
    EXPECT_EQ(b["migrated_users"][0]["primary_id"], "sip:alice@a.mcx");
    EXPECT_EQ(b["migrated_users"][0]["local_id"], "sip:alice.a@b.mcx");
    auto a = status("A");
    ASSERT_EQ(a["roaming_users"].size(), 1u);
    EXPECT_EQ(a["roaming_users"][0]["system"], "B");
    EXPECT_TRUE(eventually([&] { return status("A")["registrations"] == 1; }, 5s))
        << "alice's registration in A was not removed";

    // The floor is restored (alice talked before) and media flows through B and A, both ways.
    ASSERT_TRUE(alice->wait("floor-granted", 5s)) << "alice's implicit request in the resume";
    send_rtp(*alice, 25);
    EXPECT_TRUE(eventually([&] { return received_from(*bob, "sip:alice.a@b.mcx") >= 24; }, 5s));
    alice->send("release");
    ASSERT_TRUE(bob->wait("floor-idle"));
    bob->send("ptt");
    ASSERT_TRUE(bob->wait("floor-granted"));
    send_rtp(*bob, 25);
    EXPECT_TRUE(eventually([&] { return received_from(*alice, "sip:bob@a.mcx") >= 24; }, 5s));
}

// A -> B -> C -> A with voice: after each hop the phrase each side speaks arrives at the other
// and correlates with the codec-decoded original (the method of voice_test).
TEST_F(MigrationTest, AllThreeDirectionsWithOneCallAndVoiceBothWays) {
    if (std::system("command -v espeak-ng >/dev/null 2>&1") != 0) GTEST_SKIP() << "no espeak-ng";
    start();
    const auto dir = systems_->dir();
    const auto phrase = dir + "/phrase.wav";
    ASSERT_EQ(
        std::system(("espeak-ng -w " + phrase + " 'Unit seven on scene, north gate.'").c_str()), 0);
    auto original = media::read_speech_file(phrase);
    ASSERT_TRUE(original);
    auto decoded = media::decode_speech(*media::encode_speech(*original));
    ASSERT_TRUE(decoded);
    auto correlates = [&](const std::string& recording) {
        auto heard = media::read_speech_file(recording);
        if (!heard) return -1.0;
        return media::best_correlation(*decoded, *heard, 16000).coefficient;
    };

    auto alice = client("A", "alice", {}, {"--speak", phrase, "--record", dir + "/alice-0.wav"});
    auto bob = client("A", "bob", {}, {"--speak", phrase, "--record", dir + "/bob-0.wav"});
    ASSERT_TRUE(alice->wait("profile"));
    connect(*alice, *bob, "bob");
    ASSERT_TRUE(alice->wait("floor-granted"));
    ASSERT_TRUE(alice->wait("speech-finished", 10s));
    ASSERT_TRUE(bob->wait("floor-idle", 5s));
    ASSERT_TRUE(alice->wait("floor-idle", 5s));

    struct Hop {
        std::string from, to, id;
    };
    const Hop hops[] = {{"A", "B", "sip:alice.a@b.mcx"},
                        {"B", "C", "sip:alice.a@c.mcx"},
                        {"C", "A", "sip:alice@a.mcx"}};
    int n = 0;
    for (const auto& hop : hops) {
        ++n;
        SCOPED_TRACE("hop " + hop.from + " -> " + hop.to);
        const auto bob_heard = dir + "/bob-" + std::to_string(n) + ".wav";
        const auto alice_heard = dir + "/alice-" + std::to_string(n) + ".wav";
        record(*bob, bob_heard);
        record(*alice, alice_heard);
        // alice talks while she migrates: she asks again (implicit request) after the hop.
        alice->send("ptt");
        ASSERT_TRUE(alice->wait("floor-granted"));
        alice->send("migrate " + hop.to);
        expect_migrated(*alice, hop.from, hop.to, hop.id, 1);
        ASSERT_TRUE(bob->wait("call-resumed", 5s));
        ASSERT_TRUE(alice->wait("floor-granted", 5s)) << "the talker did not get the floor back";
        ASSERT_TRUE(alice->wait("speech-finished", 10s));
        ASSERT_TRUE(bob->wait("floor-idle", 5s));
        ASSERT_TRUE(alice->wait("floor-idle", 5s));
        bob->send("ptt");
        ASSERT_TRUE(bob->wait("floor-granted", 5s));
        ASSERT_TRUE(bob->wait("speech-finished", 10s));
        ASSERT_TRUE(alice->wait("floor-idle", 5s));
        ASSERT_TRUE(bob->wait("floor-idle", 5s));
        record(*bob, dir + "/bob-rest.wav");  // writes bob_heard
        record(*alice, dir + "/alice-rest.wav");
        EXPECT_GE(correlates(bob_heard), 0.9) << "alice's speech after the hop, heard by bob";
        EXPECT_GE(correlates(alice_heard), 0.9) << "bob's speech after the hop, heard by alice";
    }
    // Partner -> partner: B forgot alice; partner -> primary: C forgot her and A has her back.
    EXPECT_TRUE(eventually([&] { return status("B")["migrated_users"].empty(); }, 5s));
    EXPECT_TRUE(eventually([&] { return status("C")["migrated_users"].empty(); }, 5s));
    EXPECT_TRUE(status("A")["roaming_users"].empty()) << "A still thinks alice is away";
    auto s = alice->status();
    EXPECT_EQ((*s)["serving_system"], "A");
    EXPECT_EQ((*s)["mc_service_id"], "sip:alice@a.mcx");
    EXPECT_EQ((*s)["primary"], true);
}

// Three concurrent calls (peers in A, B and C) through every direction.
TEST_F(MigrationTest, AllThreeDirectionsWithThreeCalls) {
    start();
    auto alice = client("A", "alice");
    auto bob = client("A", "bob");
    auto carol = client("B", "carol");
    auto frank = client("C", "frank");
    ASSERT_TRUE(alice->wait("profile"));
    connect(*alice, *bob, "bob");
    connect(*alice, *carol, "sip:carol@b.mcx");
    connect(*frank, *alice, "sip:alice@a.mcx");  // alice is the callee of this one

    // A -> B (primary -> partner).
    alice->send("migrate B");
    auto hop1 = expect_migrated(*alice, "A", "B", "sip:alice.a@b.mcx", 3);
    for (auto* peer : {bob.get(), carol.get(), frank.get()}) {
        EXPECT_TRUE(peer->wait("call-resumed", 5s)) << peer->name();
    }
    // B -> C (partner -> partner): C's CMS gets the profile from A's, B forgets alice.
    alice->send("migrate C");
    expect_migrated(*alice, "B", "C", "sip:alice.a@c.mcx", 3);
    for (auto* peer : {bob.get(), carol.get(), frank.get()}) {
        EXPECT_TRUE(peer->wait("call-resumed", 5s)) << peer->name();
    }
    EXPECT_TRUE(eventually([&] { return status("B")["migrated_users"].empty(); }, 5s))
        << "B still keeps alice";
    auto c = status("C");
    ASSERT_EQ(c["migrated_users"].size(), 1u);
    EXPECT_EQ(c["migrated_users"][0]["home"], "A");
    EXPECT_EQ(status("A")["roaming_users"][0]["system"], "C");
    // C -> A (partner -> primary): the primary ID comes back, C removes its row.
    alice->send("migrate A");
    expect_migrated(*alice, "C", "A", "sip:alice@a.mcx", 3);
    for (auto* peer : {bob.get(), carol.get(), frank.get()}) {
        EXPECT_TRUE(peer->wait("call-resumed", 5s)) << peer->name();
    }
    EXPECT_TRUE(eventually([&] { return status("C")["migrated_users"].empty(); }, 5s));
    EXPECT_TRUE(status("A")["roaming_users"].empty());
    auto s = alice->status();
    ASSERT_EQ((*s)["calls"].size(), 3u);
    for (const auto& call : (*s)["calls"]) EXPECT_EQ(call["state"], "connected") << call.dump();
    // Every call still carries media.
    for (auto* peer : {bob.get(), carol.get(), frank.get()}) {
        auto ps = peer->status();
        ASSERT_TRUE(ps);
        EXPECT_EQ((*ps)["calls"][0]["state"], "connected") << peer->name();
        EXPECT_EQ((*ps)["calls"][0]["peer"], "sip:alice@a.mcx") << peer->name();
    }
}

// NOTE 2: B lets migrants call only carol. alice's call with bob is not re-initiated and ends
// "failed: restricted"; bob's side stays suspended, refuses other calls meanwhile (NOTE 3) and
// ends when its resume guard expires; the call with carol resumes.
TEST_F(MigrationTest, RestrictedPeerIsNotCalledAndItsSideEndsInTime) {
    start({"A", "B"}, [](SystemsBuilder& b) {
        b.extra_toml("B", "[migration]\nprivate_call_targets = [\"sip:carol@b.mcx\"]\n");
    });
    auto alice = client("A", "alice");
    auto bob = client("A", "bob", "[migration]\nresume_timeout_ms = 3000\n");
    auto carol = client("B", "carol");
    auto dave = client("A", "dave");
    ASSERT_TRUE(alice->wait("profile"));
    connect(*alice, *bob, "bob");
    connect(*alice, *carol, "sip:carol@b.mcx");

    alice->send("migrate B");
    auto failed = alice->wait("call-resume-failed", 10s);
    ASSERT_TRUE(failed);
    EXPECT_EQ((*failed)["peer"], "sip:bob@a.mcx");
    EXPECT_NE((*failed)["reason"].get<std::string>().find("restricted"), std::string::npos)
        << (*failed)["reason"];
    auto migrated = alice->wait("migrated", 10s);
    ASSERT_TRUE(migrated);
    ASSERT_EQ((*migrated)["calls"].size(), 2u);
    ASSERT_TRUE(carol->wait("call-resumed", 5s));
    ASSERT_TRUE(bob->wait("suspended"));

    // NOTE 3 at the peer: dave calls bob while bob's call waits to be resumed.
    dave->send("call bob");
    auto refused = dave->wait("released", 5s);
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["status"], 486);
    EXPECT_EQ((*refused)["warning"], 100);
    EXPECT_NE((*refused)["reason"].get<std::string>().find("migration is in progress"),
              std::string::npos)
        << (*refused)["reason"];

    auto ended = bob->wait("released", 6s);
    ASSERT_TRUE(ended) << "bob's suspended call did not end";
    EXPECT_NE((*ended)["reason"].get<std::string>().find("not resumed within"), std::string::npos);
    // Now bob takes calls again.
    connect(*dave, *bob, "bob");
}

// NOTE 3 at the migrating side: while alice's resume waits for bob (whose client does not
// answer for a while), a call to alice is refused; the suspended call still resumes.
TEST_F(MigrationTest, CallsDuringTheResumeAreRefusedAndTheCallStillResumes) {
    start({"A", "B"});
    auto alice = client("A", "alice");
    // bob's keep-alive is off: a stopped process would take its own probes for a lost system.
    auto bob = client("A", "bob", "[migration]\nkeepalive_interval_ms = 0\n");
    auto erin = client("B", "erin");
    ASSERT_TRUE(alice->wait("profile"));
    connect(*alice, *bob, "bob");

    bob->pause();  // bob's client answers nothing for now: alice's resume waits
    alice->send("migrate B");
    ASSERT_TRUE(alice->wait("suspended"));
    ASSERT_TRUE(eventually(
        [&] {
            auto s = alice->status();
            return s && (*s)["serving_system"] == "B";
        },
        10s));
    erin->send("call sip:alice.a@b.mcx");
    auto refused = erin->wait("released", 5s);
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["status"], 486);
    EXPECT_EQ((*refused)["warning"], 100);
    bob->resume();
    expect_migrated(*alice, "A", "B", "sip:alice.a@b.mcx", 1, 25s);
    EXPECT_TRUE(bob->wait("call-resumed", 5s));
}

// NOTE 3 at both ends: while alice is between systems (attach_delay_ms stretches the moment),
// dave calling alice and erin calling bob get 486 with warning 100; then the call resumes.
TEST_F(MigrationTest, NoteThreeAtBothEndsDuringTheResume) {
    start({"A", "B"});
    auto alice = client("A", "alice", "[migration]\nattach_delay_ms = 1500\n");
    auto bob = client("A", "bob");
    auto dave = client("A", "dave");
    auto erin = client("B", "erin");
    ASSERT_TRUE(alice->wait("profile"));
    connect(*alice, *bob, "bob");
    alice->send("migrate B");
    ASSERT_TRUE(alice->wait("suspended"));
    ASSERT_TRUE(bob->wait("suspended"));
    dave->send("call alice");
    erin->send("call sip:bob@a.mcx");
    for (auto* caller : {dave.get(), erin.get()}) {
        auto refused = caller->wait("released", 5s);
        ASSERT_TRUE(refused) << caller->name();
        EXPECT_EQ((*refused)["status"], 486) << caller->name();
        EXPECT_EQ((*refused)["warning"], 100) << caller->name();
        EXPECT_NE((*refused)["reason"].get<std::string>().find("migration is in progress"),
                  std::string::npos)
            << (*refused)["reason"];
    }
    expect_migrated(*alice, "A", "B", "sip:alice.a@b.mcx", 1);
    EXPECT_TRUE(bob->wait("call-resumed", 5s));
    // Once resumed, both take calls again.
    connect(*dave, *bob, "bob");
}

// The primary refuses: alice's profile allows only C, and her client (without the profile, its
// CMS address left out) tries B anyway. B's CMS asks A, A says no; alice is told, the call
// ends failed with A's reason, B forgets her, and A still serves her.
TEST_F(MigrationTest, PrimaryRefusesTheMigrationToANotAllowedPartner) {
    start({"A", "B", "C"}, {}, {"C"});
    auto path = systems_->write_client_config("A", "alice");
    {
        std::ifstream in(path);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto a_cms = "cms_url = \"" + systems_->system("A").http_url() + "\"\n";
        const auto at = text.find(a_cms);
        ASSERT_NE(at, std::string::npos);
        text.erase(at, a_cms.size());
        std::ofstream(path) << text;
    }
    auto alice = ClientProcess::start_with_config(path, "alice", systems_->dir() + "/alice.log");
    ASSERT_TRUE(alice->wait("registered"));
    auto bob = client("A", "bob");
    connect(*alice, *bob, "bob");
    alice->send("migrate B");
    auto failed = alice->wait("migration-failed", 10s);
    ASSERT_TRUE(failed);
    EXPECT_NE((*failed)["reason"].get<std::string>().find("not allowed to migrate to B"),
              std::string::npos)
        << (*failed)["reason"];
    auto call = alice->wait("call-resume-failed");
    ASSERT_TRUE(call);
    EXPECT_NE((*call)["reason"].get<std::string>().find("not allowed to migrate to B"),
              std::string::npos);
    EXPECT_TRUE(eventually([&] { return status("B")["registrations"] == 0; }, 5s))
        << "alice's registration in B was not removed";
    auto s = alice->status();
    EXPECT_EQ((*s)["serving_system"], "A");
    EXPECT_EQ((*s)["registered"], true);
    auto dave = client("A", "dave");
    connect(*alice, *dave, "dave");
}

// Glare: alice and bob migrate to B at the same moment. Both resume; alice, the original
// caller, keeps her resume and refuses bob's with 491; bob answers hers. One call remains.
TEST_F(MigrationTest, GlareBothEndsMigrateAtOnce) {
    start({"A", "B"}, [](SystemsBuilder& b) {
        b.users("A", {user("alice", "pw-a", {"B"}), user("bob", "pw-b", {"B"})});
    });
    auto alice = client("A", "alice");
    auto bob = client("A", "bob");
    ASSERT_TRUE(alice->wait("profile"));
    ASSERT_TRUE(bob->wait("profile"));
    connect(*alice, *bob, "bob");
    ASSERT_TRUE(alice->wait("floor-granted"));  // her call's implicit floor request
    alice->send("migrate B");
    bob->send("migrate B");
    auto a = alice->wait("migrated", 25s);
    auto b = bob->wait("migrated", 25s);
    ASSERT_TRUE(a && b) << "see " << systems_->dir();
    EXPECT_EQ((*a)["mc_service_id"], "sip:alice.a@b.mcx");
    EXPECT_EQ((*b)["mc_service_id"], "sip:bob.a@b.mcx");
    ASSERT_TRUE(eventually(
        [&] {
            auto sa = alice->status();
            auto sb = bob->status();
            return sa && sb && (*sa)["calls"].size() == 1 && (*sb)["calls"].size() == 1 &&
                   (*sa)["calls"][0]["state"] == "connected" &&
                   (*sb)["calls"][0]["state"] == "connected";
        },
        25s))
        << "the call did not survive both migrations";
    // Floor restoration: alice talked before, whichever resume won gives her the floor back.
    ASSERT_TRUE(alice->wait("floor-granted", 5s)) << "see " << systems_->dir();
    send_rtp(*alice, 25);
    EXPECT_TRUE(eventually(
        [&] {
            auto sb = bob->status();
            return sb && (*sb)["calls"].size() == 1 &&
                   (*sb)["calls"][0]["rtp_received"].get<std::uint64_t>() >= 24;
        },
        5s))
        << "see " << systems_->dir();
}

// The profile lists only B and C: a migration elsewhere is refused at once and the calls go on.
TEST_F(MigrationTest, ProfileDoesNotAllowTheTarget) {
    start({"A", "B", "C"}, {}, {"B"});
    auto alice = client("A", "alice");
    auto bob = client("A", "bob");
    ASSERT_TRUE(alice->wait("profile"));
    connect(*alice, *bob, "bob");
    alice->send("migrate C");
    auto refused = alice->wait("error");
    ASSERT_TRUE(refused);
    EXPECT_NE((*refused)["reason"].get<std::string>().find("does not allow migration to C"),
              std::string::npos)
        << (*refused)["reason"];
    EXPECT_EQ(call_with(*alice, "sip:bob@a.mcx")["state"], "connected");
    alice->send("migrate X");
    refused = alice->wait("error");
    ASSERT_TRUE(refused);
    EXPECT_NE((*refused)["reason"].get<std::string>().find("unknown MC system"), std::string::npos);
}

// The target does not accept migrating users: alice is told, the call ends failed with the
// reason, and she is still served by A.
TEST_F(MigrationTest, TargetRefusesMigratingUsers) {
    start({"A", "B"},
          [](SystemsBuilder& b) { b.extra_toml("B", "[migration]\naccept = false\n"); });
    auto alice = client("A", "alice");
    auto bob = client("A", "bob");
    ASSERT_TRUE(alice->wait("profile"));
    connect(*alice, *bob, "bob");
    alice->send("migrate B");
    auto failed = alice->wait("migration-failed", 10s);
    ASSERT_TRUE(failed);
    EXPECT_NE((*failed)["reason"].get<std::string>().find("does not accept"), std::string::npos)
        << (*failed)["reason"];
    auto call = alice->wait("call-resume-failed");
    ASSERT_TRUE(call);
    EXPECT_NE((*call)["reason"].get<std::string>().find("migration to B failed"),
              std::string::npos);
    auto s = alice->status();
    EXPECT_EQ((*s)["serving_system"], "A");
    EXPECT_EQ((*s)["registered"], true);
    EXPECT_TRUE((*s)["calls"].empty());
    // bob's side ends when its guard expires; meanwhile alice still calls in A (not suspended).
    auto dave = client("A", "dave");
    connect(*alice, *dave, "dave");
}

// The target is down: the same, in bounded time.
TEST_F(MigrationTest, TargetDownFailsInBoundedTime) {
    start({"A", "B"});
    auto alice = client("A", "alice");
    auto bob = client("A", "bob");
    ASSERT_TRUE(alice->wait("profile"));
    connect(*alice, *bob, "bob");
    systems_->system("B").stop();
    const auto started = std::chrono::steady_clock::now();
    alice->send("migrate B");
    auto failed = alice->wait("migration-failed", 10s);
    ASSERT_TRUE(failed);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
    EXPECT_NE((*failed)["reason"].get<std::string>().find("cannot be reached"), std::string::npos)
        << (*failed)["reason"];
    auto s = alice->status();
    EXPECT_EQ((*s)["serving_system"], "A");
    EXPECT_EQ((*s)["registered"], true);
    auto dave = client("A", "dave");
    connect(*alice, *dave, "dave");
}

// Automatic trigger: A dies (SIGKILL) while alice talks with carol of B; alice's client notices
// (keep-alive), suspends the call locally and resumes it through the standby it keeps in B
// (prepare: A, being dead, could not hand B her profile now); carol's client, whose leg died
// silently, takes the resume. With return_home, alice goes back to A once A answers again.
TEST_F(MigrationTest, AutomaticMigrationWhenThePrimaryDiesAndBackHome) {
    start({"A", "B"});
    auto alice = client("A", "alice", "[migration]\nreturn_home = true\nprepare = true\n");
    auto carol = client("B", "carol");
    ASSERT_TRUE(alice->wait("profile"));
    auto standby = alice->wait("standby-ready", 5s);
    ASSERT_TRUE(standby) << "no standby in B";
    EXPECT_EQ((*standby)["system"], "B");
    connect(*alice, *carol, "sip:carol@b.mcx");
    ASSERT_TRUE(alice->wait("floor-granted"));  // her call's implicit floor request

    systems_->system("A").kill();
    auto lost = alice->wait("serving-lost", 5s);
    ASSERT_TRUE(lost) << "alice did not notice that A is gone";
    EXPECT_EQ((*lost)["system"], "A");
    auto migrated = expect_migrated(*alice, "A", "B", "sip:alice.a@b.mcx", 1);
    EXPECT_EQ(migrated["trigger"], "automatic");
    EXPECT_EQ(migrated["order"], "prepared");
    ASSERT_TRUE(carol->wait("call-resumed", 5s));
    ASSERT_TRUE(alice->wait("floor-granted", 5s)) << "the talker did not get the floor back";
    send_rtp(*alice, 25);
    EXPECT_TRUE(eventually([&] { return received_from(*carol, "sip:alice.a@b.mcx") >= 24; }, 5s));
    alice->send("release");

    systems_->system("A").restart();
    ASSERT_TRUE(systems_->wait_for_partner_keys());
    auto home = expect_migrated(*alice, "B", "A", "sip:alice@a.mcx", 1, 20s);
    EXPECT_EQ(home["trigger"], "automatic");
    ASSERT_TRUE(carol->wait("call-resumed", 5s));
    EXPECT_EQ(call_with(*carol, "sip:alice@a.mcx")["state"], "connected");
}

// Automatic trigger in the literal order: alice is served by partner C, which dies; her client
// migrates back to her primary A (which has her profile) and resumes both calls.
TEST_F(MigrationTest, AutomaticMigrationHomeWhenThePartnerDies) {
    start();
    auto alice = client("A", "alice");
    auto bob = client("A", "bob");
    auto carol = client("B", "carol");
    ASSERT_TRUE(alice->wait("profile"));
    alice->send("migrate C");
    expect_migrated(*alice, "A", "C", "sip:alice.a@c.mcx", 0);
    connect(*alice, *bob, "bob");
    connect(*alice, *carol, "sip:carol@b.mcx");

    systems_->system("C").kill();
    auto lost = alice->wait("serving-lost", 5s);
    ASSERT_TRUE(lost);
    EXPECT_EQ((*lost)["system"], "C");
    auto migrated = expect_migrated(*alice, "C", "A", "sip:alice@a.mcx", 2);
    EXPECT_EQ(migrated["trigger"], "automatic");
    EXPECT_EQ(migrated["order"], "literal");
    EXPECT_TRUE(bob->wait("call-resumed", 5s));
    EXPECT_TRUE(carol->wait("call-resumed", 5s));
    EXPECT_EQ(call_with(*bob, "sip:alice@a.mcx")["state"], "connected");
}

// Prepared order: token, registration and profile in B while the call still runs in A, then
// the release and the resume at once.
TEST_F(MigrationTest, PreparedOrderDoesStepTwoBeforeTheRelease) {
    start({"A", "B"});
    auto alice = client("A", "alice");
    auto bob = client("A", "bob");
    ASSERT_TRUE(alice->wait("profile"));
    connect(*alice, *bob, "bob");
    alice->send("migrate B --prepared");
    std::vector<std::string> order;
    for (int i = 0; i < 5; ++i) {
        auto step = alice->wait("migration-step", 10s);
        ASSERT_TRUE(step);
        order.push_back((*step)["step"]);
    }
    EXPECT_EQ(order, (std::vector<std::string>{"authenticate", "register", "profile", "release",
                                               "resume"}));
    auto migrated = expect_migrated(*alice, "A", "B", "sip:alice.a@b.mcx", 1);
    EXPECT_EQ(migrated["order"], "prepared");
    EXPECT_TRUE(bob->wait("call-resumed", 5s));
}

// A migrated user is reachable by the ID B assigned (a user of B) and by its primary ID (A
// routes the call to where its user is now).
TEST_F(MigrationTest, MigratedUserIsCalledByItsNewAndItsPrimaryId) {
    start({"A", "B"});
    auto alice = client("A", "alice");
    auto erin = client("B", "erin");
    auto bob = client("A", "bob");
    ASSERT_TRUE(alice->wait("profile"));
    alice->send("migrate B");
    expect_migrated(*alice, "A", "B", "sip:alice.a@b.mcx", 0);
    connect(*erin, *alice, "sip:alice.a@b.mcx");
    EXPECT_EQ(call_with(*alice, "sip:erin@b.mcx")["system"], "B");
    connect(*bob, *alice, "sip:alice@a.mcx");
    auto s = alice->status();
    EXPECT_EQ((*s)["calls"].size(), 2u);
}

// `mcx client` at a terminal: `migrate B` during two calls prints each step and each call's
// outcome; `status` names the serving system and the MC service ID in use.
TEST_F(MigrationTest, InteractiveClientPrintsStepsOutcomesAndStatus) {
    if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1)";
    start({"A", "B"});
    auto bob = client("A", "bob");
    auto carol = client("B", "carol");
    const auto config = systems_->write_client_config("A", "alice");
    // script(1) gives the client a terminal, so it talks as to a person.
    auto child = ChildProcess::spawn(
        {"/usr/bin/script", "-qfec", mcx_binary() + " client --config " + config, "/dev/null"},
        systems_->dir() + "/client-alice-tty.log");
    ASSERT_TRUE(child);
    auto read_until = [&](const std::string& needle, std::chrono::milliseconds timeout) {
        std::string seen;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto line = child->read_line(200ms);
            if (!line) continue;
            seen += *line + "\n";
            if (line->find(needle) != std::string::npos) return seen;
        }
        ADD_FAILURE() << "no '" << needle << "' in:\n" << seen;
        return seen;
    };
    read_until("registered: A as sip:alice@a.mcx", 5s);
    read_until("profile: A", 5s);
    child->write_line("call bob");
    read_until("connected: call 1", 5s);
    child->write_line("call sip:carol@b.mcx");
    read_until("connected: call 2", 5s);
    child->write_line("migrate B");
    const auto out = read_until("migrated:", 15s);
    for (const auto* step : {"authenticate (B)", "register (B)", "profile (B)", "resume (B)"}) {
        EXPECT_NE(out.find(std::string("migration-step: ") + step), std::string::npos)
            << step << " not printed:\n"
            << out;
    }
    // One line per call follows, in the order the calls resumed.
    auto outcome = read_until(": resumed", 5s);
    outcome += read_until(": resumed", 5s);
    EXPECT_NE(outcome.find("call 1 with sip:bob@a.mcx: resumed"), std::string::npos) << outcome;
    EXPECT_NE(outcome.find("call 2 with sip:carol@b.mcx: resumed"), std::string::npos) << outcome;
    child->write_line("status");
    auto status_text = read_until("served by B", 5s);
    EXPECT_NE(status_text.find("served by B (partner) as sip:alice.a@b.mcx"), std::string::npos)
        << status_text;
    child->write_line("quit");
    EXPECT_TRUE(child->wait(5s));
}

}  // namespace
}  // namespace mcx::test
