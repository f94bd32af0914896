#pragma once
// The connections of an HttpServer (http.hpp): one thread accepts them, completes TLS
// handshakes, reads each request in full and writes each response, all on non-blocking sockets
// with a deadline per step (HttpLimits), so that it waits for no client; workers only run
// `serve` on requests already received. Connection states: docs/security.md, "HTTP that cannot
// be starved".

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "net/endpoint.hpp"
#include "net/http.hpp"
#include "proto/http_request_framer.hpp"

namespace mcx::net {

// The limits of `limits` that hold for each request's head and body while it is framed.
proto::HttpHeadLimits head_limits(const HttpLimits& limits);

class HttpListener {
  public:
    // Runs on a worker thread.
    using Serve = std::function<ServedResponse(const ReceivedRequest&)>;

    // `tls`: null for plain HTTP, else a server context that outlives the listener.
    HttpListener(const HttpLimits& limits, SSL_CTX* tls, Serve serve);
    ~HttpListener();
    HttpListener(const HttpListener&) = delete;
    HttpListener& operator=(const HttpListener&) = delete;

    // Binds (port 0: any) and starts the threads.
    Result<Endpoint> start(const std::string& host, std::uint16_t port);
    // Closes every connection; waits for the handlers under way.
    void stop();
    // Safe from any thread.
    HttpRefusalCounts refusals() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mcx::net
