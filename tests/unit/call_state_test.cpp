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

TEST(CallState, OnlyConnectedCallsCanBeSuspended) {
    EXPECT_EQ(next_state(CallState::connected, CallEvent::suspend), CallState::suspended);
    EXPECT_FALSE(next_state(CallState::originating, CallEvent::suspend));
    EXPECT_FALSE(next_state(CallState::incoming, CallEvent::suspend));
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
