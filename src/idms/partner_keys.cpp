#include "idms/partner_keys.hpp"

#include <pthread.h>

#include <algorithm>
#include <csignal>

namespace mcx::idms {

PartnerKeyFetcher::PartnerKeyFetcher(std::vector<Source> sources, Fetch fetch, Backoff backoff)
    : fetch_(std::move(fetch)), backoff_(backoff) {
    const auto now = Clock::now();
    for (auto& source : sources) {
        Entry entry;
        entry.url = std::move(source.url);
        entry.next_attempt = now;
        entries_.emplace(std::move(source.issuer), std::move(entry));
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

std::optional<std::string> PartnerKeyFetcher::key(const std::string& issuer) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(issuer);
    if (it == entries_.end()) return std::nullopt;
    auto& entry = it->second;
    if (entry.key) return entry.key;
    const auto soonest = entry.last_attempt + backoff_.first;
    if (entry.attempts > 0 && soonest < entry.next_attempt) {
        entry.next_attempt = soonest;
        wake_.notify_all();
    }
    return std::nullopt;
}

int PartnerKeyFetcher::attempts(const std::string& issuer) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(issuer);
    return it == entries_.end() ? 0 : it->second.attempts;
}

void PartnerKeyFetcher::run() {
    sigset_t all;  // process signals (SIGTERM) are for the event loop's thread
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        const auto now = Clock::now();
        Entry* due = nullptr;
        std::string issuer;
        std::optional<Clock::time_point> next;
        for (auto& [name, entry] : entries_) {
            if (entry.key) continue;
            if (entry.next_attempt <= now) {
                due = &entry;
                issuer = name;
                break;
            }
            next = next ? std::min(*next, entry.next_attempt) : entry.next_attempt;
        }
        if (!due) {
            if (next) {
                wake_.wait_until(lock, *next);
            } else {
                wake_.wait(lock);  // every key known: only stopping wakes us for good
            }
            continue;
        }
        const auto url = due->url;
        lock.unlock();
        auto key = fetch_(url);
        lock.lock();
        auto& entry = entries_.at(issuer);  // entries are never removed
        ++entry.attempts;
        entry.last_attempt = Clock::now();
        if (key) {
            entry.key = std::move(key);
            continue;
        }
        entry.wait =
            entry.wait.count() == 0 ? backoff_.first : std::min(entry.wait * 2, backoff_.most);
        entry.next_attempt = entry.last_attempt + entry.wait;
    }
}

}  // namespace mcx::idms
