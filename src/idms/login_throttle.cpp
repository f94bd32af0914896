#include "idms/login_throttle.hpp"

#include <algorithm>

namespace mcx::idms {

namespace {

std::string_view bounded(std::string_view key) {
    return key.substr(0, std::min(key.size(), kMaxThrottleKeyBytes));
}

}  // namespace

LoginThrottle::FailureTable::FailureTable(std::uint32_t threshold,
                                          const LoginThrottleLimits& limits)
    : threshold_(std::max<std::uint32_t>(threshold, 1)), limits_(limits) {
    limits_.max_entries = std::max<std::size_t>(limits_.max_entries, 1);
}

bool LoginThrottle::FailureTable::forgotten(const Entry& entry, std::int64_t now) const {
    return now - std::max(entry.last_failure, entry.held_until) >= limits_.forget_seconds;
}

void LoginThrottle::FailureTable::erase(Order::iterator it) {
    index_.erase(it->key);
    order_.erase(it);
}

std::optional<std::int64_t> LoginThrottle::FailureTable::held_for(std::string_view key,
                                                                  std::int64_t now) {
    const auto found = index_.find(bounded(key));
    if (found == index_.end()) return std::nullopt;
    const auto it = found->second;
    if (now < it->held_until) {
        // Attempts during a hold keep the entry from being the next one evicted.
        order_.splice(order_.end(), order_, it);
        return it->held_until - now;
    }
    if (forgotten(*it, now)) erase(it);
    return std::nullopt;
}

void LoginThrottle::FailureTable::failed(std::string_view key, std::int64_t now) {
    key = bounded(key);
    auto found = index_.find(key);
    Order::iterator it;
    if (found == index_.end()) {
        if (index_.size() >= limits_.max_entries) erase(order_.begin());
        order_.push_back(Entry{std::string(key)});
        it = std::prev(order_.end());
        index_.emplace(it->key, it);
    } else {
        it = found->second;
        if (forgotten(*it, now)) {
            it->failures = 0;
            it->holds = 0;
            it->held_until = 0;
        }
        order_.splice(order_.end(), order_, it);
    }
    auto& entry = *it;
    entry.failures = std::min(entry.failures + 1, threshold_);
    entry.last_failure = now;
    if (entry.failures >= threshold_) {
        const auto doubled = limits_.first_hold_seconds << std::min<std::uint32_t>(entry.holds, 20);
        entry.held_until =
            now + std::max<std::int64_t>(std::min(doubled, limits_.max_hold_seconds), 1);
        ++entry.holds;
    }
}

void LoginThrottle::FailureTable::forget(std::string_view key) {
    const auto found = index_.find(bounded(key));
    if (found != index_.end()) erase(found->second);
}

LoginThrottle::LoginThrottle(const LoginThrottleLimits& limits)
    : users_(limits.user_failures, limits), sources_(limits.source_failures, limits) {}

std::optional<LoginHold> LoginThrottle::check(std::string_view source, std::string_view user,
                                              std::int64_t now) {
    if (auto left = sources_.held_for(source, now)) {
        return LoginHold{LoginHold::Holder::source, *left};
    }
    if (auto left = users_.held_for(user, now)) return LoginHold{LoginHold::Holder::user, *left};
    return std::nullopt;
}

void LoginThrottle::failed(std::string_view source, std::string_view user, std::int64_t now) {
    sources_.failed(source, now);
    users_.failed(user, now);
}

void LoginThrottle::succeeded(std::string_view user) {
    users_.forget(user);
}

}  // namespace mcx::idms
