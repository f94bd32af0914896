#pragma once
// The settings of overload control (server/overload_control.hpp), read from [overload] of the
// system configuration (config/README.md). Plain data, so the configuration needs no
// server code.

#include <cstddef>
#include <cstdint>

namespace mcx {

struct OverloadSettings {
    // Queueing delay of the SIP loop (QueueProbe) above which an interval counts as overloaded.
    std::int64_t delay_target_ms = 100;  // a fifth of T1 (RFC 3261 17.1.1.1)
    std::int64_t interval_ms = 100;      // the refused share is adjusted once per interval
    double increase = 0.1;               // added per overloaded interval (twice as much above 4x)
    double decrease = 0.02;              // taken off per interval that was not
    double max_refused_share = 0.98;
    // Requests that failed their checks (a bad token, an unregistered caller) per source:
    // a bucket of `source_failure_burst` refilled at `source_failures_per_second`.
    double source_failures_per_second = 1.0;
    double source_failure_burst = 10.0;
    std::size_t max_sources = 4096;
};

}  // namespace mcx
