#include "idms/key_refresh.hpp"

#include <algorithm>

namespace mcx::idms {

KeyRefreshSchedule::KeyRefreshSchedule(KeyRefreshPolicy policy, TimePoint now)
    : policy_(policy), next_(now) {}

void KeyRefreshSchedule::fetched(TimePoint now) {
    ++attempts_;
    last_attempt_ = now;
    wait_ = std::chrono::milliseconds(0);
    next_ = now + policy_.refresh;
}

void KeyRefreshSchedule::failed(TimePoint now) {
    ++attempts_;
    last_attempt_ = now;
    wait_ = wait_.count() == 0 ? policy_.first_retry : std::min(wait_ * 2, policy_.most_retry);
    next_ = now + wait_;
}

bool KeyRefreshSchedule::key_wanted(TimePoint now) {
    return bring_forward(now, policy_.first_retry);
}

bool KeyRefreshSchedule::unknown_kid(TimePoint now) {
    return bring_forward(now, policy_.unknown_kid_interval);
}

bool KeyRefreshSchedule::bring_forward(TimePoint now, std::chrono::milliseconds after_last) {
    if (!last_attempt_) return false;  // the first fetch is due (or under way) anyway
    const auto soonest = std::max(now, *last_attempt_ + after_last);
    if (soonest >= next_) return false;
    next_ = soonest;
    return true;
}

}  // namespace mcx::idms
