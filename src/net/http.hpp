#pragma once
// HTTP and HTTPS server and client (cpp-httplib with OpenSSL, as Debian builds it;
// docs/architecture.md says why not libre's HTTP). The server runs on its own thread: handlers
// must not touch loop-bound state directly; use EventLoop::post or call_on_loop.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "net/endpoint.hpp"

namespace mcx::net {

struct HttpRequest {
    std::string method;
    std::string path;
    std::map<std::string, std::string> params;   // query and x-www-form-urlencoded body
    std::map<std::string, std::string> headers;  // names lower-case
    std::string body;
    std::string remote;          // "address:port" of the client
    std::string remote_address;  // the address alone
    std::string tls_peer;        // HTTPS: CN of the client's verified certificate

    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string{} : it->second;
    }
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

// Mutual TLS (docs/security.md, "Partner trust over TLS"): this side presents
// `certificate_file` (chain and key in one PEM file, `mcx admin certs`) and requires the peer's
// certificate to chain to `ca_file`; TLS 1.2 at least.
struct HttpTls {
    std::string certificate_file;
    std::string ca_file;
};

class HttpServer {
  public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;

    HttpServer();  // plain HTTP
    // HTTPS that refuses a client without a certificate of `tls.ca_file` (handshake fails,
    // logged with the reason); an unreadable certificate, key or CA is an Error.
    static Result<std::unique_ptr<HttpServer>> https(const HttpTls& tls);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    void get(const std::string& path, Handler handler);
    void post(const std::string& path, Handler handler);
    // Binds (port 0: any) and serves on a background thread.
    Result<Endpoint> start(const std::string& host, std::uint16_t port);
    void stop();
    // Threads that run the handlers (cpp-httplib's pool); a handler that blocks holds one.
    static std::size_t worker_threads();

  private:
    struct Impl;
    explicit HttpServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Blocking HTTP client calls with a timeout; URLs are http://host:port/path, or
// https://host:port/path with `tls` (required for https: mutual TLS only; the server's
// certificate must chain to tls->ca_file and name the URL's host). A refused server
// certificate is an Error with OpenSSL's reason.
Result<HttpResponse> http_post_form(const std::string& url,
                                    const std::map<std::string, std::string>& fields,
                                    std::chrono::milliseconds timeout);
Result<HttpResponse> http_get(const std::string& url,
                              const std::map<std::string, std::string>& headers,
                              std::chrono::milliseconds timeout, const HttpTls* tls = nullptr);

}  // namespace mcx::net
