#include "server/overload_control.hpp"

#include "common/log_throttle.hpp"

#include <gtest/gtest.h>

namespace mcx::server {
namespace {

// Admits `n` requests from distinct sources at `now_ms` and counts the 503s.
int refused_of(OverloadControl& control, std::int64_t now_ms, int n) {
    int refused = 0;
    for (int i = 0; i < n; ++i) {
        const auto a = control.admit(now_ms, "192.0.2.1:" + std::to_string(5000 + i));
        if (a.verdict == AdmissionVerdict::refuse) ++refused;
    }
    return refused;
}

TEST(OverloadControl, AdmitsEverythingWhileTheQueueIsOnTime) {
    OverloadControl control;
    for (std::int64_t t = 0; t < 5000; t += 50) control.note_queue_delay(t, 5);
    EXPECT_EQ(control.refused_share(), 0.0);
    EXPECT_EQ(refused_of(control, 5000, 1000), 0);
}

TEST(OverloadControl, RefusesAGrowingShareWhileLateAndRecoversSlowly) {
    OverloadControl control;
    // 100 < delay <= 400: +0.1 per 100 ms interval.
    for (std::int64_t t = 0; t < 500; t += 50) control.note_queue_delay(t, 200);
    control.note_queue_delay(500, 1);  // closes the fifth late interval
    EXPECT_NEAR(control.refused_share(), 0.5, 1e-9);
    const int refused = refused_of(control, 500, 1000);
    EXPECT_EQ(refused, 500) << "the share is spread evenly over requests";
    const auto a = control.admit(500, "198.51.100.7:5060");
    const auto b = control.admit(500, "198.51.100.7:5060");
    const auto& r = a.verdict == AdmissionVerdict::refuse ? a : b;
    ASSERT_EQ(r.verdict, AdmissionVerdict::refuse);
    EXPECT_EQ(r.retry_after_seconds, 3) << "1 + 4 x share";
    EXPECT_STREQ(r.reason, "Server Overloaded");
    // On time again: 0.02 off per interval, so 0.5 takes 2.5 s to clear.
    for (std::int64_t t = 550; t <= 1500; t += 50) control.note_queue_delay(t, 1);  // 10 closed
    EXPECT_NEAR(control.refused_share(), 0.3, 1e-9);
    for (std::int64_t t = 1550; t <= 3100; t += 50) control.note_queue_delay(t, 1);
    EXPECT_EQ(control.refused_share(), 0.0);
    EXPECT_EQ(refused_of(control, 3100, 100), 0);
}

TEST(OverloadControl, FarTooLateRaisesTheShareTwiceAsFastUpToItsCeiling) {
    OverloadControl control;
    for (std::int64_t t = 0; t <= 300; t += 100) control.note_queue_delay(t, 500);
    EXPECT_NEAR(control.refused_share(), 0.6, 1e-9);
    for (std::int64_t t = 400; t <= 2000; t += 100) control.note_queue_delay(t, 500);
    EXPECT_NEAR(control.refused_share(), 0.98, 1e-9) << "some new work always gets through";
}

TEST(OverloadControl, ASourceThatKeepsFailingIsToldOnceASecondThenDropped) {
    OverloadControl control;
    const std::string flood = "127.0.0.1:40000";
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(control.admit(1000, flood).verdict, AdmissionVerdict::admit) << i;
        control.note_failure(1000, flood);
    }
    const auto told = control.admit(1000, flood);
    ASSERT_EQ(told.verdict, AdmissionVerdict::refuse);
    EXPECT_STREQ(told.reason, "Too Many Failed Requests");
    EXPECT_EQ(told.retry_after_seconds, 1);
    EXPECT_EQ(control.admit(1500, flood).verdict, AdmissionVerdict::drop);
    EXPECT_EQ(control.admit(1999, flood).verdict, AdmissionVerdict::drop);
    EXPECT_EQ(control.counts().dropped, 2u);
    // Another source is not affected, nor is the share.
    EXPECT_EQ(control.admit(1500, "127.0.0.1:40001").verdict, AdmissionVerdict::admit);
    EXPECT_EQ(control.refused_share(), 0.0);
    // One failure a second is forgiven: after a second the source may try again.
    EXPECT_EQ(control.admit(2000, flood).verdict, AdmissionVerdict::admit);
}

TEST(OverloadControl, FailuresOfManySourcesNeverGrowItsMemoryPastTheCap) {
    OverloadSettings settings;
    settings.max_sources = 100;
    OverloadControl control(settings);
    for (int i = 0; i < 1000; ++i) {
        const auto source = "127.0.0." + std::to_string(i % 250 + 1) + ":" + std::to_string(i);
        control.note_failure(0, source);
        ASSERT_LE(control.tracked_sources(), 100u);
    }
    // Later their budgets have refilled: room again for a new failing source.
    control.note_failure(60'000, "127.0.1.9:5060");
    EXPECT_EQ(control.tracked_sources(), 1u);
}

}  // namespace
}  // namespace mcx::server

namespace mcx {
namespace {

TEST(LogThrottle, PassesABurstThenOneAPeriodTellingHowManyWereHeldBack) {
    LogThrottle throttle(3, 1000);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(throttle.allow(i), 0u);
    for (int i = 0; i < 50; ++i) EXPECT_FALSE(throttle.allow(10 + i));
    EXPECT_FALSE(throttle.allow(999));
    EXPECT_EQ(throttle.allow(1002), 51u);
    EXPECT_FALSE(throttle.allow(1500));
    EXPECT_EQ(throttle.allow(2002), 1u);
    EXPECT_EQ(throttle.allow(9000), 0u);
}

}  // namespace
}  // namespace mcx

namespace mcx::server {
namespace {

TEST(OverloadControl, LatenessCausedBySourcesAlreadyToldToWaitRefusesNoUser) {
    OverloadControl control;
    const std::string flood = "127.0.0.1:40000";
    for (int i = 0; i < 10; ++i) control.note_failure(0, flood);
    for (std::int64_t t = 0; t <= 1000; t += 10) {
        control.note_queue_delay(t, 500);
        for (int i = 0; i < 20; ++i) (void)control.admit(t, flood);  // dropped
        EXPECT_EQ(control.admit(t, "127.0.0.1:5060").verdict, AdmissionVerdict::admit) << t;
    }
    EXPECT_EQ(control.refused_share(), 0.0);
}

}  // namespace
}  // namespace mcx::server
