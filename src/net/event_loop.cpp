#include "net/event_loop.hpp"

#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "net/re_include.hpp"
#include "net/timer.hpp"

namespace mcx::net {

namespace {

std::mutex g_init_mutex;
int g_init_count = 0;

constexpr int kPostId = 1;
constexpr int kStopId = 2;

void signal_handler(int sig) {
    spdlog::info("signal {} received, stopping", sig);
    re_cancel();
}

}  // namespace

struct EventLoop::Impl {
    mqueue* queue = nullptr;
    std::thread::id owner = std::this_thread::get_id();

    static void on_message(int id, void* data, void* /*arg*/) {
        if (id == kStopId) {
            re_cancel();
            return;
        }
        std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(data));
        try {
            (*fn)();
        } catch (const std::exception& e) {
            spdlog::error("event loop task threw: {}", e.what());
        }
    }
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {
    {
        std::lock_guard lock(g_init_mutex);
        if (g_init_count++ == 0) {
            if (int err = libre_init(); err != 0) {
                throw std::runtime_error("libre_init failed: " + std::to_string(err));
            }
        }
    }
    // libre sizes its descriptor table once, at the first socket it watches: before the queue.
    raise_descriptor_limit();
    if (int err = mqueue_alloc(&impl_->queue, &Impl::on_message, nullptr); err != 0) {
        throw std::runtime_error("mqueue_alloc failed: " + std::to_string(err));
    }
}

EventLoop::~EventLoop() {
    shutdown_timer_queue();
    mem_deref(impl_->queue);
    std::lock_guard lock(g_init_mutex);
    if (--g_init_count == 0) {
        libre_close();
    }
}

void EventLoop::run() {
    if (std::this_thread::get_id() != impl_->owner) {
        throw std::logic_error("EventLoop::run called from a thread that does not own the loop");
    }
    re_main(signal_handler);
}

void EventLoop::stop() {
    mqueue_push(impl_->queue, kStopId, nullptr);
}

void EventLoop::post(std::function<void()> fn) {
    auto* heap = new std::function<void()>(std::move(fn));
    if (mqueue_push(impl_->queue, kPostId, heap) != 0) {
        delete heap;
        spdlog::error("event loop queue full; task dropped");
    }
}

int EventLoop::raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) getrlimit(RLIMIT_NOFILE, &limit);
    }
    const int count = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 65536));
    fd_setsize(count);
    return count;
}

}  // namespace mcx::net
