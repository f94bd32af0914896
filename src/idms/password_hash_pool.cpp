#include "idms/password_hash_pool.hpp"

#include <pthread.h>

#include <algorithm>
#include <csignal>
#include <exception>

namespace mcx::idms {

PasswordHashPool::PasswordHashPool(std::size_t threads, std::size_t queue, Verify check)
    : check_(std::move(check)), capacity_(std::max<std::size_t>(threads, 1) + queue) {
    threads = std::max<std::size_t>(threads, 1);
    threads_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

PasswordHashPool::~PasswordHashPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
}

std::optional<bool> PasswordHashPool::verify(const std::string& password,
                                             const std::string& stored) {
    std::future<bool> result;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || in_flight_ >= capacity_) {
            ++refused_;
            return std::nullopt;
        }
        ++in_flight_;
        jobs_.push_back(Job{&password, &stored, {}});
        result = jobs_.back().result.get_future();
    }
    wake_.notify_one();
    return result.get();
}

std::size_t PasswordHashPool::in_flight() const {
    std::lock_guard lock(mutex_);
    return in_flight_;
}

std::size_t PasswordHashPool::refused() const {
    std::lock_guard lock(mutex_);
    return refused_;
}

void PasswordHashPool::run() {
    sigset_t all;  // process signals (SIGTERM) are for the event loop's thread
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    pthread_setname_np(pthread_self(), "idms-pwhash");
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and everything handed over is answered
        Job job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        bool matched = false;
        std::exception_ptr error;
        try {
            matched = check_(*job.password, *job.stored);
        } catch (...) {
            error = std::current_exception();
        }
        lock.lock();
        --in_flight_;  // before the answer: a caller that tries again at once finds room
        lock.unlock();
        if (error) {
            job.result.set_exception(error);
        } else {
            job.result.set_value(matched);
        }
        lock.lock();
    }
}

}  // namespace mcx::idms
