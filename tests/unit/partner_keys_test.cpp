// PartnerKeyFetcher: keys of partner IdMSs fetched off the caller's thread, with backoff.
#include "idms/partner_keys.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace mcx::idms {
namespace {

using namespace std::chrono_literals;

// Polls `ready` for up to 5 s.
template <typename Pred>
bool eventually(Pred ready) {
    for (int i = 0; i < 500; ++i) {
        if (ready()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return ready();
}

TEST(PartnerKeys, LookupNeverWaitsForTheFetch) {
    std::promise<void> release;
    auto released = release.get_future().share();
    PartnerKeyFetcher keys({{"mcx-idms:B", "http://b/idms/public-key"}},
                           [released](const std::string& url) -> std::optional<std::string> {
                               released.wait();  // an IdMS that does not answer yet
                               return "PEM of " + url;
                           });
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(keys.key("mcx-idms:B"));
    EXPECT_FALSE(keys.key("mcx-idms:Z")) << "not a partner";
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    release.set_value();
    EXPECT_TRUE(eventually([&] { return keys.key("mcx-idms:B").has_value(); }));
    EXPECT_EQ(*keys.key("mcx-idms:B"), "PEM of http://b/idms/public-key");
    EXPECT_EQ(keys.attempts("mcx-idms:B"), 1);
}

TEST(PartnerKeys, FailuresAreRetriedWithBackoffUntilTheKeyComes) {
    std::atomic<int> calls{0};
    PartnerKeyFetcher keys({{"mcx-idms:B", "http://b"}},
                           [&](const std::string&) -> std::optional<std::string> {
                               return ++calls >= 3 ? std::optional<std::string>("PEM")
                                                   : std::nullopt;
                           },
                           {20ms, 40ms});
    EXPECT_TRUE(eventually([&] { return keys.key("mcx-idms:B").has_value(); }));
    EXPECT_EQ(calls.load(), 3);
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(calls.load(), 3) << "a known key is not fetched again";
}

TEST(PartnerKeys, LookupsDoNotMultiplyAttempts) {
    std::atomic<int> calls{0};
    PartnerKeyFetcher keys({{"mcx-idms:B", "http://b"}},
                           [&](const std::string&) -> std::optional<std::string> {
                               ++calls;
                               return std::nullopt;  // the partner is down
                           },
                           {200ms, 10'000ms});
    ASSERT_TRUE(eventually([&] { return calls.load() >= 1; }));
    // A flood of tokens from the partner: at most one attempt per 200 ms, not one per token.
    const auto until = std::chrono::steady_clock::now() + 500ms;
    while (std::chrono::steady_clock::now() < until) {
        EXPECT_FALSE(keys.key("mcx-idms:B"));
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_LE(calls.load(), 4);
    EXPECT_GE(calls.load(), 2) << "a lookup brings the next attempt forward";
}

}  // namespace
}  // namespace mcx::idms
