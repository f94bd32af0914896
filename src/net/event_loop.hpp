#pragma once
// libre's event loop (re_main) behind a small C++ face. Every libre object lives on the thread
// that runs the loop; other threads hand work over with post().

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>

namespace mcx::net {

class EventLoop {
  public:
    // Initialises libre for this process (once) and binds the loop to the calling thread.
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Runs until stop(); must be called on the constructing thread. SIGINT/SIGTERM stop it.
    void run();
    // Thread-safe.
    void stop();
    // Thread-safe: runs `fn` on the loop thread in a later turn (also when called from it).
    void post(std::function<void()> fn);

    // From another thread: runs `fn` on the loop and waits for its result (nullopt on timeout).
    template <class Fn>
    auto call(Fn fn, std::chrono::milliseconds timeout) -> std::optional<decltype(fn())> {
        using T = decltype(fn());
        auto promise = std::make_shared<std::promise<T>>();
        auto future = promise->get_future();
        post([promise, fn = std::move(fn)]() mutable { promise->set_value(fn()); });
        if (future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
        return future.get();
    }

    // Destroys `object` in a later loop turn: never delete an object inside its own callback.
    template <class T>
    void defer_delete(std::unique_ptr<T> object) {
        auto raw = object.release();
        post([raw] { delete raw; });
    }

    // Raises this process's open-file limit to its hard maximum (each relayed call holds six
    // UDP sockets) and lets libre poll that many descriptors. Returns the limit in force.
    static int raise_descriptor_limit();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mcx::net
