#pragma once
// Signing keys of partner IdMSs that publish theirs (GET /idms/public-key), fetched on a thread
// of its own: a token from a partner whose key is not known yet is refused at once instead of
// holding the event loop while its IdMS answers (or does not).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mcx::idms {

struct KeyFetchBackoff {
    std::chrono::milliseconds first{250};    // wait after the first failure, doubled ...
    std::chrono::milliseconds most{30'000};  // ... up to this
};

class PartnerKeyFetcher {
  public:
    using Clock = std::chrono::steady_clock;
    // Returns the PEM public key published at `url`, or nullopt; may block (HTTP).
    using Fetch = std::function<std::optional<std::string>(const std::string& url)>;
    struct Source {
        std::string issuer;  // e.g. "mcx-idms:B"
        std::string url;     // where its key is published
    };
    using Backoff = KeyFetchBackoff;

    // Starts fetching every source's key at once, retrying failures with backoff.
    PartnerKeyFetcher(std::vector<Source> sources, Fetch fetch, Backoff backoff = {});
    ~PartnerKeyFetcher();  // stops the thread (waits for a fetch under way)
    PartnerKeyFetcher(const PartnerKeyFetcher&) = delete;
    PartnerKeyFetcher& operator=(const PartnerKeyFetcher&) = delete;

    // Never blocks on the network. Without the key yet, the next attempt for that issuer is
    // brought forward to at most `backoff.first` after the previous one.
    std::optional<std::string> key(const std::string& issuer);
    // Fetch attempts made so far for `issuer` (for tests).
    int attempts(const std::string& issuer) const;

  private:
    struct Entry {
        std::string url;
        std::optional<std::string> key;
        int attempts = 0;
        std::chrono::milliseconds wait{0};
        Clock::time_point last_attempt{};
        Clock::time_point next_attempt{};
    };
    void run();

    Fetch fetch_;
    Backoff backoff_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::map<std::string, Entry> entries_;  // by issuer
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace mcx::idms
