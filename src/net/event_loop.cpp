#include "net/event_loop.hpp"

#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

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

// Posted tasks wait in a vector; the pipe of libre's mqueue only carries one wake-up per batch.
// The pipe is non-blocking and holds about 2 700 messages: one message per task, as before,
// dropped tasks (call events, dialog deletions) when a thread fell behind under load.
struct EventLoop::Impl {
    mqueue* queue = nullptr;
    std::thread::id owner = std::this_thread::get_id();
    std::mutex mutex;
    std::vector<std::function<void()>> tasks;  // under mutex
    bool wake_pending = false;                 // under mutex

    static void on_message(int id, void* /*data*/, void* arg) {
        if (id == kStopId) {
            re_cancel();
            return;
        }
        auto* self = static_cast<Impl*>(arg);
        std::vector<std::function<void()>> batch;
        {
            std::lock_guard lock(self->mutex);
            batch.swap(self->tasks);
            self->wake_pending = false;
        }
        for (auto& fn : batch) {
            try {
                fn();
            } catch (const std::exception& e) {
                spdlog::error("event loop task threw: {}", e.what());
            }
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
    if (int err = mqueue_alloc(&impl_->queue, &Impl::on_message, impl_.get()); err != 0) {
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
    bool wake = false;
    {
        std::lock_guard lock(impl_->mutex);
        impl_->tasks.push_back(std::move(fn));
        wake = !std::exchange(impl_->wake_pending, true);
    }
    if (wake && mqueue_push(impl_->queue, kPostId, nullptr) != 0) {
        // Only a stop and one wake-up can be in the pipe: this is not a full pipe.
        spdlog::error("event loop wake-up failed; the task runs with the next post");
        std::lock_guard lock(impl_->mutex);
        impl_->wake_pending = false;
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
