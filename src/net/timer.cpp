#include "net/timer.hpp"

#include "net/re_include.hpp"

namespace mcx::net {

struct Timer::Impl {
    tmr handle{};
    std::function<void()> fn;

    static void on_expiry(void* arg) {
        auto* self = static_cast<Impl*>(arg);
        // Move out first: the callback may restart or destroy the timer.
        auto fn = std::move(self->fn);
        fn();
    }
};

Timer::Timer() : impl_(std::make_unique<Impl>()) {
    tmr_init(&impl_->handle);
}

Timer::~Timer() {
    tmr_cancel(&impl_->handle);
}

void Timer::start(std::chrono::milliseconds delay, std::function<void()> fn) {
    impl_->fn = std::move(fn);
    tmr_start(&impl_->handle, static_cast<uint64_t>(delay.count()), &Impl::on_expiry, impl_.get());
}

void Timer::cancel() {
    tmr_cancel(&impl_->handle);
    impl_->fn = nullptr;
}

bool Timer::running() const {
    return tmr_isrunning(&impl_->handle);
}

std::uint64_t monotonic_ms() {
    return tmr_jiffies();
}

}  // namespace mcx::net
