// The client's floor participant (TS 24.380 6.2), driven directly.
#include "client/floor_participant.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "dot_sync.hpp"

namespace mcx::client {
namespace {

using proto::floor::FloorMessage;
using proto::floor::MessageType;
using P = FloorParticipant;

FloorMessage msg(MessageType type, bool ack = false) {
    FloorMessage m;
    m.type = type;
    m.ack_required = ack;
    m.ssrc = 0x5E5E;
    return m;
}

struct ParticipantTest : ::testing::Test {
    P participant{0xA11CE, 5};
    std::map<P::Timer, std::uint64_t> running;
    P::Effects run(P::Effects e) {
        for (const auto& t : e.timers) {
            if (t.start) {
                running[t.timer] = t.generation;
            } else {
                running.erase(t.timer);
            }
        }
        return e;
    }
    P::Effects expire(P::Timer t) {
        const auto gen = running.at(t);
        running.erase(t);
        return run(participant.on_timer(t, gen));
    }
    static std::vector<MessageType> types(const P::Effects& e) {
        std::vector<MessageType> out;
        for (const auto& m : e.send) out.push_back(m.type);
        return out;
    }
};

TEST_F(ParticipantTest, PressRequestGrantTalkRelease) {
    run(participant.start(false));
    EXPECT_EQ(participant.state(), P::State::has_no_permission);
    auto e = run(participant.press());
    ASSERT_EQ(types(e), std::vector<MessageType>{MessageType::floor_request});
    EXPECT_EQ(e.send[0].floor_priority, 5);
    EXPECT_EQ(participant.state(), P::State::pending_request);
    EXPECT_TRUE(running.count(P::Timer::t101_floor_request));
    e = run(participant.on_message(msg(MessageType::floor_granted, true)));
    EXPECT_EQ(participant.state(), P::State::has_permission);
    EXPECT_TRUE(participant.may_send_media());
    ASSERT_EQ(types(e), std::vector<MessageType>{MessageType::floor_ack});
    EXPECT_EQ(e.send[0].acknowledged_type, MessageType::floor_granted);
    EXPECT_EQ(e.send[0].source, proto::floor::Source::floor_participant);
    ASSERT_EQ(e.notices.size(), 1u);
    EXPECT_EQ(e.notices[0].what, FloorNotice::granted);
    EXPECT_FALSE(running.count(P::Timer::t101_floor_request));
    e = run(participant.release());
    EXPECT_EQ(types(e), std::vector<MessageType>{MessageType::floor_release});
    EXPECT_EQ(participant.state(), P::State::pending_release);
    EXPECT_FALSE(participant.may_send_media());
    e = run(participant.on_message(msg(MessageType::floor_idle)));
    EXPECT_EQ(participant.state(), P::State::has_no_permission);
    EXPECT_FALSE(running.count(P::Timer::t100_floor_release));
    EXPECT_EQ(e.notices[0].what, FloorNotice::idle);
}

TEST_F(ParticipantTest, ImplicitRequestWaitsForTheGrant) {
    auto e = run(participant.start(true));
    EXPECT_TRUE(e.send.empty()) << "the INVITE was the request";
    EXPECT_EQ(participant.state(), P::State::pending_request);
    EXPECT_TRUE(running.count(P::Timer::t101_floor_request));
    run(participant.on_message(msg(MessageType::floor_granted)));
    EXPECT_TRUE(participant.may_send_media());
}

TEST_F(ParticipantTest, RequestIsRetransmittedAtT101ThenGivenUp) {
    run(participant.start(false));
    run(participant.press());
    for (int i = 0; i < 2; ++i) {
        auto e = expire(P::Timer::t101_floor_request);
        EXPECT_EQ(types(e), std::vector<MessageType>{MessageType::floor_request});
    }
    auto e = expire(P::Timer::t101_floor_request);  // C101 = 3
    EXPECT_TRUE(e.send.empty());
    EXPECT_EQ(participant.state(), P::State::has_no_permission);
    EXPECT_EQ(e.notices[0].what, FloorNotice::request_timeout);
}

TEST_F(ParticipantTest, ReleaseIsRetransmittedAtT100) {
    run(participant.start(true));
    run(participant.on_message(msg(MessageType::floor_granted)));
    run(participant.release());
    auto e = expire(P::Timer::t100_floor_release);
    EXPECT_EQ(types(e), std::vector<MessageType>{MessageType::floor_release});
    expire(P::Timer::t100_floor_release);
    expire(P::Timer::t100_floor_release);
    EXPECT_EQ(participant.state(), P::State::has_no_permission);
}

TEST_F(ParticipantTest, DenyCarriesTheCause) {
    run(participant.start(false));
    run(participant.press());
    auto deny = msg(MessageType::floor_deny);
    deny.reject_cause = proto::floor::RejectCause{1, "Another MCPTT client has permission"};
    auto e = run(participant.on_message(deny));
    EXPECT_EQ(participant.state(), P::State::has_no_permission);
    ASSERT_EQ(e.notices.size(), 1u);
    EXPECT_EQ(e.notices[0].what, FloorNotice::denied);
    EXPECT_EQ(e.notices[0].cause, 1);
    EXPECT_EQ(e.notices[0].phrase, "Another MCPTT client has permission");
}

TEST_F(ParticipantTest, QueuedThenGranted) {
    run(participant.start(false));
    run(participant.press());
    auto info = msg(MessageType::floor_queue_position_info);
    info.queue_info = proto::floor::QueueInfo{1, 5};
    auto e = run(participant.on_message(info));
    EXPECT_EQ(participant.state(), P::State::queued);
    EXPECT_EQ(e.notices[0].position, 1);
    EXPECT_FALSE(running.count(P::Timer::t101_floor_request));
    run(participant.on_message(msg(MessageType::floor_granted)));
    EXPECT_EQ(participant.state(), P::State::has_permission);
}

TEST_F(ParticipantTest, TakenTellsWhoTalks) {
    run(participant.start(false));
    auto taken = msg(MessageType::floor_taken, true);
    taken.granted_party_identity = "sip:bob@a.mcx";
    auto e = run(participant.on_message(taken));
    EXPECT_EQ(participant.state(), P::State::has_no_permission);
    EXPECT_EQ(e.notices[0].by, "sip:bob@a.mcx");
    EXPECT_EQ(types(e), std::vector<MessageType>{MessageType::floor_ack});
}

TEST_F(ParticipantTest, RevokeStopsMediaAndReleases) {
    run(participant.start(true));
    run(participant.on_message(msg(MessageType::floor_granted)));
    auto revoke = msg(MessageType::floor_revoke);
    revoke.reject_cause = proto::floor::RejectCause{2, "Media burst too long"};
    auto e = run(participant.on_message(revoke));
    EXPECT_FALSE(participant.may_send_media());
    EXPECT_EQ(participant.state(), P::State::pending_release);
    EXPECT_EQ(types(e), std::vector<MessageType>{MessageType::floor_release});
    EXPECT_EQ(e.notices[0].what, FloorNotice::revoked);
    EXPECT_EQ(e.notices[0].cause, 2);
}

TEST_F(ParticipantTest, UnexpectedMessagesAreCountedAndIgnored) {
    EXPECT_TRUE(participant.on_message(msg(MessageType::floor_granted)).send.empty());
    run(participant.start(false));
    run(participant.on_message(msg(MessageType::floor_granted)));
    run(participant.on_message(msg(MessageType::floor_request)));
    EXPECT_EQ(participant.state(), P::State::has_no_permission);
    EXPECT_EQ(participant.unexpected_messages(), 3u);
    EXPECT_TRUE(run(participant.press()).send.size() == 1);
    EXPECT_TRUE(run(participant.press()).send.empty())
        << "a second press while pending does nothing";
}

TEST_F(ParticipantTest, StopCancelsTimers) {
    run(participant.start(false));
    run(participant.press());
    run(participant.stop());
    EXPECT_TRUE(running.empty());
    EXPECT_EQ(participant.state(), P::State::releasing);
}

// floor_participant.dot draws exactly what the participant does: driven into each state and
// given every user action, floor message (without the ack bit, whose Floor Ack is sent in every
// state but Start-stop and Releasing) and expiry of a running timer.
struct DrivenParticipant {
    P participant;
    std::map<P::Timer, std::uint64_t> running;

    test::Outcome take(const P::Effects& e, std::uint64_t unexpected_before) {
        for (const auto& t : e.timers) {
            if (t.start) {
                running[t.timer] = t.generation;
            } else {
                running.erase(t.timer);
            }
        }
        const bool acted = !e.send.empty() || !e.timers.empty() || !e.notices.empty();
        return acted && participant.unexpected_messages() == unexpected_before
                   ? test::Outcome::handled
                   : test::Outcome::ignored;
    }
};

std::string expiry(P::Timer timer) {
    switch (timer) {
        case P::Timer::t100_floor_release:
            return "T100 expired";
        case P::Timer::t101_floor_request:
            return "T101 expired";
    }
    return "unknown";
}

TEST(FloorParticipant, DotDiagramMatchesTheCode) {
    using Input = test::Input<DrivenParticipant>;
    auto action = [](std::string event, auto call) {
        return Input{event, [call](DrivenParticipant& d) {
                         const auto before = d.participant.unexpected_messages();
                         return d.take(call(d.participant), before);
                     }};
    };
    std::vector<Input> inputs{
        action("start", [](P& p) { return p.start(false); }),
        action("start (implicit request)", [](P& p) { return p.start(true); }),
        action("press", [](P& p) { return p.press(); }),
        action("release", [](P& p) { return p.release(); }),
        action("stop", [](P& p) { return p.stop(); }),
    };
    for (auto type : proto::floor::kMessageTypes) {
        inputs.push_back(action(proto::floor::to_string(type),
                                [type](P& p) { return p.on_message(msg(type)); }));
    }
    for (auto timer : kFloorParticipantTimers) {
        inputs.push_back({expiry(timer), [timer](DrivenParticipant& d) {
                              const auto it = d.running.find(timer);
                              if (it == d.running.end()) return test::Outcome::not_applicable;
                              const auto generation = it->second;
                              d.running.erase(it);  // it fires
                              const auto before = d.participant.unexpected_messages();
                              return d.take(d.participant.on_timer(timer, generation), before);
                          }});
    }
    auto with = [](unsigned attempts) {
        return [attempts] {
            ParticipantTimers timers;
            timers.c100_floor_release = attempts;
            timers.c101_floor_request = attempts;
            return DrivenParticipant{P{0xA11CE, 5, timers}, {}};
        };
    };
    const auto usual = with(3);
    const auto at_limit = with(1);  // the next expiry of T100 or T101 is the one at C100 / C101
    const std::vector<test::Recipe<DrivenParticipant>> recipes{
        {"Start-stop", usual, {}},
        {"U: has no permission", usual, {"start"}},
        {"U: pending Request", usual, {"start", "press"}},
        {"U: pending Request", at_limit, {"start", "press"}},
        {"U: has permission", usual, {"start", "press", "Floor Granted"}},
        {"U: pending Release", usual, {"start", "press", "Floor Granted", "release"}},
        {"U: pending Release", at_limit, {"start", "press", "Floor Granted", "release"}},
        {"U: queued", usual, {"start", "press", "Floor Queue Position Info"}},
        {"Releasing", usual, {"stop"}},
    };
    std::vector<std::string> states;
    for (auto s : kFloorParticipantStates) states.push_back(to_string(s));
    const auto coded = test::driven_edges(states, recipes, inputs, [](const DrivenParticipant& d) {
        return std::string(to_string(d.participant.state()));
    });
    EXPECT_TRUE(test::dot_matches("src/client/floor_participant.dot", coded));
}

}  // namespace
}  // namespace mcx::client
