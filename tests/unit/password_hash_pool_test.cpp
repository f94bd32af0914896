// The password hash pool (idms/password_hash_pool.hpp): a bounded number of attempts under way,
// "busy" at once beyond it. The work is a fake the test holds, so nothing here is timed.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "idms/password.hpp"
#include "idms/password_hash_pool.hpp"

namespace mcx::idms {
namespace {

// Stands for PBKDF2: counts calls and their concurrency, and waits until released.
struct HeldCheck {
    std::mutex mutex;
    std::condition_variable changed;
    bool released = false;
    int calls = 0;
    int running = 0;
    int most_running = 0;

    bool operator()(const std::string& password, const std::string&) {
        std::unique_lock lock(mutex);
        ++calls;
        most_running = std::max(most_running, ++running);
        changed.notify_all();
        changed.wait(lock, [this] { return released; });
        --running;
        return password == "right";
    }
    void wait_running(int n) {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return running == n; });
    }
    void release() {
        std::lock_guard lock(mutex);
        released = true;
        changed.notify_all();
    }
};

void wait_in_flight(const PasswordHashPool& pool, std::size_t n) {
    while (pool.in_flight() != n) std::this_thread::yield();
}

TEST(PasswordHashPool, ChecksPasswordsWithPbkdf2ByDefault) {
    PasswordHashPool pool(1, 0);
    const auto stored = hash_password("pw");
    EXPECT_EQ(pool.verify("pw", stored), std::optional<bool>(true));
    EXPECT_EQ(pool.verify("nope", stored), std::optional<bool>(false));
    EXPECT_EQ(pool.refused(), 0u);
}

TEST(PasswordHashPool, BeyondThreadsAndQueueTheAnswerIsBusyAtOnce) {
    HeldCheck check;
    PasswordHashPool pool(1, 1,
                          [&](const std::string& p, const std::string& s) { return check(p, s); });
    auto running = std::async(std::launch::async, [&] { return pool.verify("right", "h"); });
    check.wait_running(1);
    auto queued = std::async(std::launch::async, [&] { return pool.verify("wrong", "h"); });
    wait_in_flight(pool, 2);

    EXPECT_EQ(pool.verify("right", "h"), std::nullopt) << "one running, one waiting: full";
    EXPECT_EQ(pool.refused(), 1u);

    check.release();
    EXPECT_EQ(running.get(), std::optional<bool>(true));
    EXPECT_EQ(queued.get(), std::optional<bool>(false));
    EXPECT_EQ(check.calls, 2) << "the refused attempt was never computed";
    EXPECT_EQ(check.most_running, 1) << "one thread: one hash at a time";
    EXPECT_EQ(pool.in_flight(), 0u);
    EXPECT_EQ(pool.verify("right", "h"), std::optional<bool>(true)) << "room again";
}

TEST(PasswordHashPool, RunsAtMostItsThreadsAtOnce) {
    HeldCheck check;
    PasswordHashPool pool(2, 0,
                          [&](const std::string& p, const std::string& s) { return check(p, s); });
    auto first = std::async(std::launch::async, [&] { return pool.verify("right", "h"); });
    auto second = std::async(std::launch::async, [&] { return pool.verify("right", "h"); });
    check.wait_running(2);
    EXPECT_EQ(pool.verify("right", "h"), std::nullopt) << "no queue: two threads, both busy";
    check.release();
    EXPECT_EQ(first.get(), std::optional<bool>(true));
    EXPECT_EQ(second.get(), std::optional<bool>(true));
    EXPECT_EQ(check.most_running, 2);
}

}  // namespace
}  // namespace mcx::idms
