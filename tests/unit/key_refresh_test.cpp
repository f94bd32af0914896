// KeyRefreshSchedule: when a partner IdMS's key is fetched again (pure, time passed in;
// docs/identity.md, "Tokens for a partner MC system").
#include "idms/key_refresh.hpp"

#include <gtest/gtest.h>

namespace mcx::idms {
namespace {

using namespace std::chrono_literals;
using TimePoint = KeyRefreshSchedule::TimePoint;

constexpr KeyRefreshPolicy kPolicy{250ms, 2'000ms, 3'600'000ms, 10'000ms};
const TimePoint t0{};

TEST(KeyRefreshSchedule, FirstFetchAtOnceThenRefreshOnSchedule) {
    KeyRefreshSchedule s(kPolicy, t0);
    EXPECT_TRUE(s.due(t0));
    s.fetched(t0 + 5ms);
    EXPECT_FALSE(s.due(t0 + 5ms + 3'599s));
    EXPECT_EQ(s.next_fetch(), t0 + 5ms + 3600s);
    EXPECT_TRUE(s.due(s.next_fetch()));
    EXPECT_EQ(s.attempts(), 1);
}

TEST(KeyRefreshSchedule, FailuresBackOffDoublingUpToTheMostAndSuccessResets) {
    KeyRefreshSchedule s(kPolicy, t0);
    auto now = t0;
    for (const auto wait : {250ms, 500ms, 1'000ms, 2'000ms, 2'000ms}) {
        s.failed(now);
        EXPECT_EQ(s.next_fetch(), now + wait);
        now = s.next_fetch();
    }
    s.fetched(now);
    s.failed(now + 3600s);  // a failed refresh starts the backoff again from the first retry
    EXPECT_EQ(s.next_fetch(), now + 3600s + 250ms);
}

TEST(KeyRefreshSchedule, WantedKeyBringsTheRetryForwardOnlyToTheFirstRetry) {
    KeyRefreshSchedule s(kPolicy, t0);
    EXPECT_FALSE(s.key_wanted(t0)) << "the first fetch is due anyway";
    for (int i = 0; i < 5; ++i) s.failed(t0);  // backoff now at 2 s
    EXPECT_EQ(s.next_fetch(), t0 + 2'000ms);
    EXPECT_TRUE(s.key_wanted(t0 + 10ms));
    EXPECT_EQ(s.next_fetch(), t0 + 250ms);
    EXPECT_FALSE(s.key_wanted(t0 + 20ms)) << "a flood of tokens moves nothing further";
    EXPECT_EQ(s.next_fetch(), t0 + 250ms);
}

TEST(KeyRefreshSchedule, UnknownKidRefetchesRateLimited) {
    KeyRefreshSchedule s(kPolicy, t0);
    s.fetched(t0);
    // A token names another kid 1 s after the fetch: no sooner than 10 s after it.
    EXPECT_TRUE(s.unknown_kid(t0 + 1s));
    EXPECT_EQ(s.next_fetch(), t0 + 10s);
    EXPECT_FALSE(s.unknown_kid(t0 + 2s));
    EXPECT_EQ(s.next_fetch(), t0 + 10s);
    s.fetched(t0 + 10s);
    EXPECT_EQ(s.next_fetch(), t0 + 10s + 3600s);
    // Long after the last fetch: at once.
    EXPECT_TRUE(s.unknown_kid(t0 + 100s));
    EXPECT_TRUE(s.due(t0 + 100s));
    s.fetched(t0 + 100s);
    // Tokens with made-up kids, one per 100 ms for a minute: one fetch per 10 s.
    int fetches = 0;
    for (auto now = t0 + 100s; now < t0 + 160s; now += 100ms) {
        s.unknown_kid(now);
        if (s.due(now)) {
            ++fetches;
            s.fetched(now);
        }
    }
    EXPECT_EQ(fetches, 5) << "at 110, 120, 130, 140 and 150 s";
}

TEST(KeyRefreshSchedule, UnknownKidDoesNotDelayAnEarlierFetch) {
    KeyRefreshSchedule s(kPolicy, t0);
    s.failed(t0);  // retry at 250 ms
    EXPECT_FALSE(s.unknown_kid(t0 + 1ms));
    EXPECT_EQ(s.next_fetch(), t0 + 250ms);
}

}  // namespace
}  // namespace mcx::idms
