// Private calls between users of two interconnected MC systems (issue 5, TS 23.379 10.7.2.3):
// real mcxd processes joined by SIP over mutually authenticated TLS, the controlling function
// (and floor control) in the caller's system, RTP and floor control crossing both servers,
// release from either side, and the failure cases: a peer with a certificate from another CA,
// a partner that is not configured, a partner that is down.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>

#include "media/amr_wb.hpp"
#include "media/correlation.hpp"
#include "media/wav.hpp"
#include "systems.hpp"

namespace mcx::test {
namespace {

class Interconnect : public ::testing::Test {
  protected:
    void SetUp() override { dir_ = test_output_dir(); }

    // A (alice, bob) and B (carol), each configured with the other as partner unless `adjust`
    // says otherwise.
    void start(const std::function<void(SystemsBuilder&)>& adjust = {}) {
        SystemsBuilder builder({"A", "B"});
        builder.users("A", {{"alice", "pw-a", {"*"}}, {"bob", "pw-b", {"*"}}})
            .users("B", {{"carol", "pw-c", {"*"}}});
        if (adjust) adjust(builder);
        systems_ = builder.start(dir_);
        a_ = &systems_->system("A");
        b_ = &systems_->system("B");
    }

    void clients(const std::vector<std::string>& alice_args = {},
                 const std::vector<std::string>& carol_args = {}) {
        alice_ = ClientProcess::start(*a_, "alice", "pw-a", alice_args);
        carol_ = ClientProcess::start(*b_, "carol", "pw-c", carol_args);
        ASSERT_TRUE(alice_->wait("registered"));
        ASSERT_TRUE(carol_->wait("registered"));
    }

    static std::uint64_t received(ClientProcess& c) {
        auto s = c.status();
        return s && !(*s)["calls"].empty() ? (*s)["calls"][0]["rtp_received"].get<std::uint64_t>()
                                           : 0;
    }

    void expect_no_calls_left() {
        EXPECT_TRUE(eventually([&] { return a_->status()["active_calls"] == 0; }, 5s))
            << "A keeps call state: " << a_->status().dump();
        EXPECT_TRUE(eventually([&] { return b_->status()["active_calls"] == 0; }, 5s))
            << "B keeps call state: " << b_->status().dump();
    }

    std::string dir_;
    std::unique_ptr<Systems> systems_;
    McSystem* a_ = nullptr;
    McSystem* b_ = nullptr;
    std::unique_ptr<ClientProcess> alice_, carol_;
};

// alice@A -> carol@B: A controls the call and the floor, B relays; media both ways.
TEST_F(Interconnect, CallToAPartnerUserWithFloorControlAndMediaBothWays) {
    start();
    clients();
    alice_->send("call sip:carol@b.mcx");
    ASSERT_TRUE(alice_->wait("connected")) << "the call did not cross the interconnect";
    auto incoming = carol_->wait("connected");
    ASSERT_TRUE(incoming);
    EXPECT_EQ((*incoming)["peer"], "sip:alice@a.mcx") << "carol sees alice's MC service ID of A";
    ASSERT_TRUE(alice_->wait("floor-granted")) << "A's floor control server granted alice";
    auto taken = carol_->wait("floor-taken");
    ASSERT_TRUE(taken) << "Floor Taken did not cross B";
    EXPECT_EQ((*taken)["talker"], "sip:alice@a.mcx");
    auto a_call = a_->status()["calls"][0];
    auto b_call = b_->status()["calls"][0];
    EXPECT_EQ(a_call["partner"], "B");
    EXPECT_EQ(a_call["controlling"], true);
    EXPECT_EQ(a_call["floor"], "G: Floor Taken");
    EXPECT_EQ(b_call["controlling"], false);
    EXPECT_EQ(b_call["floor"], "none") << "B runs no floor control for A's call";

    alice_->send("send-rtp 1 25");
    EXPECT_TRUE(eventually([&] { return received(*carol_) >= 24; }, 5s))
        << "alice's RTP did not cross A and B: " << received(*carol_);
    alice_->send("release");
    ASSERT_TRUE(carol_->wait("floor-idle"));
    carol_->send("ptt");
    ASSERT_TRUE(carol_->wait("floor-granted")) << "carol's request did not reach A through B";
    carol_->send("send-rtp 1 25");
    EXPECT_TRUE(eventually([&] { return received(*alice_) >= 24; }, 5s))
        << "carol's RTP did not cross B and A: " << received(*alice_);

    carol_->send("hangup");  // released from the callee's side
    auto released = alice_->wait("released");
    ASSERT_TRUE(released);
    EXPECT_EQ((*released)["by"], "remote");
    expect_no_calls_left();
}

// carol@B -> alice@A: now B controls; released from the callee's side (A).
TEST_F(Interconnect, CallFromAPartnerUserReleasedByTheLocalUser) {
    start();
    clients();
    carol_->send("call sip:alice@a.mcx");
    ASSERT_TRUE(carol_->wait("connected"));
    auto incoming = alice_->wait("connected");
    ASSERT_TRUE(incoming);
    EXPECT_EQ((*incoming)["peer"], "sip:carol@b.mcx");
    ASSERT_TRUE(carol_->wait("floor-granted"));
    EXPECT_EQ(b_->status()["calls"][0]["controlling"], true);
    EXPECT_EQ(a_->status()["calls"][0]["controlling"], false);
    carol_->send("send-rtp 1 25");
    EXPECT_TRUE(eventually([&] { return received(*alice_) >= 24; }, 5s)) << received(*alice_);
    carol_->send("release");
    ASSERT_TRUE(alice_->wait("floor-idle"));
    alice_->send("ptt");
    ASSERT_TRUE(alice_->wait("floor-granted")) << "B's floor control server granted alice";
    alice_->send("send-rtp 1 25");
    EXPECT_TRUE(eventually([&] { return received(*carol_) >= 24; }, 5s)) << received(*carol_);
    alice_->send("hangup");
    ASSERT_TRUE(carol_->wait("released"));
    expect_no_calls_left();
}

// Real speech in both directions across both servers, compared with the codec-decoded original.
TEST_F(Interconnect, VoiceInBothDirections) {
    if (std::system("command -v espeak-ng >/dev/null 2>&1") != 0) GTEST_SKIP() << "no espeak-ng";
    const auto a_phrase = dir_ + "/alice.wav";
    const auto c_phrase = dir_ + "/carol.wav";
    ASSERT_EQ(std::system(
                  ("espeak-ng -w " + a_phrase + " 'This is alice, crossing to system B.'").c_str()),
              0);
    ASSERT_EQ(std::system(
                  ("espeak-ng -w " + c_phrase + " 'Carol here, answering from system B.'").c_str()),
              0);
    start();
    clients({"--speak", a_phrase, "--record", dir_ + "/alice-heard.wav"},
            {"--speak", c_phrase, "--record", dir_ + "/carol-heard.wav"});
    alice_->send("call sip:carol@b.mcx");
    ASSERT_TRUE(alice_->wait("speech-finished", 15s));
    ASSERT_TRUE(carol_->wait("floor-idle", 5s));
    carol_->send("ptt");  // carol speaks as soon as she holds the floor
    ASSERT_TRUE(carol_->wait("speech-finished", 15s));
    ASSERT_TRUE(alice_->wait("floor-idle", 5s));
    alice_->send("hangup");
    ASSERT_TRUE(carol_->wait("released"));
    ASSERT_TRUE(alice_->wait("released"));  // a client writes its recording before this event
    for (const auto& [said, heard] : {std::pair{a_phrase, dir_ + "/carol-heard.wav"},
                                      std::pair{c_phrase, dir_ + "/alice-heard.wav"}}) {
        auto original = media::read_speech_file(said);
        auto decoded = media::decode_speech(*media::encode_speech(*original));
        auto recording = media::read_speech_file(heard);
        ASSERT_TRUE(recording) << recording.error().reason;
        const auto c = media::best_correlation(*decoded, *recording, 1600);
        EXPECT_GE(c.coefficient, 0.9) << said << " -> " << heard;
    }
}

TEST_F(Interconnect, PeerWithACertificateFromAnotherCaIsRefused) {
    start(
        [](SystemsBuilder& b) { b.own_ca("B"); });  // B presents a certificate A's CA did not sign
    clients();
    alice_->send("call sip:carol@b.mcx");
    auto failed = alice_->wait("released", 8s);
    ASSERT_TRUE(failed);
    EXPECT_EQ((*failed)["status"], 502) << failed->dump();
    EXPECT_NE((*failed)["reason"].get<std::string>().find("partner MC system B"),
              std::string::npos);
    carol_->send("call sip:alice@a.mcx");
    auto refused = carol_->wait("released", 8s);
    ASSERT_TRUE(refused);
    EXPECT_GE((*refused)["status"].get<int>(), 500) << "B cannot get past A's TLS";
    // A stays in service.
    auto bob = ClientProcess::start(*a_, "bob", "pw-b");
    ASSERT_TRUE(bob->wait("registered"));
    alice_->send("call bob");
    EXPECT_TRUE(alice_->wait("connected"));
}

TEST_F(Interconnect, CallsWithAnUnconfiguredSystemAreRefused) {
    start([](SystemsBuilder& b) { b.without_partner("A", "B"); });  // B thinks A is its partner
    clients();
    alice_->send("call sip:carol@b.mcx");
    auto no_route = alice_->wait("released");
    ASSERT_TRUE(no_route);
    EXPECT_EQ((*no_route)["status"], 404);
    EXPECT_NE((*no_route)["reason"].get<std::string>().find("b.mcx"), std::string::npos);
    carol_->send("call sip:alice@a.mcx");
    auto refused = carol_->wait("released");
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["status"], 403);
    EXPECT_EQ((*refused)["warning"], 179)
        << "service not authorized with the interconnected system";
    EXPECT_EQ(a_->status()["counters"]["partner_refused"], 1);
}

TEST_F(Interconnect, PartnerDownFailsTheCallInBoundedTime) {
    start();
    b_->stop();
    alice_ = ClientProcess::start(*a_, "alice", "pw-a");
    ASSERT_TRUE(alice_->wait("registered"));
    const auto t0 = std::chrono::steady_clock::now();
    alice_->send("call sip:carol@b.mcx");
    auto failed = alice_->wait("released", 10s);
    const auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(failed);
    EXPECT_TRUE((*failed)["status"] == 502 || (*failed)["status"] == 504) << failed->dump();
    EXPECT_NE((*failed)["reason"].get<std::string>().find("partner MC system B"),
              std::string::npos);
    EXPECT_LT(took, 3s) << "the configured interconnect timeout is 2 s";
    auto bob = ClientProcess::start(*a_, "bob", "pw-b");
    ASSERT_TRUE(bob->wait("registered"));
    alice_->send("call bob");
    EXPECT_TRUE(alice_->wait("connected")) << "A keeps serving its own users";
}

TEST_F(Interconnect, BothPcapsDecodeAsSip) {
    if (!have_tshark()) GTEST_SKIP() << "tshark not installed";
    start();
    clients();
    alice_->send("call sip:carol@b.mcx");
    ASSERT_TRUE(carol_->wait("connected"));
    ASSERT_TRUE(alice_->wait("connected"));
    alice_->send("hangup");
    ASSERT_TRUE(carol_->wait("released"));
    alice_.reset();
    carol_.reset();
    a_->stop();
    b_->stop();
    for (const auto& pcap : {a_->pcap_path(), b_->pcap_path()}) {
        const auto check = check_sip_pcap(pcap);
        EXPECT_GT(check.frames, 8) << pcap;
        EXPECT_EQ(check.sip + check.floor, check.frames) << pcap;
        EXPECT_GT(check.floor, 0) << "no floor control in " << pcap;
        EXPECT_EQ(check.malformed, 0) << pcap;
        // The interconnect INVITE (sent over TLS) is in the trace in clear text.
        EXPECT_NE(
            command_output("tshark -r " + pcap +
                           " -Y 'sip.Method == \"INVITE\"' -T fields -e sip.r-uri 2>/dev/null")
                .find("sip:carol@b.mcx"),
            std::string::npos)
            << pcap;
    }
}

}  // namespace
}  // namespace mcx::test
