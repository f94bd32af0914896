#pragma once
// HTTP requests off the event loop: each request runs on a thread of its own and its result is
// handed back to the loop thread (EventLoop::post), so that a slow or silent IdMS or CMS never
// holds the calls of a client. Destroying the worker waits for requests still under way (each
// is bounded by its timeout) and drops their results.

#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "net/event_loop.hpp"
#include "net/http.hpp"

namespace mcx::net {

class HttpWorker {
  public:
    using Done = std::function<void(Result<HttpResponse>)>;  // runs on the loop thread

    explicit HttpWorker(EventLoop& loop);
    ~HttpWorker();
    HttpWorker(const HttpWorker&) = delete;
    HttpWorker& operator=(const HttpWorker&) = delete;

    void post_form(std::string url, std::map<std::string, std::string> fields,
                   std::chrono::milliseconds timeout, Done done);
    void get(std::string url, std::map<std::string, std::string> headers,
             std::chrono::milliseconds timeout, Done done);

  private:
    void run(std::function<Result<HttpResponse>()> request, Done done);
    void reap();

    EventLoop& loop_;
    // Set to false when the worker goes: results that arrive later are dropped.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::mutex mutex_;
    struct Job {
        std::thread thread;
        std::shared_ptr<bool> finished;
    };
    std::list<Job> jobs_;
};

}  // namespace mcx::net
