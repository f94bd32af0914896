#pragma once
// When to fetch a partner IdMS's published signing key (GET /idms/public-key) again: at start,
// after a failure (backoff), on a schedule, and sooner when a token names a key id (`kid`,
// RFC 7515 4.1.4) other than the known key's (docs/identity.md, "Tokens for a partner MC
// system"). Pure: no clock, no sockets; the caller passes the time in.

#include <chrono>
#include <optional>

namespace mcx::idms {

struct KeyRefreshPolicy {
    std::chrono::milliseconds first_retry{250};    // wait after the first failure, doubled ...
    std::chrono::milliseconds most_retry{30'000};  // ... up to this
    std::chrono::milliseconds refresh{3'600'000};  // a known key is fetched again this often
    // A token with an unknown kid brings the next fetch forward to no sooner than this after
    // the previous fetch: a flood of tokens naming made-up kids costs one fetch per interval.
    std::chrono::milliseconds unknown_kid_interval{10'000};
};

class KeyRefreshSchedule {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // The first fetch is due at `now`.
    KeyRefreshSchedule(KeyRefreshPolicy policy, TimePoint now);

    TimePoint next_fetch() const { return next_; }
    bool due(TimePoint now) const { return now >= next_; }

    // The outcome of a fetch that ended at `now`: success schedules the refresh, a failure
    // the next retry (backoff doubling from first_retry to most_retry). A failed refresh keeps
    // the key known (the caller's business).
    void fetched(TimePoint now);
    void failed(TimePoint now);

    // No key is known and a token of this issuer came: the next retry is brought forward to
    // first_retry after the previous attempt. True when that moved the next fetch.
    bool key_wanted(TimePoint now);
    // A token named a kid the known key does not have: the next fetch is brought forward to
    // unknown_kid_interval after the previous attempt (or now). True when that moved it.
    bool unknown_kid(TimePoint now);

    int attempts() const { return attempts_; }

  private:
    bool bring_forward(TimePoint now, std::chrono::milliseconds after_last);

    KeyRefreshPolicy policy_;
    TimePoint next_;
    std::optional<TimePoint> last_attempt_;
    std::chrono::milliseconds wait_{0};  // current backoff; 0 after a success
    int attempts_ = 0;
};

}  // namespace mcx::idms
