#pragma once
// Admission of new work under overload (RFC 3261 21.5.4 503 with Retry-After; the loss-based
// algorithm of RFC 7339 5.5 applied to the server's own queue): dialog-creating requests and
// REGISTERs are refused cheaply, before any token check, when the SIP queue is late or when a
// source keeps sending requests that fail their checks. In-dialog requests are never asked
// here (they keep priority: established calls go on). Pure logic: the caller gives the time.

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/overload_settings.hpp"

namespace mcx::server {

enum class AdmissionVerdict {
    admit,
    refuse,  // answer 503 with Retry-After
    drop,    // a source already told to wait: no answer (its flood costs no responses)
};

struct Admission {
    AdmissionVerdict verdict = AdmissionVerdict::admit;
    std::int64_t retry_after_seconds = 0;
    const char* reason = "";  // the 503's reason phrase
};

class OverloadControl {
  public:
    explicit OverloadControl(OverloadSettings settings = {}) : settings_(settings) {}

    // How late the SIP loop served a probe that was queued at `now_ms - delay_ms` (or how long
    // one has been waiting so far).
    void note_queue_delay(std::int64_t now_ms, std::int64_t delay_ms);
    // A new dialog-creating request or REGISTER from `source` ("address:port").
    Admission admit(std::int64_t now_ms, const std::string& source);
    // A request from `source` that failed its checks after admission.
    void note_failure(std::int64_t now_ms, const std::string& source);

    double refused_share() const { return share_; }
    std::uint64_t delay_samples() const { return delay_samples_; }
    std::int64_t last_delay_ms() const { return last_delay_ms_; }
    std::int64_t max_delay_ms() const { return max_delay_ms_; }  // since start
    std::size_t tracked_sources() const { return sources_.size(); }
    struct Counts {
        std::uint64_t refused_overload = 0;  // 503: the server was overloaded
        std::uint64_t refused_source = 0;    // 503: the source's failure budget was spent
        std::uint64_t dropped = 0;
    };
    const Counts& counts() const { return counts_; }

  private:
    void close_intervals(std::int64_t now_ms);
    struct Source {
        double budget = 0;
        std::int64_t refilled_at_ms = 0;
        std::int64_t answered_at_ms = -1;  // the last 503 sent to it
    };
    void refill(Source& source, std::int64_t now_ms) const;
    void make_room(std::int64_t now_ms);

    OverloadSettings settings_;
    double share_ = 0;
    double credit_ = 0;  // refusals owed: spreads the share evenly over requests
    std::int64_t interval_start_ms_ = -1;
    std::int64_t interval_max_delay_ms_ = 0;
    std::uint64_t interval_admitted_ = 0;   // requests admitted in this interval
    std::uint64_t interval_penalized_ = 0;  // ... refused or dropped for their source
    std::uint64_t delay_samples_ = 0;
    std::int64_t last_delay_ms_ = 0;
    std::int64_t max_delay_ms_ = 0;
    std::unordered_map<std::string, Source> sources_;
    Counts counts_;
};

}  // namespace mcx::server
