#include "net/timer.hpp"

#include <algorithm>
#include <map>

#include "net/re_include.hpp"

namespace mcx::net {

// libre keeps every timer in one sorted linked list, and tmr_start() walks it from the tail:
// starting a short timer costs one step per longer timer already running. An MC server under
// load runs tens of thousands of long transaction timers (64*T1), so each short timer became
// expensive. Our timers live in an ordered map instead, driven by one libre timer per thread
// that is armed for the earliest deadline. (Measured: docs/BENCHMARKS.md.)
namespace {

struct TimerQueue {
    tmr master{};
    std::multimap<std::uint64_t, Timer::Impl*> entries;
    std::uint64_t armed_for = 0;      // deadline the master timer is set for; 0: not armed
    std::uint64_t next_sequence = 1;  // start order: a timer started while firing waits a turn

    TimerQueue() { tmr_init(&master); }
    ~TimerQueue() { tmr_cancel(&master); }

    static TimerQueue& current() {
        thread_local TimerQueue queue;
        return queue;
    }
    void rearm();
    static void on_master(void* arg);
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

void TimerQueue::rearm() {
    if (entries.empty()) {
        if (armed_for != 0) tmr_cancel(&master);
        armed_for = 0;
        return;
    }
    const auto earliest = entries.begin()->first;
    const auto now = tmr_jiffies();
    if (armed_for == earliest && earliest > now) return;
    tmr_start(&master, earliest > now ? earliest - now : 0, &TimerQueue::on_master, this);
    armed_for = earliest;
}

void TimerQueue::on_master(void* arg) {
    auto* queue = static_cast<TimerQueue*>(arg);
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
