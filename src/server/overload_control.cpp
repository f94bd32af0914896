#include "server/overload_control.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace mcx::server {

void OverloadControl::close_intervals(std::int64_t now_ms) {
    if (interval_start_ms_ < 0) interval_start_ms_ = now_ms;
    while (now_ms >= interval_start_ms_ + settings_.interval_ms) {
        // Late because of sources already told to wait (their requests cost a parse each):
        // refusing the admitted ones would not cure it, only turn users away.
        const bool flood = interval_penalized_ > interval_admitted_;
        if (flood) {
            share_ -= settings_.decrease;
        } else if (interval_max_delay_ms_ > 4 * settings_.delay_target_ms) {
            share_ += 2 * settings_.increase;
        } else if (interval_max_delay_ms_ > settings_.delay_target_ms) {
            share_ += settings_.increase;
        } else {
            share_ -= settings_.decrease;
        }
        share_ = std::clamp(share_, 0.0, settings_.max_refused_share);
        interval_max_delay_ms_ = 0;
        interval_admitted_ = interval_penalized_ = 0;
        interval_start_ms_ += settings_.interval_ms;
        // A long quiet gap (no probes): start afresh rather than replaying every interval.
        if (now_ms - interval_start_ms_ > 100 * settings_.interval_ms) {
            share_ = 0;
            interval_start_ms_ = now_ms;
        }
    }
}

void OverloadControl::note_queue_delay(std::int64_t now_ms, std::int64_t delay_ms) {
    close_intervals(now_ms);
    interval_max_delay_ms_ = std::max(interval_max_delay_ms_, delay_ms);
    ++delay_samples_;
    last_delay_ms_ = delay_ms;
    max_delay_ms_ = std::max(max_delay_ms_, delay_ms);
}

void OverloadControl::refill(Source& source, std::int64_t now_ms) const {
    const auto elapsed = static_cast<double>(now_ms - source.refilled_at_ms) / 1000.0;
    source.budget = std::min(settings_.source_failure_burst,
                             source.budget + elapsed * settings_.source_failures_per_second);
    source.refilled_at_ms = now_ms;
}

Admission OverloadControl::admit(std::int64_t now_ms, const std::string& source) {
    close_intervals(now_ms);
    if (auto it = sources_.find(source); it != sources_.end()) {
        auto& s = it->second;
        refill(s, now_ms);
        if (s.budget < 1.0) {
            // Told once a second at most; the rest of its requests are dropped unanswered.
            ++interval_penalized_;
            if (s.answered_at_ms >= 0 && now_ms - s.answered_at_ms < 1000) {
                ++counts_.dropped;
                return {AdmissionVerdict::drop, 0, ""};
            }
            s.answered_at_ms = now_ms;
            ++counts_.refused_source;
            const auto wait = std::ceil((1.0 - s.budget) / settings_.source_failures_per_second);
            return {AdmissionVerdict::refuse, std::max<std::int64_t>(1, std::llround(wait)),
                    "Too Many Failed Requests"};
        }
    }
    credit_ += share_;
    if (credit_ >= 1.0) {
        credit_ -= 1.0;
        ++counts_.refused_overload;
        // RFC 3261 21.5.4: the longer the overload, the later the retry (1 to 5 s).
        return {AdmissionVerdict::refuse, 1 + std::llround(share_ * 4), "Server Overloaded"};
    }
    ++interval_admitted_;
    return {};
}

void OverloadControl::make_room(std::int64_t now_ms) {
    // Sources whose budget has refilled need no memory.
    for (auto it = sources_.begin(); it != sources_.end();) {
        refill(it->second, now_ms);
        it = it->second.budget >= settings_.source_failure_burst ? sources_.erase(it)
                                                                 : std::next(it);
    }
}

void OverloadControl::note_failure(std::int64_t now_ms, const std::string& source) {
    auto it = sources_.find(source);
    if (it == sources_.end()) {
        if (sources_.size() >= settings_.max_sources) make_room(now_ms);
        if (sources_.size() >= settings_.max_sources) return;  // the loop's share covers them
        it = sources_.emplace(source, Source{settings_.source_failure_burst, now_ms, -1}).first;
    }
    refill(it->second, now_ms);
    it->second.budget = std::max(it->second.budget - 1.0, -settings_.source_failure_burst);
}

}  // namespace mcx::server
