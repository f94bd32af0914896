// The controlling function's floor control server for a private call (TS 24.380 6.3), driven
// directly: no sockets, timers fired by the test.
#include "server/floor_control_server.hpp"

#include <gtest/gtest.h>

#include <map>

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

}  // namespace
}  // namespace mcx::server
