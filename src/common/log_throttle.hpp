#pragma once
// Rate-limited logging of events that an attacker can repeat at will (refusals, malformed
// input): the first `burst` pass, then one per `period_ms`, which tells how many were held
// back. Pure: the caller gives the time.

#include <cstdint>
#include <optional>

namespace mcx {

class LogThrottle {
  public:
    explicit LogThrottle(std::uint32_t burst = 10, std::int64_t period_ms = 10'000)
        : burst_(burst), period_ms_(period_ms) {}

    // Whether to log the event at `now_ms`: nullopt to stay silent, else how many events
    // were silenced since the last one logged.
    std::optional<std::uint64_t> allow(std::int64_t now_ms) {
        if (passed_ < burst_) {
            ++passed_;
            last_ms_ = now_ms;
            return 0;
        }
        if (now_ms - last_ms_ < period_ms_) {
            ++held_back_;
            return std::nullopt;
        }
        last_ms_ = now_ms;
        const auto held = held_back_;
        held_back_ = 0;
        return held;
    }

  private:
    std::uint32_t burst_;
    std::int64_t period_ms_;
    std::uint32_t passed_ = 0;
    std::int64_t last_ms_ = 0;
    std::uint64_t held_back_ = 0;
};

}  // namespace mcx
