// PartnerKeyFetcher: keys of partner IdMSs fetched off the caller's thread, with backoff, again
// on a schedule and when a token names another kid.
#include "idms/partner_keys.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "idms/keys.hpp"

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

const SigningKey& key_b() {
    static const SigningKey key = *SigningKey::generate();
    return key;
}

TEST(PartnerKeys, LookupNeverWaitsForTheFetch) {
    std::promise<void> release;
    auto released = release.get_future().share();
    PartnerKeyFetcher keys({{"mcx-idms:B", "https://b/idms/public-key"}},
                           [released](const std::string&) -> std::optional<std::string> {
                               released.wait();  // an IdMS that does not answer yet
                               return key_b().public_pem;
                           });
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(keys.key("mcx-idms:B"));
    EXPECT_FALSE(keys.key("mcx-idms:Z")) << "not a partner";
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    release.set_value();
    EXPECT_TRUE(eventually([&] { return keys.key("mcx-idms:B").has_value(); }));
    EXPECT_EQ(keys.key("mcx-idms:B")->public_pem, key_b().public_pem);
    EXPECT_EQ(keys.key("mcx-idms:B")->key_id, *key_b().key_id());
    EXPECT_EQ(keys.attempts("mcx-idms:B"), 1);
}

TEST(PartnerKeys, FailuresAreRetriedWithBackoffUntilTheKeyComes) {
    std::atomic<int> calls{0};
    PartnerKeyFetcher keys({{"mcx-idms:B", "https://b"}},
                           [&](const std::string&) -> std::optional<std::string> {
                               return ++calls >= 3 ? std::optional<std::string>(key_b().public_pem)
                                                   : std::nullopt;
                           },
                           {20ms, 40ms});
    EXPECT_TRUE(eventually([&] { return keys.key("mcx-idms:B").has_value(); }));
    EXPECT_EQ(calls.load(), 3);
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(calls.load(), 3) << "a known key is not fetched again before its refresh";
}

// Network input: a body that is no EC public key is a failed fetch, retried.
TEST(PartnerKeys, SomethingElseThanAKeyIsNotTaken) {
    std::atomic<int> calls{0};
    PartnerKeyFetcher keys({{"mcx-idms:B", "https://b"}},
                           [&](const std::string&) -> std::optional<std::string> {
                               return ++calls == 1 ? "<html>BEGIN PUBLIC KEY</html>"
                                                   : key_b().public_pem;
                           },
                           {20ms, 40ms});
    EXPECT_TRUE(eventually([&] { return keys.key("mcx-idms:B").has_value(); }));
    EXPECT_EQ(calls.load(), 2);
}

TEST(PartnerKeys, LookupsDoNotMultiplyAttempts) {
    std::atomic<int> calls{0};
    PartnerKeyFetcher keys({{"mcx-idms:B", "https://b"}},
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

// The partner rotated its key: a token naming the new kid fetches it again (rate-limited), and
// the scheduled refresh would have too.
TEST(PartnerKeys, UnknownKidAndScheduleFetchTheKeyAgain) {
    const SigningKey rotated = *SigningKey::generate();
    std::mutex mutex;
    std::string published = key_b().public_pem;
    std::atomic<int> calls{0};
    PartnerKeyFetcher keys({{"mcx-idms:B", "https://b", 3'600'000ms}},
                           [&](const std::string&) -> std::optional<std::string> {
                               ++calls;
                               std::lock_guard lock(mutex);
                               return published;
                           },
                           {20ms, 40ms, 3'600'000ms, 100ms});
    ASSERT_TRUE(eventually([&] { return keys.key("mcx-idms:B").has_value(); }));
    {
        std::lock_guard lock(mutex);
        published = rotated.public_pem;
    }
    const auto new_kid = *rotated.key_id();
    EXPECT_EQ(keys.key("mcx-idms:B", *key_b().key_id())->key_id, *key_b().key_id())
        << "the known kid fetches nothing";
    EXPECT_TRUE(eventually([&] { return keys.key("mcx-idms:B", new_kid)->key_id == new_kid; }));
    const int after_rotation = calls.load();
    EXPECT_EQ(after_rotation, 2);
    // Made-up kids: at most one fetch per 100 ms.
    const auto until = std::chrono::steady_clock::now() + 350ms;
    while (std::chrono::steady_clock::now() < until) {
        keys.key("mcx-idms:B", "made-up");
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_LE(calls.load() - after_rotation, 4);
    EXPECT_EQ(keys.key("mcx-idms:B")->key_id, new_kid);

    std::atomic<int> scheduled{0};
    PartnerKeyFetcher refreshing({{"mcx-idms:B", "https://b", 50ms}},
                                 [&](const std::string&) -> std::optional<std::string> {
                                     ++scheduled;
                                     return key_b().public_pem;
                                 });
    EXPECT_TRUE(eventually([&] { return scheduled.load() >= 3; })) << "every 50 ms";
}

}  // namespace
}  // namespace mcx::idms
