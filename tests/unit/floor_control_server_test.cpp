// The controlling function's floor control server for a private call (TS 24.380 6.3), driven
// directly: no sockets, timers fired by the test.
#include "server/floor_control_server.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "dot_sync.hpp"

namespace mcx::server {
namespace {

using proto::floor::FloorMessage;
using proto::floor::MessageType;
using Server = FloorControlServer;
constexpr std::size_t kAlice = 0;
constexpr std::size_t kBob = 1;

// Remembers the latest generation of each running timer, as the event loop glue would.
struct Timers {
    std::map<Server::Timer, std::uint64_t> running;
    void apply(const Server::Effects& e) {
        for (const auto& t : e.timers) {
            if (t.start) {
                running[t.timer] = t.generation;
            } else {
                running.erase(t.timer);
            }
        }
    }
    bool is_running(Server::Timer t) const { return running.count(t) != 0; }
};

FloorMessage msg(MessageType type, bool ack = false) {
    FloorMessage m;
    m.type = type;
    m.ack_required = ack;
    m.ssrc = 0xA11CE;
    return m;
}

std::vector<MessageType> sent_to(const Server::Effects& e, std::size_t to) {
    std::vector<MessageType> out;
    for (const auto& s : e.send) {
        if (s.to == to) out.push_back(s.message.type);
    }
    return out;
}

const FloorMessage* first(const Server::Effects& e, std::size_t to, MessageType type) {
    for (const auto& s : e.send) {
        if (s.to == to && s.message.type == type) return &s.message;
    }
    return nullptr;
}

struct FloorServerTest : ::testing::Test {
    Server server{{{"sip:alice@a.mcx", false, 5}, {"sip:bob@a.mcx", false, 3}}, 0x5E5E};
    Timers timers;
    Server::Effects run(Server::Effects e) {
        timers.apply(e);
        return e;
    }
    Server::Effects expire(Server::Timer t) {
        auto gen = timers.running.at(t);
        timers.running.erase(t);
        return run(server.on_timer(t, gen));
    }
};

TEST_F(FloorServerTest, ImplicitRequestGrantsTheCallerAndTellsTheCallee) {
    auto e = run(server.start(kAlice));
    EXPECT_EQ(server.state(), Server::State::floor_taken);
    EXPECT_EQ(server.holder(), kAlice);
    const auto* granted = first(e, kAlice, MessageType::floor_granted);
    ASSERT_NE(granted, nullptr);
    EXPECT_TRUE(granted->ack_required);
    EXPECT_EQ(granted->duration, 30);
    EXPECT_EQ(granted->floor_priority, 5);
    EXPECT_EQ(granted->ssrc, 0x5E5Eu);
    const auto* taken = first(e, kBob, MessageType::floor_taken);
    ASSERT_NE(taken, nullptr);
    EXPECT_EQ(taken->granted_party_identity, "sip:alice@a.mcx");
    EXPECT_EQ(taken->permission_to_request, true);
    ASSERT_TRUE(taken->message_sequence_number);
    EXPECT_TRUE(timers.is_running(Server::Timer::t1_end_of_rtp));
    EXPECT_TRUE(timers.is_running(Server::Timer::t2_stop_talking));
    EXPECT_TRUE(timers.is_running(Server::Timer::t20_floor_granted));
}

TEST_F(FloorServerTest, WithoutImplicitRequestBothSeeFloorIdle) {
    auto e = run(server.start(std::nullopt));
    EXPECT_EQ(server.state(), Server::State::floor_idle);
    EXPECT_EQ(sent_to(e, kAlice), std::vector<MessageType>{MessageType::floor_idle});
    EXPECT_EQ(sent_to(e, kBob), std::vector<MessageType>{MessageType::floor_idle});
}

TEST_F(FloorServerTest, GrantedIsRetransmittedUntilAckedThenGivenUp) {
    run(server.start(kAlice));
    for (int i = 0; i < 2; ++i) {
        auto e = expire(Server::Timer::t20_floor_granted);
        EXPECT_EQ(sent_to(e, kAlice), std::vector<MessageType>{MessageType::floor_granted});
    }
    auto e = expire(Server::Timer::t20_floor_granted);  // C20 = 3 attempts reached
    EXPECT_TRUE(e.send.empty());
    EXPECT_EQ(server.holder(), kAlice) << "the grant stands; T1 decides if alice is gone";
}

TEST_F(FloorServerTest, FloorAckStopsT20AndStaleExpiryIsIgnored) {
    run(server.start(kAlice));
    const auto stale = timers.running.at(Server::Timer::t20_floor_granted);
    auto ack = msg(MessageType::floor_ack);
    ack.acknowledged_type = MessageType::floor_granted;
    run(server.on_message(kAlice, ack));
    EXPECT_FALSE(timers.is_running(Server::Timer::t20_floor_granted));
    EXPECT_TRUE(server.on_timer(Server::Timer::t20_floor_granted, stale).send.empty());
}

TEST_F(FloorServerTest, RequestWhileTakenIsDeniedWithoutQueueing) {
    run(server.start(kAlice));
    auto e = run(server.on_message(kBob, msg(MessageType::floor_request)));
    const auto* deny = first(e, kBob, MessageType::floor_deny);
    ASSERT_NE(deny, nullptr);
    EXPECT_EQ(deny->reject_cause->code, proto::floor::deny_cause::another_client_has_permission);
    EXPECT_EQ(server.holder(), kAlice);
    EXPECT_EQ(server.counters().denials, 1u);
}

TEST_F(FloorServerTest, ReleaseMakesTheFloorIdleForBoth) {
    run(server.start(kAlice));
    auto e = run(server.on_message(kAlice, msg(MessageType::floor_release, true)));
    EXPECT_EQ(server.state(), Server::State::floor_idle);
    EXPECT_FALSE(server.holder());
    EXPECT_EQ(sent_to(e, kAlice),
              (std::vector<MessageType>{MessageType::floor_ack, MessageType::floor_idle}));
    EXPECT_EQ(sent_to(e, kBob), std::vector<MessageType>{MessageType::floor_idle});
    EXPECT_FALSE(timers.is_running(Server::Timer::t1_end_of_rtp));
    EXPECT_FALSE(timers.is_running(Server::Timer::t2_stop_talking));
    // Then bob may talk.
    e = run(server.on_message(kBob, msg(MessageType::floor_request)));
    EXPECT_EQ(server.holder(), kBob);
    EXPECT_NE(first(e, kBob, MessageType::floor_granted), nullptr);
    EXPECT_EQ(first(e, kAlice, MessageType::floor_taken)->granted_party_identity, "sip:bob@a.mcx");
}

TEST_F(FloorServerTest, SequenceNumberAdvancesWithEachFloorChange) {
    auto e = run(server.start(kAlice));
    const auto taken_seq = *first(e, kBob, MessageType::floor_taken)->message_sequence_number;
    e = run(server.on_message(kAlice, msg(MessageType::floor_release)));
    const auto idle_seq = *first(e, kBob, MessageType::floor_idle)->message_sequence_number;
    EXPECT_EQ(idle_seq, static_cast<std::uint16_t>(taken_seq + 1));
}

TEST(FloorServerQueue, QueuedRequestIsGrantedOnRelease) {
    Server server{{{"sip:alice@a.mcx", true, 1}, {"sip:bob@a.mcx", true, 1}}, 1};
    server.start(kAlice);
    auto e = server.on_message(kBob, msg(MessageType::floor_request));
    const auto* info = first(e, kBob, MessageType::floor_queue_position_info);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->queue_info->position, 1);
    EXPECT_EQ(server.queue().size(), 1u);
    e = server.on_message(kBob, msg(MessageType::floor_queue_position_request));
    EXPECT_NE(first(e, kBob, MessageType::floor_queue_position_info), nullptr);
    e = server.on_message(kAlice, msg(MessageType::floor_release));
    EXPECT_EQ(server.holder(), kBob);
    EXPECT_NE(first(e, kBob, MessageType::floor_granted), nullptr);
    EXPECT_EQ(first(e, kAlice, MessageType::floor_taken)->granted_party_identity, "sip:bob@a.mcx");
    EXPECT_TRUE(server.queue().empty());
}

TEST(FloorServerQueue, QueuedParticipantMayWithdraw) {
    Server server{{{"sip:alice@a.mcx", true, 1}, {"sip:bob@a.mcx", true, 1}}, 1};
    server.start(kAlice);
    server.on_message(kBob, msg(MessageType::floor_request));
    auto e = server.on_message(kBob, msg(MessageType::floor_release));
    EXPECT_TRUE(server.queue().empty());
    EXPECT_NE(first(e, kBob, MessageType::floor_taken), nullptr);
    e = server.on_message(kAlice, msg(MessageType::floor_release));
    EXPECT_EQ(server.state(), Server::State::floor_idle);
}

TEST_F(FloorServerTest, MediaIsGatedToTheHolderAndRestartsT1) {
    run(server.start(kAlice));
    Server::Effects e;
    EXPECT_TRUE(server.on_rtp(kAlice, e));
    ASSERT_EQ(e.timers.size(), 1u);
    EXPECT_EQ(e.timers[0].timer, Server::Timer::t1_end_of_rtp);
    EXPECT_FALSE(server.on_rtp(kBob, e));
    EXPECT_EQ(server.counters().media_dropped, 1u);
}

TEST_F(FloorServerTest, SilentHolderLosesTheFloorAtT1) {
    run(server.start(kAlice));
    auto e = expire(Server::Timer::t1_end_of_rtp);
    EXPECT_EQ(server.state(), Server::State::floor_idle);
    EXPECT_NE(first(e, kBob, MessageType::floor_idle), nullptr);
}

TEST_F(FloorServerTest, LongBurstIsRevokedAtT2AndReleasedAfterT3) {
    run(server.start(kAlice));
    auto e = expire(Server::Timer::t2_stop_talking);
    const auto* revoke = first(e, kAlice, MessageType::floor_revoke);
    ASSERT_NE(revoke, nullptr);
    EXPECT_EQ(revoke->reject_cause->code, proto::floor::revoke_cause::media_burst_too_long);
    EXPECT_EQ(server.state(), Server::State::pending_floor_revoke);
    e = expire(Server::Timer::t3_stop_talking_grace);
    EXPECT_EQ(server.state(), Server::State::floor_idle);
}

TEST_F(FloorServerTest, RevokedHolderReleasingEndsThePendingRevoke) {
    run(server.start(kAlice));
    expire(Server::Timer::t2_stop_talking);
    run(server.on_message(kAlice, msg(MessageType::floor_release)));
    EXPECT_EQ(server.state(), Server::State::floor_idle);
    EXPECT_FALSE(timers.is_running(Server::Timer::t3_stop_talking_grace));
}

TEST_F(FloorServerTest, WrongMessagesAreCountedAndChangeNothing) {
    EXPECT_TRUE(server.on_message(kAlice, msg(MessageType::floor_request)).send.empty())
        << "before the call is established";
    run(server.start(std::nullopt));
    for (auto type : {MessageType::floor_granted, MessageType::floor_taken, MessageType::floor_idle,
                      MessageType::floor_deny, MessageType::floor_revoke}) {
        EXPECT_TRUE(server.on_message(kBob, msg(type)).send.empty());
    }
    EXPECT_TRUE(server.on_message(7, msg(MessageType::floor_request)).send.empty());
    EXPECT_EQ(server.state(), Server::State::floor_idle);
    EXPECT_EQ(server.counters().unexpected_messages, 7u);
}

TEST_F(FloorServerTest, StopCancelsEverything) {
    run(server.start(kAlice));
    run(server.stop());
    EXPECT_TRUE(timers.running.empty());
    EXPECT_EQ(server.state(), Server::State::releasing);
    EXPECT_TRUE(server.on_message(kBob, msg(MessageType::floor_request)).send.empty());
}

// floor_control_server.dot draws exactly what the server does: driven into each state (with and
// without queueing, with the other party queued or not) and given every message from the holder
// and from the other party (without the ack bit), RTP from each, and the expiry of each running
// timer.
struct DrivenServer {
    Server server;
    Timers timers;

    std::size_t other() const { return server.holder() == kAlice ? kBob : kAlice; }
    test::Outcome take(const Server::Effects& e, std::uint64_t unexpected_before) {
        timers.apply(e);
        const bool acted = !e.send.empty() || !e.timers.empty();
        return acted && server.counters().unexpected_messages == unexpected_before
                   ? test::Outcome::handled
                   : test::Outcome::ignored;
    }
};

std::string expiry(Server::Timer timer) {
    switch (timer) {
        case Server::Timer::t1_end_of_rtp:
            return "T1 expired";
        case Server::Timer::t2_stop_talking:
            return "T2 expired";
        case Server::Timer::t3_stop_talking_grace:
            return "T3 expired";
        case Server::Timer::t20_floor_granted:
            return "T20 expired";
    }
    return "unknown";
}

TEST(FloorControlServer, DotDiagramMatchesTheCode) {
    using Input = test::Input<DrivenServer>;
    auto action = [](std::string event, auto call) {
        return Input{event, [call](DrivenServer& d) {
                         const auto before = d.server.counters().unexpected_messages;
                         return d.take(call(d.server), before);
                     }};
    };
    std::vector<Input> inputs{
        action("start", [](Server& s) { return s.start(std::nullopt); }),
        action("start (implicit request)", [](Server& s) { return s.start(kAlice); }),
        action("stop", [](Server& s) { return s.stop(); }),
    };
    for (auto type : proto::floor::kMessageTypes) {
        auto m = msg(type);
        if (type == MessageType::floor_ack) m.acknowledged_type = MessageType::floor_granted;
        const std::string name = proto::floor::to_string(type);
        inputs.push_back({name + " from holder", [m](DrivenServer& d) {
                              if (!d.server.holder()) return test::Outcome::not_applicable;
                              const auto before = d.server.counters().unexpected_messages;
                              return d.take(d.server.on_message(*d.server.holder(), m), before);
                          }});
        inputs.push_back({name, [m](DrivenServer& d) {
                              const auto before = d.server.counters().unexpected_messages;
                              return d.take(d.server.on_message(d.other(), m), before);
                          }});
    }
    inputs.push_back({"RTP from holder", [](DrivenServer& d) {
                          if (!d.server.holder()) return test::Outcome::not_applicable;
                          Server::Effects e;
                          d.server.on_rtp(*d.server.holder(), e);
                          return d.take(e, d.server.counters().unexpected_messages);
                      }});
    inputs.push_back({"RTP", [](DrivenServer& d) {
                          Server::Effects e;
                          d.server.on_rtp(d.other(), e);
                          return d.take(e, d.server.counters().unexpected_messages);
                      }});
    for (auto timer : kFloorControlServerTimers) {
        inputs.push_back({expiry(timer), [timer](DrivenServer& d) {
                              const auto it = d.timers.running.find(timer);
                              if (it == d.timers.running.end())
                                  return test::Outcome::not_applicable;
                              const auto generation = it->second;
                              d.timers.running.erase(it);  // it fires
                              const auto before = d.server.counters().unexpected_messages;
                              return d.take(d.server.on_timer(timer, generation), before);
                          }});
    }
    auto with = [](bool queueing) {
        return [queueing] {
            return DrivenServer{
                Server{{{"sip:alice@a.mcx", queueing, 5}, {"sip:bob@a.mcx", queueing, 3}}, 0x5E5E},
                {}};
        };
    };
    const auto no_queue = with(false);
    const auto queue = with(true);
    const std::vector<test::Recipe<DrivenServer>> recipes{
        {"Start-stop", no_queue, {}},
        {"G: Floor Idle", no_queue, {"start"}},
        {"G: Floor Taken", no_queue, {"start (implicit request)"}},
        {"G: Floor Taken", queue, {"start (implicit request)"}},
        {"G: Floor Taken", queue, {"start (implicit request)", "Floor Request"}},
        {"G: pending Floor Revoke", no_queue, {"start (implicit request)", "T2 expired"}},
        {"G: pending Floor Revoke",
         queue,
         {"start (implicit request)", "Floor Request", "T2 expired"}},
        {"Releasing", no_queue, {"stop"}},
    };
    std::vector<std::string> states;
    for (auto s : kFloorControlServerStates) states.push_back(to_string(s));
    const auto coded = test::driven_edges(states, recipes, inputs, [](const DrivenServer& d) {
        return std::string(to_string(d.server.state()));
    });
    EXPECT_TRUE(test::dot_matches("src/server/floor_control_server.dot", coded));
}

}  // namespace
}  // namespace mcx::server
