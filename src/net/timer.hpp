#pragma once
// One-shot timer on the event loop thread. Cancelled when destroyed.

#include <chrono>
#include <functional>
#include <memory>

namespace mcx::net {

class Timer {
  public:
    Timer();
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void start(std::chrono::milliseconds delay, std::function<void()> fn);
    void cancel();
    bool running() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

// Called by EventLoop before libre closes: releases this thread's timer descriptor.
void shutdown_timer_queue();

// Milliseconds of libre's monotonic clock.
std::uint64_t monotonic_ms();

}  // namespace mcx::net
