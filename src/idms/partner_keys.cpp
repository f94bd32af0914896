#include "idms/partner_keys.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>

#include "idms/keys.hpp"

namespace mcx::idms {

PartnerKeyFetcher::PartnerKeyFetcher(std::vector<Source> sources, Fetch fetch, Backoff backoff)
    : fetch_(std::move(fetch)) {
    const auto now = Clock::now();
    for (auto& source : sources) {
        auto policy = backoff;
        policy.refresh = source.refresh;
        entries_.emplace(std::move(source.issuer), Entry{std::move(source.url), std::nullopt,
                                                         KeyRefreshSchedule(policy, now)});
    }
    if (!entries_.empty()) worker_ = std::thread([this] { run(); });
}

PartnerKeyFetcher::~PartnerKeyFetcher() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
}

std::optional<PartnerKeyFetcher::Key> PartnerKeyFetcher::key(const std::string& issuer,
                                                             const std::string& kid) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(issuer);
    if (it == entries_.end()) return std::nullopt;
    auto& entry = it->second;
    const auto now = Clock::now();
    const bool moved = !entry.key                                 ? entry.schedule.key_wanted(now)
                       : !kid.empty() && kid != entry.key->key_id ? entry.schedule.unknown_kid(now)
                                                                  : false;
    if (moved) wake_.notify_all();
    return entry.key;
}

int PartnerKeyFetcher::attempts(const std::string& issuer) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(issuer);
    return it == entries_.end() ? 0 : it->second.schedule.attempts();
}

void PartnerKeyFetcher::run() {
    sigset_t all;  // process signals (SIGTERM) are for the event loop's thread
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        const auto now = Clock::now();
        std::string issuer;
        std::optional<Clock::time_point> next;
        for (const auto& [name, entry] : entries_) {
            if (entry.schedule.due(now)) {
                issuer = name;
                break;
            }
            next =
                next ? std::min(*next, entry.schedule.next_fetch()) : entry.schedule.next_fetch();
        }
        if (issuer.empty()) {
            if (next) {
                wake_.wait_until(lock, *next);
            } else {
                wake_.wait(lock);
            }
            continue;
        }
        const auto url = entries_.at(issuer).url;
        lock.unlock();
        auto pem = fetch_(url);
        std::optional<Key> fetched;
        if (pem) {
            // Network input: a body that is no EC P-256 public key is a failed fetch.
            if (auto kid = SigningKey::public_key_id(*pem)) {
                fetched = Key{std::move(*pem), std::move(*kid)};
            } else {
                spdlog::warn("partner IdMS key from {} refused: {}", url, kid.error().reason);
            }
        }
        lock.lock();
        auto& entry = entries_.at(issuer);  // entries are never removed
        if (!fetched) {
            entry.schedule.failed(Clock::now());
            continue;
        }
        if (!entry.key) {
            spdlog::info("partner IdMS {}: key {} fetched from {}", issuer, fetched->key_id, url);
        } else if (entry.key->key_id != fetched->key_id) {
            spdlog::info("partner IdMS {}: key changed from {} to {} (fetched from {})", issuer,
                         entry.key->key_id, fetched->key_id, url);
        }
        entry.key = std::move(fetched);
        entry.schedule.fetched(Clock::now());
    }
}

}  // namespace mcx::idms
