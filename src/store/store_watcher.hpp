#pragma once
// Notices changes another process made to the store (mcx admin while mcxd runs): polls
// SqliteStore::poll_external_changes() (PRAGMA data_version) on a thread of its own, so that the
// SIP loop never waits for the store's lock, and calls `on_change` there after each change.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "store/sqlite_store.hpp"

namespace mcx::store {

class StoreWatcher {
  public:
    StoreWatcher(SqliteStore& store, std::chrono::milliseconds period,
                 std::function<void()> on_change);
    ~StoreWatcher();  // stops and joins the thread
    StoreWatcher(const StoreWatcher&) = delete;
    StoreWatcher& operator=(const StoreWatcher&) = delete;

  private:
    void run();

    SqliteStore& store_;
    std::chrono::milliseconds period_;
    std::function<void()> on_change_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace mcx::store
