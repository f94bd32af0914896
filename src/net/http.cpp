#include "net/http.hpp"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstring>
#include <mutex>

#include "net/http_listener.hpp"

namespace mcx::net {

namespace {

// A peer that closes a TLS connection while OpenSSL writes to it raises SIGPIPE (SSL_write
// uses write(2), not send(MSG_NOSIGNAL)); by default that kills the process. Ignored once,
// unless the process installed a handler of its own (libre does, in libre_init).
void ignore_sigpipe() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction current {};
        if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
            (void)std::signal(SIGPIPE, SIG_IGN);
        }
    });
}

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
    if (req.ssl) {
        // Verified by OpenSSL before any request is read (SSL_VERIFY_FAIL_IF_NO_PEER_CERT).
        if (X509* peer = SSL_get0_peer_certificate(req.ssl)) {
            char cn[256] = "";
            if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
                                          sizeof cn) > 0) {
                out.tls_peer = cn;
            }
        }
    }
    return out;
}

std::string openssl_errors() {
    std::string out;
    while (const auto code = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        if (!out.empty()) out += "; ";
        out += text;
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

// A refused client certificate, with its subject and OpenSSL's reason.
int log_client_verification(int ok, X509_STORE_CTX* store) {
    if (!ok) {
        char subject[256] = "?";
        if (X509* cert = X509_STORE_CTX_get_current_cert(store)) {
            X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
        }
        spdlog::warn("HTTPS: client certificate {} refused: {}", subject,
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
    }
    return ok;
}

// Server side of mutual TLS: own chain and key, client certificates of `ca_file` required.
bool setup_server_tls(SSL_CTX& ctx, const HttpTls& tls, std::string& error) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    const auto* cert = tls.certificate_file.c_str();
    if (SSL_CTX_use_certificate_chain_file(&ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(&ctx, cert, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(&ctx) != 1) {
        error = tls.certificate_file + ": " + openssl_errors();
        return false;
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.ca_file.c_str());
    if (SSL_CTX_load_verify_locations(&ctx, tls.ca_file.c_str(), nullptr) != 1 || !names) {
        if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
        error = tls.ca_file + ": " + openssl_errors();
        return false;
    }
    SSL_CTX_set_client_CA_list(&ctx, names);  // takes ownership
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       log_client_verification);
    SSL_CTX_set_verify_depth(&ctx, 4);
    return true;
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
    if (scheme_end == std::string::npos ||
        (url.substr(0, scheme_end) != "http" && url.substr(0, scheme_end) != "https")) {
        return fail(Errc::invalid_argument, "URL must start with http:// or https:// : " + url);
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

// cpp-httplib's routing, parsing and response writing, run on one request that HttpListener
// received in full (process_request is protected; the Debian build is a shared library, so its
// compiled-in limits and thread pool cannot be changed by macros here).
class Router final : public httplib::Server {
  public:
    bool serve(httplib::Stream& stream, bool last, bool& connection_closed,
               const std::function<void(httplib::Request&)>& setup) {
        return process_request(stream, last, connection_closed, setup);
    }
};

// The request from memory, the response into memory: the listener's thread does the I/O.
class ReceivedRequestStream final : public httplib::Stream {
  public:
    explicit ReceivedRequestStream(const ReceivedRequest& request) : request_(request) {}

    bool is_readable() const override { return read_ < request_.bytes.size(); }
    bool is_writable() const override { return true; }
    ssize_t read(char* ptr, size_t size) override {
        const auto n = std::min(size, request_.bytes.size() - read_);
        std::memcpy(ptr, request_.bytes.data() + read_, n);
        read_ += n;
        return static_cast<ssize_t>(n);
    }
    ssize_t write(const char* ptr, size_t size) override {
        response_.append(ptr, size);
        return static_cast<ssize_t>(size);
    }
    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        ip = request_.remote_address;
        port = request_.remote_port;
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        ip = request_.local_address;
        port = request_.local_port;
    }
    // No socket to read: cpp-httplib's check of a descriptor against FD_SETSIZE (it uses
    // select()) must not answer 500 for a high one.
    socket_t socket() const override { return INVALID_SOCKET; }

    std::string& response() { return response_; }

  private:
    const ReceivedRequest& request_;
    std::size_t read_ = 0;
    std::string response_;
};

using SslContext = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

}  // namespace

struct HttpServer::Impl {
    Impl(const HttpLimits& l, SslContext context)
        : limits(l),
          tls(std::move(context)),
          listener(limits, tls.get(), [this](const ReceivedRequest& r) { return serve(r); }) {}

    // The listener's workers and HttpServer::serve.
    ServedResponse serve(const ReceivedRequest& request) {
        ReceivedRequestStream stream(request);
        bool connection_closed = false;
        SSL* ssl = request.ssl;
        const bool written = router.serve(stream, request.last, connection_closed,
                                          [ssl](httplib::Request& req) { req.ssl = ssl; });
        return {std::move(stream.response()), written && !connection_closed};
    }

    HttpLimits limits;
    SslContext tls;
    Router router;
    HttpListener listener;
};

HttpServer::HttpServer(HttpLimits limits)
    : HttpServer(std::make_unique<Impl>(limits, SslContext(nullptr, SSL_CTX_free))) {}

Result<std::unique_ptr<HttpServer>> HttpServer::https(const HttpTls& tls, HttpLimits limits) {
    SslContext context(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    std::string error;
    if (!context || !setup_server_tls(*context, tls, error)) {
        return fail(Errc::invalid_argument, "HTTPS: " + (error.empty() ? openssl_errors() : error));
    }
    return std::unique_ptr<HttpServer>(
        new HttpServer(std::make_unique<Impl>(limits, std::move(context))));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
    auto& router = impl_->router;
    router.set_payload_max_length(impl_->limits.max_body_bytes);
    // What the Keep-Alive response field announces (the listener enforces both).
    router.set_keep_alive_max_count(impl_->limits.max_requests_per_connection);
    router.set_keep_alive_timeout(std::max<time_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(impl_->limits.idle_timeout).count()));
    router.set_exception_handler(
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
    impl_->router.Get(path, [handler](const httplib::Request& req, httplib::Response& res) {
        apply(handler(convert(req)), res);
    });
}

void HttpServer::post(const std::string& path, Handler handler) {
    impl_->router.Post(path, [handler](const httplib::Request& req, httplib::Response& res) {
        apply(handler(convert(req)), res);
    });
}

Result<Endpoint> HttpServer::start(const std::string& host, std::uint16_t port) {
    ignore_sigpipe();
    return impl_->listener.start(host, port);
}

void HttpServer::stop() {
    impl_->listener.stop();
}

std::size_t HttpServer::worker_threads() const {
    return std::max<std::size_t>(impl_->limits.worker_threads, 1);
}

HttpRefusalCounts HttpServer::refusals() const {
    return impl_->listener.refusals();
}

ServedResponse HttpServer::serve(const ReceivedRequest& request) {
    return impl_->serve(request);
}

namespace {

// A client for the URL's origin, with the timeout on connect and read: plain HTTP, or HTTPS
// presenting tls->certificate_file and checking the server against tls->ca_file.
Result<std::pair<std::unique_ptr<httplib::ClientImpl>, std::string>> client_for(
    const std::string& url, std::chrono::milliseconds timeout, const HttpTls* tls) {
    ignore_sigpipe();
    auto split = split_url(url);
    if (!split) return tl::unexpected(split.error());
    const bool https = split->base.starts_with("https://");
    const auto authority = split->base.substr(https ? 8 : 7);
    const auto colon = authority.rfind(':');
    int port = https ? 443 : 80;
    if (colon != std::string::npos) {
        port = 0;
        for (const char c : authority.substr(colon + 1)) {
            if (c < '0' || c > '9' || port > 65535) {
                port = -1;
                break;
            }
            port = port * 10 + (c - '0');
        }
        if (port <= 0 || port > 65535 || colon + 1 == authority.size()) {
            return fail(Errc::invalid_argument, "URL has a bad port: " + url);
        }
    }
    const auto host = authority.substr(0, colon);
    std::unique_ptr<httplib::ClientImpl> client;
    if (https) {
        if (!tls) {
            return fail(Errc::invalid_argument,
                        "https:// needs a client certificate and CA here: " + url);
        }
        auto ssl = std::make_unique<httplib::SSLClient>(host, port, tls->certificate_file,
                                                        tls->certificate_file);
        if (!ssl->is_valid()) {
            return fail(Errc::invalid_argument,
                        "cannot use " + tls->certificate_file + ": " + openssl_errors());
        }
        SSL_CTX_set_min_proto_version(ssl->ssl_context(), TLS1_2_VERSION);
        ssl->set_ca_cert_path(tls->ca_file);
        ssl->enable_server_certificate_verification(true);
        client = std::move(ssl);
    } else {
        client = std::make_unique<httplib::ClientImpl>(host, port);
    }
    client->set_connection_timeout(timeout);
    client->set_read_timeout(timeout);
    return std::make_pair(std::move(client), split->path);
}

// As from_result(), naming why a server certificate was refused.
Result<HttpResponse> from_client_result(const httplib::Result& res, httplib::ClientImpl& client,
                                        const std::string& url) {
    if (!res && res.error() == httplib::Error::SSLServerVerification) {
        const auto* ssl = dynamic_cast<httplib::SSLClient*>(&client);
        const long code = ssl ? ssl->get_openssl_verify_result() : X509_V_OK;
        return fail(Errc::io, "HTTPS request to " + url + " failed: server certificate refused: " +
                                  (code == X509_V_OK ? std::string("it does not name the host")
                                                     : X509_verify_cert_error_string(code)));
    }
    return from_result(res, url);
}

}  // namespace

Result<HttpResponse> http_post_form(const std::string& url,
                                    const std::map<std::string, std::string>& fields,
                                    std::chrono::milliseconds timeout) {
    auto client = client_for(url, timeout, nullptr);
    if (!client) return tl::unexpected(client.error());
    httplib::Params params(fields.begin(), fields.end());
    return from_client_result(client->first->Post(client->second, params), *client->first, url);
}

Result<HttpResponse> http_get(const std::string& url,
                              const std::map<std::string, std::string>& headers,
                              std::chrono::milliseconds timeout, const HttpTls* tls) {
    auto client = client_for(url, timeout, tls);
    if (!client) return tl::unexpected(client.error());
    httplib::Headers h(headers.begin(), headers.end());
    return from_client_result(client->first->Get(client->second, h), *client->first, url);
}

}  // namespace mcx::net
