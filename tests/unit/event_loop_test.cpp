#include "net/event_loop.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace mcx::net {
namespace {

// Far more posts than libre's mqueue pipe holds (about 2 700 messages), from another thread,
// while the loop is not running: every task runs once, in order.
TEST(EventLoop, PostsAreNeverDroppedAndKeepTheirOrder) {
    EventLoop loop;
    constexpr int kTasks = 20'000;
    std::vector<int> ran;
    ran.reserve(kTasks);
    std::thread poster([&] {
        for (int i = 0; i < kTasks; ++i) loop.post([&ran, i] { ran.push_back(i); });
        loop.post([&loop] { loop.stop(); });
    });
    poster.join();
    loop.run();
    ASSERT_EQ(ran.size(), static_cast<std::size_t>(kTasks));
    for (int i = 0; i < kTasks; ++i) ASSERT_EQ(ran[i], i);
}

}  // namespace
}  // namespace mcx::net
