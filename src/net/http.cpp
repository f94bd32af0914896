#include "net/http.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <thread>

namespace mcx::net {

namespace {

constexpr std::size_t kMaxRequestBody = 256 * 1024;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

HttpRequest convert(const httplib::Request& req) {
    HttpRequest out;
    out.method = req.method;
    out.path = req.path;
    for (const auto& [k, v] : req.params) out.params.emplace(k, v);
    for (const auto& [k, v] : req.headers) out.headers.emplace(lower(k), v);
    out.body = req.body;
    out.remote = req.remote_addr + ":" + std::to_string(req.remote_port);
    out.remote_address = req.remote_addr;
    return out;
}

void apply(const HttpResponse& from, httplib::Response& to) {
    to.status = from.status;
    for (const auto& [k, v] : from.headers) to.set_header(k, v);
    to.set_content(from.body, from.content_type);
}

struct SplitUrl {
    std::string base;  // scheme://host:port
    std::string path;
};

Result<SplitUrl> split_url(const std::string& url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos || url.substr(0, scheme_end) != "http") {
        return fail(Errc::invalid_argument, "URL must start with http:// : " + url);
    }
    const auto path_start = url.find('/', scheme_end + 3);
    if (path_start == std::string::npos) return SplitUrl{url, "/"};
    return SplitUrl{url.substr(0, path_start), url.substr(path_start)};
}

Result<HttpResponse> from_result(const httplib::Result& res, const std::string& url) {
    if (!res) {
        return fail(Errc::io,
                    "HTTP request to " + url + " failed: " + httplib::to_string(res.error()));
    }
    HttpResponse out;
    out.status = res->status;
    out.body = res->body;
    out.content_type = res->get_header_value("Content-Type");
    for (const auto& [k, v] : res->headers) out.headers.emplace_back(k, v);
    return out;
}

}  // namespace

struct HttpServer::Impl {
    httplib::Server server;
    std::thread thread;
    std::atomic<bool> listen_returned{false};
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {
    impl_->server.set_payload_max_length(kMaxRequestBody);
    impl_->server.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
            std::string what = "unknown error";
            try {
                if (ep) std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            spdlog::error("HTTP {} {}: handler failed: {}", req.method, req.path, what);
            res.status = 500;
            res.set_content(R"({"error":"server_error"})", "application/json");
        });
}

HttpServer::~HttpServer() {
    stop();
}

void HttpServer::get(const std::string& path, Handler handler) {
    impl_->server.Get(path, [handler](const httplib::Request& req, httplib::Response& res) {
        apply(handler(convert(req)), res);
    });
}

void HttpServer::post(const std::string& path, Handler handler) {
    impl_->server.Post(path, [handler](const httplib::Request& req, httplib::Response& res) {
        apply(handler(convert(req)), res);
    });
}

Result<Endpoint> HttpServer::start(const std::string& host, std::uint16_t port) {
    int bound = port;
    if (port == 0) {
        bound = impl_->server.bind_to_any_port(host);
    } else if (!impl_->server.bind_to_port(host, port)) {
        bound = -1;
    }
    if (bound <= 0) {
        return fail(Errc::io, "cannot listen for HTTP on " + host + ":" + std::to_string(port));
    }
    impl_->thread = std::thread([this] {
        impl_->server.listen_after_bind();
        impl_->listen_returned = true;
    });
    return Endpoint{host, static_cast<std::uint16_t>(bound)};
}

void HttpServer::stop() {
    if (impl_->thread.joinable()) {
        // cpp-httplib 0.11's Server::stop() does nothing until listen_after_bind() has marked
        // the server running; stopping earlier would leave the thread blocked in accept().
        while (!impl_->server.is_running() && !impl_->listen_returned) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        impl_->server.stop();
        impl_->thread.join();
    }
}

std::size_t HttpServer::worker_threads() {
    return CPPHTTPLIB_THREAD_POOL_COUNT;
}

namespace {

// A client for the URL's origin, with the timeout on connect and read.
Result<std::pair<std::unique_ptr<httplib::Client>, std::string>> client_for(
    const std::string& url, std::chrono::milliseconds timeout) {
    auto split = split_url(url);
    if (!split) return tl::unexpected(split.error());
    auto client = std::make_unique<httplib::Client>(split->base);
    client->set_connection_timeout(timeout);
    client->set_read_timeout(timeout);
    return std::make_pair(std::move(client), split->path);
}

}  // namespace

Result<HttpResponse> http_post_form(const std::string& url,
                                    const std::map<std::string, std::string>& fields,
                                    std::chrono::milliseconds timeout) {
    auto client = client_for(url, timeout);
    if (!client) return tl::unexpected(client.error());
    httplib::Params params(fields.begin(), fields.end());
    return from_result(client->first->Post(client->second, params), url);
}

Result<HttpResponse> http_get(const std::string& url,
                              const std::map<std::string, std::string>& headers,
                              std::chrono::milliseconds timeout) {
    auto client = client_for(url, timeout);
    if (!client) return tl::unexpected(client.error());
    httplib::Headers h(headers.begin(), headers.end());
    return from_result(client->first->Get(client->second, h), url);
}

}  // namespace mcx::net
