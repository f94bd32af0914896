#pragma once
// An EventLoop on a thread of its own, for programs whose main thread drives a scenario
// (mcx demo, tests): call() runs work on the loop and returns its result.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "net/event_loop.hpp"

namespace mcx::net {

class LoopThread {
  public:
    LoopThread() {
        std::unique_lock lock(mutex_);
        thread_ = std::thread([this] {
            EventLoop loop;
            {
                std::lock_guard inner(mutex_);
                loop_ = &loop;
            }
            ready_.notify_all();
            loop.run();
            // Objects created on the loop must be gone before the loop: run queued deletions.
            std::lock_guard inner(mutex_);
            loop_ = nullptr;
        });
        ready_.wait(lock, [this] { return loop_ != nullptr; });
    }
    ~LoopThread() { stop(); }
    LoopThread(const LoopThread&) = delete;
    LoopThread& operator=(const LoopThread&) = delete;

    EventLoop& loop() { return *loop_; }

    template <class Fn>
    auto call(Fn fn, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto result = loop_->call(std::move(fn), timeout);
        if (!result) throw std::runtime_error("event loop did not answer in time");
        return std::move(*result);
    }

    void stop() {
        if (!thread_.joinable()) return;
        loop_->stop();
        thread_.join();
    }

  private:
    std::mutex mutex_;
    std::condition_variable ready_;
    EventLoop* loop_ = nullptr;
    std::thread thread_;
};

}  // namespace mcx::net
