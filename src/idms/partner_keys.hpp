#pragma once
// Signing keys of partner IdMSs that publish theirs (GET /idms/public-key, over HTTPS with
// mutual TLS: docs/security.md, "Partner trust over TLS"), fetched on a thread of its own: a
// token from a partner whose key is not known yet is refused at once instead of holding the
// event loop while its IdMS answers (or does not). Keys are fetched again on a schedule and
// when a token names another key id (idms/key_refresh.hpp decides when).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "idms/key_refresh.hpp"

namespace mcx::idms {

class PartnerKeyFetcher {
  public:
    using Clock = std::chrono::steady_clock;
    // Returns the PEM public key published at `url`, or nullopt (the reason logged by it); may
    // block (HTTP).
    using Fetch = std::function<std::optional<std::string>(const std::string& url)>;
    struct Source {
        std::string issuer;                            // e.g. "mcx-idms:B"
        std::string url;                               // where its key is published
        std::chrono::milliseconds refresh{3'600'000};  // [[partners]] key_refresh_seconds
    };
    struct Key {
        std::string public_pem;
        std::string key_id;  // RFC 7638 thumbprint (SigningKey::public_key_id)
    };
    // Retry and rate limits; `refresh` is taken from each Source.
    using Backoff = KeyRefreshPolicy;

    // Starts fetching every source's key at once, retrying failures with backoff.
    PartnerKeyFetcher(std::vector<Source> sources, Fetch fetch, Backoff backoff = {});
    ~PartnerKeyFetcher();  // stops the thread (waits for a fetch under way)
    PartnerKeyFetcher(const PartnerKeyFetcher&) = delete;
    PartnerKeyFetcher& operator=(const PartnerKeyFetcher&) = delete;

    // Never blocks on the network. Without the key yet, the next attempt for that issuer is
    // brought forward to at most `backoff.first_retry` after the previous one; with a `kid`
    // other than the known key's, to `backoff.unknown_kid_interval` after it. The key known
    // is returned either way.
    std::optional<Key> key(const std::string& issuer, const std::string& kid = {});
    // Fetch attempts made so far for `issuer` (for tests).
    int attempts(const std::string& issuer) const;

  private:
    struct Entry {
        std::string url;
        std::optional<Key> key;
        KeyRefreshSchedule schedule;
    };
    void run();

    Fetch fetch_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::map<std::string, Entry> entries_;  // by issuer
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace mcx::idms
