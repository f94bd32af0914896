#include "client/call_state.hpp"

#include <gtest/gtest.h>

#include <string>

#include "dot_sync.hpp"

namespace mcx::client {
namespace {

TEST(CallState, CallerPathThroughAlertingToRelease) {
    auto s = CallState::idle;
    s = *next_state(s, CallEvent::dial);
    EXPECT_EQ(s, CallState::originating);
    s = *next_state(s, CallEvent::alerting);
    EXPECT_EQ(s, CallState::remote_alerting);
    s = *next_state(s, CallEvent::answered);
    EXPECT_EQ(s, CallState::connected);
    EXPECT_EQ(next_state(s, CallEvent::local_release), CallState::released);
}

TEST(CallState, ManualCalleeAcceptsOrRejects) {
    auto s = *next_state(CallState::idle, CallEvent::incoming_manual);
    EXPECT_EQ(s, CallState::incoming);
    EXPECT_EQ(next_state(s, CallEvent::user_accept), CallState::connected);
    EXPECT_EQ(next_state(s, CallEvent::user_reject), CallState::released);
    EXPECT_EQ(next_state(s, CallEvent::remote_release), CallState::released) << "caller cancels";
}

TEST(CallState, AutomaticCalleeIsConnectedAtOnce) {
    EXPECT_EQ(next_state(CallState::idle, CallEvent::incoming_auto), CallState::connected);
}

TEST(CallState, CallsBeingSetUpOrConnectedCanBeSuspended) {
    // TS 23.280 10.16.3 step 1: the call is released for migration and kept suspended.
    EXPECT_EQ(next_state(CallState::connected, CallEvent::suspend), CallState::suspended);
    EXPECT_EQ(next_state(CallState::originating, CallEvent::suspend), CallState::suspended);
    EXPECT_EQ(next_state(CallState::remote_alerting, CallEvent::suspend), CallState::suspended);
    EXPECT_FALSE(next_state(CallState::incoming, CallEvent::suspend)) << "not accepted yet";
    EXPECT_FALSE(next_state(CallState::idle, CallEvent::suspend));
    EXPECT_FALSE(next_state(CallState::released, CallEvent::suspend));
}

TEST(CallState, SuspendedCallIsResumedFromTheNewSystem) {
    // 10.16.3 step 3: our resume INVITE is a new call, set up as any other.
    auto s = *next_state(CallState::connected, CallEvent::suspend);
    s = *next_state(s, CallEvent::resume);
    EXPECT_EQ(s, CallState::originating);
    s = *next_state(s, CallEvent::answered);
    EXPECT_EQ(s, CallState::connected);
}

TEST(CallState, PeersResumeIsAnsweredAtOnce) {
    EXPECT_EQ(next_state(CallState::suspended, CallEvent::resume_incoming), CallState::connected);
}

TEST(CallState, SuspendedCallEnds) {
    EXPECT_EQ(next_state(CallState::suspended, CallEvent::expire), CallState::released);
    EXPECT_EQ(next_state(CallState::suspended, CallEvent::local_release), CallState::released);
    EXPECT_EQ(next_state(CallState::suspended, CallEvent::refused), CallState::released)
        << "restricted by the new profile (10.16.3 NOTE 2)";
}

TEST(CallState, SuspendedCallTakesOnlyMigrationEvents) {
    EXPECT_FALSE(next_state(CallState::suspended, CallEvent::remote_release))
        << "the old dialog is gone";
    EXPECT_FALSE(next_state(CallState::suspended, CallEvent::answered));
    EXPECT_FALSE(next_state(CallState::suspended, CallEvent::dial));
    EXPECT_FALSE(next_state(CallState::suspended, CallEvent::suspend));
    for (auto s : kCallStates) {
        if (s == CallState::suspended) continue;
        EXPECT_FALSE(next_state(s, CallEvent::resume)) << to_string(s);
        EXPECT_FALSE(next_state(s, CallEvent::resume_incoming)) << to_string(s);
        EXPECT_FALSE(next_state(s, CallEvent::expire)) << to_string(s);
    }
}

TEST(CallState, WrongEventsAreRefused) {
    EXPECT_FALSE(next_state(CallState::idle, CallEvent::answered));
    EXPECT_FALSE(next_state(CallState::originating, CallEvent::user_accept));
    EXPECT_FALSE(next_state(CallState::released, CallEvent::dial));
    EXPECT_FALSE(next_state(CallState::connected, CallEvent::dial));
}

// The .dot diagram next to the state machine lists exactly the transitions next_state allows.
TEST(CallState, DotDiagramMatchesTheCode) {
    const auto coded = test::table_edges(
        kCallStates, kCallEvents, next_state,
        [](CallState s) { return test::dot_id(to_string(s)); },
        [](CallEvent e) { return std::string(to_string(e)); });
    EXPECT_TRUE(test::dot_matches("src/client/call_state.dot", coded));
}

}  // namespace
}  // namespace mcx::client
