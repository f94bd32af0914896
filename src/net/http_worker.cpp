#include "net/http_worker.hpp"

namespace mcx::net {

HttpWorker::HttpWorker(EventLoop& loop) : loop_(loop) {}

HttpWorker::~HttpWorker() {
    *alive_ = false;  // read on the loop thread only, where this runs too
    std::list<Job> jobs;
    {
        std::lock_guard lock(mutex_);
        jobs.swap(jobs_);
    }
    for (auto& job : jobs) {
        if (job.thread.joinable()) job.thread.join();
    }
}

void HttpWorker::reap() {
    std::lock_guard lock(mutex_);
    for (auto it = jobs_.begin(); it != jobs_.end();) {
        if (*it->finished) {
            it->thread.join();
            it = jobs_.erase(it);
        } else {
            ++it;
        }
    }
}

void HttpWorker::run(std::function<Result<HttpResponse>()> request, Done done) {
    reap();
    auto finished = std::make_shared<bool>(false);
    std::lock_guard lock(mutex_);
    auto& job = jobs_.emplace_back();
    job.finished = finished;
    job.thread = std::thread([this, request = std::move(request), done = std::move(done),
                              alive = alive_, finished]() mutable {
        auto result = request();
        loop_.post([alive, done = std::move(done), result = std::move(result), finished]() mutable {
            *finished = true;  // on the loop thread, as reap()
            if (*alive) done(std::move(result));
        });
    });
}

void HttpWorker::post_form(std::string url, std::map<std::string, std::string> fields,
                           std::chrono::milliseconds timeout, Done done) {
    run([url = std::move(url), fields = std::move(fields),
         timeout] { return http_post_form(url, fields, timeout); },
        std::move(done));
}

void HttpWorker::get(std::string url, std::map<std::string, std::string> headers,
                     std::chrono::milliseconds timeout, Done done) {
    run([url = std::move(url), headers = std::move(headers),
         timeout] { return http_get(url, headers, timeout); },
        std::move(done));
}

}  // namespace mcx::net
