#include "net/timer.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "net/re_include.hpp"

namespace mcx::net {

// libre keeps every timer in one sorted linked list, and tmr_start() walks it from the tail:
// starting a short timer costs one step per longer timer already running. An MC server under
// load runs tens of thousands of long transaction timers (64*T1), so each short timer became
// expensive. Our timers live in an ordered map instead, and the earliest deadline is armed on a
// timerfd that libre's poll loop watches: no timer of ours enters libre's list.
// (Measured: docs/BENCHMARKS.md.)
namespace {

struct TimerQueue {
    int fd = -1;
    std::multimap<std::uint64_t, Timer::Impl*> entries;
    std::uint64_t armed_for = 0;      // deadline the master timer is set for; 0: not armed
    std::uint64_t next_sequence = 1;  // start order: a timer started while firing waits a turn

    TimerQueue() {
        fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd >= 0) fd_listen(fd, FD_READ, &TimerQueue::on_fd, this);
    }
    ~TimerQueue() {
        if (fd >= 0) {
            fd_close(fd);
            close(fd);
        }
    }

    static std::unique_ptr<TimerQueue>& slot() {
        thread_local std::unique_ptr<TimerQueue> queue;
        return queue;
    }
    // The queue of this thread's event loop (created with the loop's first timer).
    static TimerQueue& current() {
        auto& queue = slot();
        if (!queue) queue = std::make_unique<TimerQueue>();
        return *queue;
    }
    void rearm();
    void arm(std::uint64_t delay_ms);
    void fire();
    static void on_fd(int flags, void* arg);
};

}  // namespace

struct Timer::Impl {
    std::function<void()> fn;
    std::multimap<std::uint64_t, Impl*>::iterator position;
    std::uint64_t sequence = 0;
    bool scheduled = false;

    void remove() {
        if (!scheduled) return;
        auto& queue = TimerQueue::current();
        const bool was_first = position == queue.entries.begin();
        queue.entries.erase(position);
        scheduled = false;
        if (was_first) queue.rearm();
    }
};

void TimerQueue::arm(std::uint64_t delay_ms) {
    itimerspec spec{};
    // A zero it_value disarms a timerfd: "now" is 1 ns.
    spec.it_value.tv_sec = static_cast<time_t>(delay_ms / 1000);
    spec.it_value.tv_nsec = delay_ms == 0 ? 1 : static_cast<long>((delay_ms % 1000) * 1000000);
    timerfd_settime(fd, 0, &spec, nullptr);
}

void TimerQueue::rearm() {
    if (entries.empty()) {
        if (armed_for != 0) {
            itimerspec off{};
            timerfd_settime(fd, 0, &off, nullptr);
        }
        armed_for = 0;
        return;
    }
    const auto earliest = entries.begin()->first;
    const auto now = tmr_jiffies();
    if (armed_for == earliest && earliest > now) return;
    arm(earliest > now ? earliest - now : 0);
    armed_for = earliest;
}

void TimerQueue::on_fd(int, void* arg) {
    auto* queue = static_cast<TimerQueue*>(arg);
    std::uint64_t expirations = 0;
    (void)read(queue->fd, &expirations, sizeof(expirations));
    queue->fire();
}

void TimerQueue::fire() {
    TimerQueue* queue = this;
    queue->armed_for = 0;
    const auto now = tmr_jiffies();
    // Timers started by the callbacks below (even with 0 ms) run in a later loop turn, after
    // the sockets had their chance, as libre's own timers do.
    const auto started_before = queue->next_sequence;
    while (!queue->entries.empty() && queue->entries.begin()->first <= now &&
           queue->entries.begin()->second->sequence < started_before) {
        auto* impl = queue->entries.begin()->second;
        queue->entries.erase(queue->entries.begin());
        impl->scheduled = false;
        // Move the callback out: it may restart, cancel or destroy its own timer.
        auto fn = std::move(impl->fn);
        if (fn) fn();
    }
    queue->rearm();
}

void shutdown_timer_queue() {
    auto& queue = TimerQueue::slot();
    if (!queue) return;
    for (auto& [deadline, impl] : queue->entries) impl->scheduled = false;  // never to fire
    queue.reset();
}

Timer::Timer() : impl_(std::make_unique<Impl>()) {}

Timer::~Timer() {
    impl_->remove();
}

void Timer::start(std::chrono::milliseconds delay, std::function<void()> fn) {
    impl_->remove();
    impl_->fn = std::move(fn);
    auto& queue = TimerQueue::current();
    const auto deadline =
        tmr_jiffies() + static_cast<std::uint64_t>(std::max<long>(0, delay.count()));
    impl_->position = queue.entries.emplace(deadline, impl_.get());
    impl_->sequence = queue.next_sequence++;
    impl_->scheduled = true;
    if (impl_->position == queue.entries.begin()) queue.rearm();
}

void Timer::cancel() {
    impl_->remove();
    impl_->fn = nullptr;
}

bool Timer::running() const {
    return impl_->scheduled;
}

std::uint64_t monotonic_ms() {
    return tmr_jiffies();
}

}  // namespace mcx::net
