#pragma once
// Throttling of failed password logins at the token endpoint (issue 16 item 5). After
// `user_failures` failed logins for one username, or `source_failures` from one source address,
// further attempts are held: answered 429 Too Many Requests with Retry-After (RFC 6585 4,
// RFC 9110 10.2.3) before any password is hashed. Each further failure after a hold doubles the
// next hold, up to `max_hold_seconds`; an entry is forgotten after `forget_seconds` without a
// failure or a hold; a successful login forgets its user's entry.
// [mcx-defined]: the thresholds, the growth and the memory bound (docs/identity.md says why).
// Pure: time comes in, no clock and no lock of its own (the token endpoint holds one).

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mcx::idms {

struct LoginThrottleLimits {
    std::uint32_t user_failures = 5;       // [idms] login_user_failures
    std::uint32_t source_failures = 100;   // [idms] login_source_failures
    std::int64_t first_hold_seconds = 30;  // [idms] login_hold_seconds
    std::int64_t max_hold_seconds = 900;   // [idms] login_max_hold_seconds
    std::int64_t forget_seconds = 900;     // [idms] login_forget_seconds
    // Entries per table (users, sources); when full, the least recently failed one is evicted,
    // so that an attacker inventing usernames or addresses cannot grow memory without limit.
    std::size_t max_entries = 10'000;  // [idms] login_tracked_entries
};

// Longer keys are cut to this many bytes (a username is at most 256 characters anyway).
inline constexpr std::size_t kMaxThrottleKeyBytes = 256;

struct LoginHold {
    enum class Holder { user, source };
    Holder holder;
    std::int64_t retry_after_seconds;  // >= 1
};

class LoginThrottle {
  public:
    explicit LoginThrottle(const LoginThrottleLimits& limits = {});

    // nullopt: an attempt for `user` from `source` may be checked now. Otherwise the hold that
    // applies (the source's first: it covers every user from there).
    std::optional<LoginHold> check(std::string_view source, std::string_view user,
                                   std::int64_t now);
    void failed(std::string_view source, std::string_view user, std::int64_t now);
    // The user's count starts again; the source's stays (one valid account must not let an
    // address wipe the record of its guesses at other users).
    void succeeded(std::string_view user);

    std::size_t users_tracked() const { return users_.size(); }
    std::size_t sources_tracked() const { return sources_.size(); }

  private:
    // Failures per key, least recently failed first.
    class FailureTable {
      public:
        FailureTable(std::uint32_t threshold, const LoginThrottleLimits& limits);
        // Seconds until the key's hold ends; nullopt when it is not held.
        std::optional<std::int64_t> held_for(std::string_view key, std::int64_t now);
        void failed(std::string_view key, std::int64_t now);
        void forget(std::string_view key);
        std::size_t size() const { return index_.size(); }

      private:
        struct Entry {
            std::string key;
            std::uint32_t failures = 0;
            std::uint32_t holds = 0;  // holds so far: the next one lasts first << holds
            std::int64_t last_failure = 0;
            std::int64_t held_until = 0;
        };
        using Order = std::list<Entry>;
        bool forgotten(const Entry& entry, std::int64_t now) const;
        void erase(Order::iterator it);

        std::uint32_t threshold_;
        LoginThrottleLimits limits_;
        Order order_;
        std::unordered_map<std::string_view, Order::iterator> index_;  // views into order_
    };

    FailureTable users_;
    FailureTable sources_;
};

}  // namespace mcx::idms
