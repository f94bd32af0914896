// The controlling function's private-call states (server/private_call.hpp), through the pure
// PrivateCall::next(); the SIP legs are exercised by tests/integration/private_call_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "dot_sync.hpp"
#include "server/private_call.hpp"

namespace mcx::server {
namespace {

using State = PrivateCall::State;
using Event = PrivateCall::Event;

TEST(PrivateCallState, CalleeAnswersAfterAlerting) {
    auto s = *PrivateCall::next(State::initiating, Event::callee_alerting);
    EXPECT_EQ(s, State::alerting);
    EXPECT_EQ(PrivateCall::next(s, Event::callee_alerting), State::alerting) << "180 then 183";
    EXPECT_EQ(PrivateCall::next(s, Event::callee_answered), State::connected);
    EXPECT_EQ(PrivateCall::next(State::initiating, Event::callee_answered), State::connected);
}

TEST(PrivateCallState, EitherPartyOrTheServerEndsALiveCall) {
    for (auto s : {State::initiating, State::alerting, State::connected}) {
        for (auto e : {Event::caller_release, Event::callee_release, Event::server_release}) {
            EXPECT_EQ(PrivateCall::next(s, e), State::released) << to_string(s) << to_string(e);
        }
    }
}

TEST(PrivateCallState, OnlyAnUnansweredCallFailsOrTimesOut) {
    for (auto e : {Event::callee_refused, Event::answer_unusable, Event::no_answer}) {
        EXPECT_EQ(PrivateCall::next(State::initiating, e), State::released) << to_string(e);
        EXPECT_EQ(PrivateCall::next(State::alerting, e), State::released) << to_string(e);
        EXPECT_FALSE(PrivateCall::next(State::connected, e)) << to_string(e);
    }
    EXPECT_EQ(PrivateCall::next(State::initiating, Event::partner_timeout), State::released);
    EXPECT_FALSE(PrivateCall::next(State::alerting, Event::partner_timeout))
        << "the partner has answered";
}

TEST(PrivateCallState, LateProvisionalDoesNotReopenTheCall) {
    EXPECT_FALSE(PrivateCall::next(State::connected, Event::callee_alerting));
    EXPECT_FALSE(PrivateCall::next(State::connected, Event::callee_answered));
    for (auto e : kPrivateCallEvents) {
        EXPECT_FALSE(PrivateCall::next(State::released, e)) << to_string(e);
    }
}

TEST(PrivateCallState, DotDiagramMatchesTheCode) {
    const auto coded = test::table_edges(
        kPrivateCallStates, kPrivateCallEvents, PrivateCall::next,
        [](State s) { return test::dot_id(to_string(s)); },
        [](Event e) { return std::string(to_string(e)); });
    EXPECT_TRUE(test::dot_matches("src/server/private_call.dot", coded));
}

}  // namespace
}  // namespace mcx::server
