#include "store/store_watcher.hpp"

#include <spdlog/spdlog.h>

namespace mcx::store {

StoreWatcher::StoreWatcher(SqliteStore& store, std::chrono::milliseconds period,
                           std::function<void()> on_change)
    : store_(store), period_(period), on_change_(std::move(on_change)) {
    thread_ = std::thread([this] { run(); });
}

StoreWatcher::~StoreWatcher() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void StoreWatcher::run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
        lock.unlock();
        auto changed = store_.poll_external_changes();
        if (!changed) {
            spdlog::warn("store watcher: {}", changed.error().reason);
        } else if (*changed && on_change_) {
            on_change_();
        }
        lock.lock();
    }
}

}  // namespace mcx::store
