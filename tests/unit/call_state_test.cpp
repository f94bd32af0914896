#include "client/call_state.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mcx::client

#include <fstream>
#include <regex>
#include <set>
#include <tuple>

namespace mcx::client {
namespace {

// The .dot diagram next to the state machine lists exactly the transitions next_state allows.
TEST(CallState, DotDiagramMatchesTheCode) {
    std::ifstream dot(MCX_TEST_SOURCE_DIR "/src/client/call_state.dot");
    ASSERT_TRUE(dot) << "call_state.dot missing";
    const std::regex edge(R"re((\w+) -> (\w+) \[label="([\w-]+)"\];)re");
    std::set<std::tuple<std::string, std::string, std::string>> drawn;
    for (std::string line; std::getline(dot, line);) {
        std::smatch m;
        if (std::regex_search(line, m, edge)) drawn.insert({m[1], m[2], m[3]});
    }
    auto dot_name = [](const char* s) {
        std::string n = s;
        for (auto& c : n) {
            if (c == '-') c = '_';
        }
        return n;
    };
    std::set<std::tuple<std::string, std::string, std::string>> coded;
    const CallState states[] = {
        CallState::idle,     CallState::originating, CallState::remote_alerting,
        CallState::incoming, CallState::connected,   CallState::released,
        CallState::suspended};
    const CallEvent events[] = {
        CallEvent::dial,          CallEvent::alerting,        CallEvent::answered,
        CallEvent::refused,       CallEvent::incoming_manual, CallEvent::incoming_auto,
        CallEvent::user_accept,   CallEvent::user_reject,     CallEvent::remote_release,
        CallEvent::local_release, CallEvent::suspend};
    for (auto s : states) {
        for (auto e : events) {
            if (auto next = next_state(s, e)) {
                coded.insert({dot_name(to_string(s)), dot_name(to_string(*next)), to_string(e)});
            }
        }
    }
    EXPECT_EQ(drawn, coded);
}

}  // namespace
}  // namespace mcx::client
