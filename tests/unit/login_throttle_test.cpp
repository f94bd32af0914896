// The failed-login throttle (idms/login_throttle.hpp) driven directly, with time passed in.
#include <gtest/gtest.h>

#include <string>

#include "common/system_config.hpp"
#include "idms/login_throttle.hpp"
#include "idms/password.hpp"

namespace mcx::idms {
namespace {

constexpr std::int64_t kT0 = 1'800'000'000;
constexpr const char* kAlice = "sip:alice@a.mcx";
constexpr const char* kBob = "sip:bob@a.mcx";
constexpr const char* kHere = "192.0.2.10";
constexpr const char* kThere = "192.0.2.20";

LoginThrottleLimits limits() {
    LoginThrottleLimits l;
    l.user_failures = 5;
    l.source_failures = 20;
    l.first_hold_seconds = 30;
    l.max_hold_seconds = 900;
    l.forget_seconds = 900;
    l.max_entries = 100;
    return l;
}

void fail_times(LoginThrottle& throttle, int times, const std::string& source,
                const std::string& user, std::int64_t now) {
    for (int i = 0; i < times; ++i) throttle.failed(source, user, now);
}

TEST(LoginThrottle, UserIsHeldAfterItsThresholdAndOnlyThen) {
    LoginThrottle throttle(limits());
    for (int i = 0; i < 4; ++i) {
        EXPECT_FALSE(throttle.check(kHere, kAlice, kT0)) << "failure " << i;
        throttle.failed(kHere, kAlice, kT0);
    }
    EXPECT_FALSE(throttle.check(kHere, kAlice, kT0)) << "the fifth attempt is still checked";
    throttle.failed(kHere, kAlice, kT0);
    auto hold = throttle.check(kHere, kAlice, kT0);
    ASSERT_TRUE(hold);
    EXPECT_EQ(hold->holder, LoginHold::Holder::user);
    EXPECT_EQ(hold->retry_after_seconds, 30);
    hold = throttle.check(kHere, kAlice, kT0 + 29);
    ASSERT_TRUE(hold);
    EXPECT_EQ(hold->retry_after_seconds, 1);
    EXPECT_FALSE(throttle.check(kHere, kAlice, kT0 + 30)) << "the hold has ended";
}

TEST(LoginThrottle, AnotherUserIsNotHeld) {
    LoginThrottle throttle(limits());
    fail_times(throttle, 5, kHere, kAlice, kT0);
    ASSERT_TRUE(throttle.check(kHere, kAlice, kT0));
    EXPECT_FALSE(throttle.check(kHere, kBob, kT0));
    EXPECT_FALSE(throttle.check(kThere, kBob, kT0));
    EXPECT_TRUE(throttle.check(kThere, kAlice, kT0)) << "the user is held from every address";
}

TEST(LoginThrottle, EachFailureAfterAHoldDoublesTheNextUpToTheMaximum) {
    LoginThrottle throttle(limits());
    fail_times(throttle, 5, kHere, kAlice, kT0);
    std::int64_t now = kT0;
    for (const std::int64_t expected : {30, 60, 120, 240, 480, 900, 900}) {
        auto hold = throttle.check(kHere, kAlice, now);
        ASSERT_TRUE(hold);
        EXPECT_EQ(hold->retry_after_seconds, expected);
        now += hold->retry_after_seconds;
        ASSERT_FALSE(throttle.check(kHere, kAlice, now));
        throttle.failed(kHere, kAlice, now);
    }
}

TEST(LoginThrottle, SuccessStartsTheUsersCountAgain) {
    LoginThrottle throttle(limits());
    fail_times(throttle, 4, kHere, kAlice, kT0);
    throttle.succeeded(kAlice);
    fail_times(throttle, 4, kHere, kAlice, kT0 + 1);
    EXPECT_FALSE(throttle.check(kHere, kAlice, kT0 + 1)) << "4 + 4 failures, a success between";
    throttle.failed(kHere, kAlice, kT0 + 1);
    EXPECT_TRUE(throttle.check(kHere, kAlice, kT0 + 1));
}

TEST(LoginThrottle, SuccessDoesNotClearTheSource) {
    LoginThrottle throttle(limits());
    for (int i = 0; i < 19; ++i)
        throttle.failed(kHere, "sip:u" + std::to_string(i) + "@a.mcx", kT0);
    throttle.succeeded(kBob);
    EXPECT_FALSE(throttle.check(kHere, kBob, kT0));
    throttle.failed(kHere, "sip:u19@a.mcx", kT0);
    auto hold = throttle.check(kHere, kBob, kT0);
    ASSERT_TRUE(hold) << "20 failures from one address, each for another user";
    EXPECT_EQ(hold->holder, LoginHold::Holder::source);
    EXPECT_EQ(hold->retry_after_seconds, 30);
    EXPECT_FALSE(throttle.check(kThere, kBob, kT0)) << "another address is not held";
}

TEST(LoginThrottle, FailuresAreForgottenAfterAQuietPeriod) {
    LoginThrottle throttle(limits());
    fail_times(throttle, 4, kHere, kAlice, kT0);
    throttle.failed(kHere, kAlice, kT0 + 899);  // the quiet time counts from the last failure
    ASSERT_TRUE(throttle.check(kHere, kAlice, kT0 + 899));
    // Held until +929; forgotten 900 s after the hold ended.
    EXPECT_FALSE(throttle.check(kHere, kAlice, kT0 + 929));
    throttle.failed(kHere, kAlice, kT0 + 929);
    EXPECT_TRUE(throttle.check(kHere, kAlice, kT0 + 929)) << "still counted: 60 s hold";
    const std::int64_t quiet = kT0 + 929 + 60 + 900;
    EXPECT_FALSE(throttle.check(kHere, kAlice, quiet));
    throttle.failed(kHere, kAlice, quiet);
    EXPECT_FALSE(throttle.check(kHere, kAlice, quiet)) << "one failure of a fresh count";
}

TEST(LoginThrottle, MemoryIsBoundedAndTheLeastRecentlyFailedIsEvicted) {
    auto l = limits();
    l.max_entries = 10;
    l.source_failures = 1'000'000;
    LoginThrottle throttle(l);
    auto name = [](const char* prefix, int i) {
        return std::string("sip:") + prefix + std::to_string(i) + "@a.mcx";
    };
    fail_times(throttle, 5, kHere, kAlice, kT0);  // alice: held
    for (int i = 0; i < 9; ++i) throttle.failed(kHere, name("x", i), kT0);
    EXPECT_EQ(throttle.users_tracked(), 10u);
    ASSERT_TRUE(throttle.check(kHere, kAlice, kT0 + 1)) << "an attempt refreshes alice's entry";
    for (int i = 0; i < 9; ++i) throttle.failed(kHere, name("y", i), kT0 + 1);
    EXPECT_TRUE(throttle.check(kHere, kAlice, kT0 + 1)) << "the nine older x entries went first";
    // That check refreshed her again: ten newer entries push her out (the cost of the bound).
    for (int i = 0; i < 9; ++i) throttle.failed(kHere, name("z", i), kT0 + 1);
    EXPECT_EQ(throttle.users_tracked(), 10u);
    throttle.failed(kHere, name("z", 9), kT0 + 1);
    EXPECT_FALSE(throttle.check(kHere, kAlice, kT0 + 1));
    for (int i = 0; i < 1000; ++i) {
        throttle.failed("198.51.100." + std::to_string(i % 250), name("w", i), kT0 + 2);
    }
    EXPECT_EQ(throttle.users_tracked(), 10u);
    EXPECT_EQ(throttle.sources_tracked(), 10u);
}

TEST(LoginThrottle, LongKeysShareOneBoundedEntry) {
    LoginThrottle throttle(limits());
    const std::string long_name(10'000, 'a');
    fail_times(throttle, 5, kHere, long_name + "1", kT0);
    EXPECT_TRUE(throttle.check(kHere, long_name + "2", kT0))
        << "keys are cut to " << kMaxThrottleKeyBytes << " bytes";
    EXPECT_EQ(throttle.users_tracked(), 1u);
}

TEST(LoginThrottle, ConfigurationDefaultsAreTheThrottlesDefaults) {
    const LoginProtectionConfig config;
    const LoginThrottleLimits throttle;
    EXPECT_EQ(config.user_failures, throttle.user_failures);
    EXPECT_EQ(config.source_failures, throttle.source_failures);
    EXPECT_EQ(config.hold_seconds, throttle.first_hold_seconds);
    EXPECT_EQ(config.max_hold_seconds, throttle.max_hold_seconds);
    EXPECT_EQ(config.forget_seconds, throttle.forget_seconds);
    EXPECT_EQ(config.tracked_entries, throttle.max_entries);
    EXPECT_EQ(config.hash_iterations, static_cast<std::uint32_t>(kPasswordHashIterations));
}

}  // namespace
}  // namespace mcx::idms
