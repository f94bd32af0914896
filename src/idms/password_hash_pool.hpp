#pragma once
// Password hashing on a few threads of its own with a bounded queue (issue 16 item 5): the HTTP
// threads that also serve the CMS and /status hand each PBKDF2 over and wait for it, so a login
// flood uses at most `threads` cores and ties up at most `threads + queue` HTTP threads; when
// those are taken, verify() says "busy" at once and the token endpoint answers 503.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "idms/password.hpp"

namespace mcx::idms {

class PasswordHashPool final : public PasswordHasher {
  public:
    using Verify = std::function<bool(const std::string& password, const std::string& stored)>;

    // `threads` >= 1. `queue`: attempts that may wait for a free thread. `check` does the work
    // (verify_password; a test passes one it can hold).
    PasswordHashPool(std::size_t threads, std::size_t queue, Verify check = verify_password);
    // Finishes what was handed over, then joins (every waiting caller gets its answer).
    ~PasswordHashPool() override;
    PasswordHashPool(const PasswordHashPool&) = delete;
    PasswordHashPool& operator=(const PasswordHashPool&) = delete;

    // Blocks the caller until a thread of the pool has checked the password; nullopt at once
    // when `threads + queue` attempts are already under way.
    std::optional<bool> verify(const std::string& password, const std::string& stored) override;

    // Attempts handed over and not answered yet (running or waiting).
    std::size_t in_flight() const;
    std::size_t refused() const;  // verify() calls answered "busy" so far

  private:
    struct Job {
        const std::string* password;  // the caller waits, so its strings outlive the job
        const std::string* stored;
        std::promise<bool> result;
    };
    void run();

    Verify check_;
    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> jobs_;
    std::size_t in_flight_ = 0;
    std::size_t refused_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace mcx::idms
