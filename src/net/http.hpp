#pragma once
// HTTP and HTTPS server and client (cpp-httplib with OpenSSL, as Debian builds it;
// docs/architecture.md says why not libre's HTTP). The server reads requests on a thread of its
// own and runs handlers on worker threads: handlers must not touch loop-bound state directly;
// use EventLoop::post or call_on_loop.

#include <array>
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

struct ssl_st;  // OpenSSL's SSL

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

// What one client may hold of an HttpServer (docs/security.md, "HTTP that cannot be starved").
// One thread accepts, completes TLS handshakes and reads each request in full without waiting
// for any client; a worker runs the handler only then. So a slow or silent client holds a
// connection of its address and a bounded buffer until its deadline, and never a worker.
struct HttpLimits {
    // The request head: 431 beyond (RFC 6585 5), 414 for a request line (RFC 9112 3).
    std::size_t max_head_bytes = 16 * 1024;  // request line and header fields
    std::size_t max_header_fields = 100;
    std::size_t max_line_bytes = 8 * 1024;    // one line of the head
    std::size_t max_body_bytes = 256 * 1024;  // 413 beyond (RFC 9110 15.5.14)
    // 408 (RFC 9110 15.5.9) unless the whole request, head and body, arrives this soon after
    // its first byte.
    std::chrono::milliseconds request_timeout{10'000};
    // Closed when no request starts this soon after the connection or the last response
    // (RFC 9112 9.5).
    std::chrono::milliseconds idle_timeout{5'000};
    // HTTPS: closed unless the TLS handshake is done this soon after the TCP connection.
    std::chrono::milliseconds handshake_timeout{10'000};
    // Closed when the client does not take a response within this.
    std::chrono::milliseconds write_timeout{5'000};
    // After a refusal (431, 408, ...) and Connection: close, input is read and dropped for at
    // most this long, so that the response is not lost to a TCP reset.
    std::chrono::milliseconds linger_timeout{2'000};
    // Connections beyond these are closed at once (plain HTTP: after a 503).
    std::size_t max_connections_per_source = 16;  // open from one address
    std::size_t max_connections = 512;
    std::size_t max_requests_per_connection = 100;  // keep-alive (RFC 9112 9.3)
    std::size_t worker_threads = 16;                // run handlers; slow clients hold none
};

// Why the listener refused a request or closed a connection on its own, before any handler
// (HttpServer::refusals; mcxd's /metrics: mcx_http_refused_total).
enum class HttpRefusal : std::size_t {
    head_too_large,      // 431: request line and header fields beyond max_head_bytes
    line_too_long,       // 414 (request line) or 431 (a field line) beyond max_line_bytes
    too_many_fields,     // 431: beyond max_header_fields
    body_too_large,      // 413: a Content-Length beyond max_body_bytes
    malformed,           // 400, 411, 505: a head that cannot be framed (proto::HttpRequestFramer)
    request_timeout,     // 408: the request not in full within request_timeout
    idle_timeout,        // closed: no request begun within idle_timeout
    handshake_timeout,   // HTTPS, closed: no TLS handshake within handshake_timeout
    handshake_failed,    // HTTPS, closed: the handshake failed (e.g. no or a refused certificate)
    write_timeout,       // closed: the client did not take a response within write_timeout
    source_connections,  // 503 (plain HTTP) and closed: max_connections_per_source reached
    connections,         // 503 (plain HTTP) and closed: max_connections reached
};
inline constexpr std::size_t kHttpRefusalKinds = 12;
// "head_too_large", ...: the enumerator's name.
const char* to_string(HttpRefusal refusal);
// Each kind's count since the server was made, indexed by HttpRefusal.
using HttpRefusalCounts = std::array<std::uint64_t, kHttpRefusalKinds>;

// One request received in full, as the listener (http_listener.hpp) hands it to a worker: framed
// by proto::HttpRequestFramer, its Expect field lines dropped (proto::handed_on_request).
struct ReceivedRequest {
    std::string bytes;  // request line, header fields (Expect dropped: answered) and body
    std::string remote_address;
    int remote_port = 0;
    std::string local_address;
    int local_port = 0;
    ssl_st* ssl = nullptr;  // HTTPS: the connection's, handshake done; the worker's while it serves
    bool last = false;      // the connection closes after it (max_requests_per_connection)
};

// What a worker hands back for the listener to write.
struct ServedResponse {
    std::string bytes;        // status line, header fields and body
    bool keep_alive = false;  // the response allows another request (unless the `last` one)
};

class HttpServer {
  public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;

    explicit HttpServer(HttpLimits limits = {});  // plain HTTP
    // HTTPS that refuses a client without a certificate of `tls.ca_file` (handshake fails,
    // logged with the reason); an unreadable certificate, key or CA is an Error.
    static Result<std::unique_ptr<HttpServer>> https(const HttpTls& tls, HttpLimits limits = {});
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    void get(const std::string& path, Handler handler);
    void post(const std::string& path, Handler handler);
    // Binds (port 0: any) and serves on a background thread.
    Result<Endpoint> start(const std::string& host, std::uint16_t port);
    void stop();
    // Threads that run the handlers; a handler that blocks holds one.
    std::size_t worker_threads() const;
    // What the listener refused or closed on its own so far; safe from any thread.
    HttpRefusalCounts refusals() const;

    // Serves one received request without a socket, as a worker does for the listener (it
    // calls this): cpp-httplib parses it, the handler registered for its method and path runs,
    // and the response comes back as bytes (a refusal such as 404 or 400 included). Safe to
    // call from several threads as far as the handlers are; needs no start(). The fuzz target
    // tests/fuzz/http_handlers_fuzz.cpp enters here.
    ServedResponse serve(const ReceivedRequest& request);

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
