// The test helpers themselves: eventually() returns as soon as its predicate holds, and false
// once the timeout has passed (having asked at the deadline too).
#include <gtest/gtest.h>

#include <chrono>

#include "test_support.hpp"

namespace mcx::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Eventually, TrueAtOnceWithoutWaiting) {
    const auto t0 = Clock::now();
    int asked = 0;
    EXPECT_TRUE(eventually([&] { return ++asked > 0; }, 5s));
    EXPECT_EQ(asked, 1);
    EXPECT_LT(Clock::now() - t0, 1s);
}

TEST(Eventually, TrueWhenThePredicateBecomesTrue) {
    const auto t0 = Clock::now();
    int asked = 0;
    EXPECT_TRUE(eventually([&] { return ++asked == 5; }, 5s, 10ms));
    EXPECT_EQ(asked, 5);
    EXPECT_LT(Clock::now() - t0, 4s);
}

TEST(Eventually, FalseAfterTheTimeoutHavingAskedAtTheDeadline) {
    const auto t0 = Clock::now();
    Clock::time_point last;
    EXPECT_FALSE(eventually(
        [&] {
            last = Clock::now();
            return false;
        },
        100ms, 30ms));
    EXPECT_GE(last - t0, 100ms);
    EXPECT_GE(Clock::now() - t0, 100ms);
}

}  // namespace
}  // namespace mcx::test
