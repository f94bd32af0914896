#include "net/http_listener.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "proto/http_request_framer.hpp"

namespace mcx::net {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A connection's life. The listener's thread owns it in every state but `serving`.
enum class State {
    tls_handshake,     // HTTPS: until the handshake is done (handshake_timeout)
    awaiting_request,  // no byte of the next request yet (idle_timeout)
    reading_request,   // the request under way (request_timeout from its first byte)
    serving,           // a worker runs the handler; not polled
    writing,           // a response, a 100 Continue or a refusal (write_timeout)
    lingering,         // done or refused: input dropped until the client closes (linger_timeout)
    closed,            // to be released at the end of the listener's turn
};

const char* to_string(State state) {
    switch (state) {
        case State::tls_handshake:
            return "tls_handshake";
        case State::awaiting_request:
            return "awaiting_request";
        case State::reading_request:
            return "reading_request";
        case State::serving:
            return "serving";
        case State::writing:
            return "writing";
        case State::lingering:
            return "lingering";
        case State::closed:
            return "closed";
    }
    return "?";
}

enum class AfterWrite { read_body, await_next_request, close };

struct Connection {
    Connection(int socket, const proto::HttpHeadLimits& head) : fd(socket), framer(head) {}

    int fd;
    SSL* ssl = nullptr;
    State state = State::awaiting_request;
    short events = POLLIN;  // what the step under way waits for
    Clock::time_point deadline;
    Clock::time_point request_deadline;  // of the request under way
    std::string received;                // the request under way and what follows it
    proto::HttpRequestFramer framer;
    bool continue_sent = false;
    std::size_t requests = 0;
    std::string outgoing;
    std::size_t written = 0;
    AfterWrite after_write = AfterWrite::close;
    std::string remote_address;
    int remote_port = 0;
    std::string local_address;
    int local_port = 0;
};

enum class Io { done, would_block, closed };  // closed: end of stream or an error

std::pair<std::string, int> numeric_address(const sockaddr_storage& address, socklen_t length) {
    char host[NI_MAXHOST] = "";
    char service[NI_MAXSERV] = "";
    if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, host, sizeof host, service,
                    sizeof service, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        return {"?", 0};
    }
    return {host, std::atoi(service)};
}

const char* reason_phrase(int status) {
    switch (status) {
        case 400:
            return "Bad Request";
        case 408:
            return "Request Timeout";
        case 411:
            return "Length Required";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 431:
            return "Request Header Fields Too Large";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Error";
    }
}

// A response of the listener's own, after which it closes the connection.
std::string refusal_response(int status, const std::string& reason,
                             const std::string& extra_fields = {}) {
    const auto body = reason + "\n";
    return "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
           "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n" + extra_fields + "\r\n" + body;
}

std::string openssl_error() {
    const auto code = ERR_get_error();
    if (code == 0) return std::strerror(errno);
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    ERR_clear_error();
    return text;
}

// One warning per kind every 10 s at most, with the count of those left out.
class ThrottledWarning {
  public:
    template <typename... Args>
    void warn(Clock::time_point now, fmt::format_string<Args...> format, Args&&... args) {
        if (now < next_) {
            ++left_out_;
            return;
        }
        auto text = fmt::format(format, std::forward<Args>(args)...);
        if (left_out_ > 0) text += fmt::format(" (and {} more in the last 10 s)", left_out_);
        spdlog::warn("{}", text);
        next_ = now + std::chrono::seconds(10);
        left_out_ = 0;
    }

  private:
    Clock::time_point next_{};
    std::size_t left_out_ = 0;
};

}  // namespace

const char* to_string(HttpRefusal refusal) {
    switch (refusal) {
        case HttpRefusal::head_too_large:
            return "head_too_large";
        case HttpRefusal::line_too_long:
            return "line_too_long";
        case HttpRefusal::too_many_fields:
            return "too_many_fields";
        case HttpRefusal::body_too_large:
            return "body_too_large";
        case HttpRefusal::malformed:
            return "malformed";
        case HttpRefusal::request_timeout:
            return "request_timeout";
        case HttpRefusal::idle_timeout:
            return "idle_timeout";
        case HttpRefusal::handshake_timeout:
            return "handshake_timeout";
        case HttpRefusal::handshake_failed:
            return "handshake_failed";
        case HttpRefusal::write_timeout:
            return "write_timeout";
        case HttpRefusal::source_connections:
            return "source_connections";
        case HttpRefusal::connections:
            return "connections";
    }
    return "?";
}

namespace {

HttpRefusal refusal_of(proto::HttpRequestRefusal::Limit limit) {
    using Limit = proto::HttpRequestRefusal::Limit;
    switch (limit) {
        case Limit::head_bytes:
            return HttpRefusal::head_too_large;
        case Limit::line_bytes:
            return HttpRefusal::line_too_long;
        case Limit::fields:
            return HttpRefusal::too_many_fields;
        case Limit::body_bytes:
            return HttpRefusal::body_too_large;
        case Limit::none:
            break;
    }
    return HttpRefusal::malformed;
}

}  // namespace

struct HttpListener::Impl {
    Impl(const HttpLimits& l, SSL_CTX* context, Serve s)
        : limits(l), head(net::head_limits(l)), tls(context), serve(std::move(s)) {}

    struct Job {
        Connection* connection = nullptr;
        ReceivedRequest request;
    };

    // The listener's thread.
    void run();
    void accept_all(Clock::time_point now);
    void admit(int fd, const sockaddr_storage& peer, socklen_t length, Clock::time_point now);
    void step(Connection& c);
    void handshake(Connection& c);
    void read_request(Connection& c);
    void begin_request(Connection& c);
    bool advance(Connection& c);  // false: reading stops (request complete, refused or closed)
    void dispatch(Connection& c);
    void refuse(Connection& c, int status, const std::string& reason);
    void begin_write(Connection& c, std::string bytes, AfterWrite after);
    void write_out(Connection& c);
    void await_next_request(Connection& c);
    void linger(Connection& c);
    void drain(Connection& c);
    void close(Connection& c);
    void expire(Clock::time_point now);
    void take_served();
    void release_closed();
    void release(Connection& c);
    Io read_some(Connection& c, char* buffer, std::size_t size, std::size_t& got);
    Io write_some(Connection& c, const char* data, std::size_t size, std::size_t& put);
    void transition(Connection& c, State to);
    void count(HttpRefusal refusal) {
        refusals[static_cast<std::size_t>(refusal)].fetch_add(1, std::memory_order_relaxed);
    }

    // Worker threads.
    void work();
    void wake();

    HttpLimits limits;
    proto::HttpHeadLimits head;
    SSL_CTX* tls;
    Serve serve;
    int listen_fd = -1;
    int wake_fd = -1;
    std::thread listener;
    std::vector<std::thread> workers;
    std::atomic<bool> stopping{false};
    // Written by the listener's thread, read by any (HttpListener::refusals).
    std::array<std::atomic<std::uint64_t>, kHttpRefusalKinds> refusals{};

    // The listener's thread only.
    std::unordered_map<int, std::unique_ptr<Connection>> connections;
    std::unordered_map<std::string, std::size_t> open_per_source;
    std::vector<int> closing;
    Clock::time_point accept_paused_until{};
    ThrottledWarning source_cap_warning;
    ThrottledWarning total_cap_warning;
    ThrottledWarning accept_warning;

    // Listener -> workers.
    std::mutex jobs_mutex;
    std::condition_variable jobs_ready;
    std::deque<Job> jobs;
    bool workers_stopping = false;
    // Workers -> listener.
    std::mutex served_mutex;
    std::vector<Connection*> served;
};

void HttpListener::Impl::transition(Connection& c, State to) {
    spdlog::trace("HTTP {}:{}: {} -> {}", c.remote_address, c.remote_port, to_string(c.state),
                  to_string(to));
    c.state = to;
}

void HttpListener::Impl::run() {
    std::vector<pollfd> fds;
    std::vector<Connection*> polled;
    while (!stopping) {
        take_served();
        release_closed();
        fds.clear();
        polled.clear();
        auto now = Clock::now();
        const bool accepting = now >= accept_paused_until;
        fds.push_back({wake_fd, POLLIN, 0});
        fds.push_back({accepting ? listen_fd : -1, POLLIN, 0});  // poll skips a negative fd
        auto next = accepting ? Clock::time_point::max() : accept_paused_until;
        for (const auto& [fd, c] : connections) {
            if (c->state == State::serving || c->state == State::closed) continue;
            fds.push_back({fd, c->events, 0});
            polled.push_back(c.get());
            next = std::min(next, c->deadline);
        }
        int timeout = -1;
        if (next != Clock::time_point::max()) {
            const auto wait = std::chrono::ceil<milliseconds>(next - now).count();
            timeout = static_cast<int>(std::clamp<long long>(wait, 0, 60'000));
        }
        if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
            spdlog::error("HTTP: poll: {}", std::strerror(errno));
            std::this_thread::sleep_for(milliseconds(10));
            continue;
        }
        if (fds[0].revents != 0) {
            std::uint64_t count = 0;
            (void)!::read(wake_fd, &count, sizeof count);
        }
        now = Clock::now();
        if (fds[1].revents != 0) accept_all(now);
        for (std::size_t i = 0; i < polled.size(); ++i) {
            if (fds[i + 2].revents != 0) step(*polled[i]);
        }
        expire(Clock::now());
    }
}

void HttpListener::Impl::accept_all(Clock::time_point now) {
    for (int i = 0; i < 64; ++i) {  // then the connections get their turn
        sockaddr_storage peer{};
        socklen_t length = sizeof peer;
        const int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &length,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            admit(fd, peer, length, now);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            // Out of descriptors: waiting connections stay in the backlog for a while.
            accept_paused_until = now + milliseconds(100);
            accept_warning.warn(now, "HTTP: cannot accept connections: {}", std::strerror(errno));
        }
        return;
    }
}

void HttpListener::Impl::admit(int fd, const sockaddr_storage& peer, socklen_t length,
                               Clock::time_point now) {
    auto [address, port] = numeric_address(peer, length);
    auto& open = open_per_source[address];
    const bool source_full = open >= limits.max_connections_per_source;
    if (source_full || connections.size() >= limits.max_connections) {
        count(source_full ? HttpRefusal::source_connections : HttpRefusal::connections);
        if (source_full) {
            source_cap_warning.warn(now, "HTTP: connection from {} refused: {} open from it",
                                    address, open);
        } else {
            total_cap_warning.warn(now, "HTTP: connection from {} refused: {} open in all", address,
                                   connections.size());
        }
        if (open == 0) open_per_source.erase(address);
        if (!tls) {
            const auto response =
                refusal_response(503, "too many connections", "Retry-After: 1\r\n");
            (void)!send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        ::close(fd);
        return;
    }
    ++open;
    auto c = std::make_unique<Connection>(fd, head);
    c->remote_address = std::move(address);
    c->remote_port = port;
    sockaddr_storage local{};
    socklen_t local_length = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) == 0) {
        std::tie(c->local_address, c->local_port) = numeric_address(local, local_length);
    }
    if (tls) {
        c->ssl = SSL_new(tls);
        if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
            spdlog::error("HTTPS: cannot set up TLS: {}", openssl_error());
            if (c->ssl) SSL_free(c->ssl);
            ::close(fd);
            if (--open == 0) open_per_source.erase(c->remote_address);
            return;
        }
        SSL_set_accept_state(c->ssl);
        // Writes resume where a partial one stopped, from a buffer that may move.
        SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        c->state = State::tls_handshake;
        c->deadline = now + limits.handshake_timeout;
    } else {
        c->deadline = now + limits.idle_timeout;
    }
    connections.emplace(fd, std::move(c));
}

void HttpListener::Impl::step(Connection& c) {
    switch (c.state) {
        case State::tls_handshake:
            handshake(c);
            return;
        case State::awaiting_request:
        case State::reading_request:
            read_request(c);
            return;
        case State::writing:
            write_out(c);
            return;
        case State::lingering:
            drain(c);
            return;
        case State::serving:
        case State::closed:
            return;
    }
}

void HttpListener::Impl::handshake(Connection& c) {
    ERR_clear_error();
    const int result = SSL_do_handshake(c.ssl);
    if (result == 1) {
        transition(c, State::awaiting_request);
        c.deadline = Clock::now() + limits.idle_timeout;
        c.events = POLLIN;
        read_request(c);
        return;
    }
    switch (SSL_get_error(c.ssl, result)) {
        case SSL_ERROR_WANT_READ:
            c.events = POLLIN;
            return;
        case SSL_ERROR_WANT_WRITE:
            c.events = POLLOUT;
            return;
        default:
            // A refused client certificate is logged by the context's verify callback.
            count(HttpRefusal::handshake_failed);
            spdlog::debug("HTTPS: TLS handshake with {} failed: {}", c.remote_address,
                          openssl_error());
            close(c);
    }
}

namespace {

// What an SSL_read or SSL_write that returned `n` means; a TLS record may need the other
// direction first (SSL_ERROR_WANT_*), so the connection then waits for that.
Io tls_io(Connection& c, int n, std::size_t& moved) {
    if (n > 0) {
        moved = static_cast<std::size_t>(n);
        return Io::done;
    }
    switch (SSL_get_error(c.ssl, n)) {
        case SSL_ERROR_WANT_READ:
            c.events = POLLIN;
            return Io::would_block;
        case SSL_ERROR_WANT_WRITE:
            c.events = POLLOUT;
            return Io::would_block;
        default:
            return Io::closed;
    }
}

}  // namespace

Io HttpListener::Impl::read_some(Connection& c, char* buffer, std::size_t size, std::size_t& got) {
    if (c.ssl) {
        ERR_clear_error();
        const int n = SSL_read(c.ssl, buffer, static_cast<int>(size));
        return tls_io(c, n, got);
    }
    const auto n = recv(c.fd, buffer, size, 0);
    if (n > 0) {
        got = static_cast<std::size_t>(n);
        return Io::done;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        c.events = POLLIN;
        return Io::would_block;
    }
    return Io::closed;
}

Io HttpListener::Impl::write_some(Connection& c, const char* data, std::size_t size,
                                  std::size_t& put) {
    if (c.ssl) {
        ERR_clear_error();
        const int n =
            SSL_write(c.ssl, data, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
        return tls_io(c, n, put);
    }
    const auto n = send(c.fd, data, size, MSG_NOSIGNAL);
    if (n >= 0) {
        put = static_cast<std::size_t>(n);
        return Io::done;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        c.events = POLLOUT;
        return Io::would_block;
    }
    return Io::closed;
}

void HttpListener::Impl::begin_request(Connection& c) {
    transition(c, State::reading_request);
    c.request_deadline = c.deadline = Clock::now() + limits.request_timeout;
    c.events = POLLIN;
}

void HttpListener::Impl::read_request(Connection& c) {
    char buffer[16 * 1024];
    for (;;) {
        std::size_t got = 0;
        const auto io = read_some(c, buffer, sizeof buffer, got);
        if (io == Io::would_block) return;
        if (io == Io::closed) {
            close(c);
            return;
        }
        if (c.state == State::awaiting_request) begin_request(c);
        c.received.append(buffer, got);
        if (!advance(c)) return;
    }
}

bool HttpListener::Impl::advance(Connection& c) {
    switch (c.framer.scan(c.received)) {
        case proto::HttpRequestFramer::Progress::need_more:
            return true;
        case proto::HttpRequestFramer::Progress::refused:
            count(refusal_of(c.framer.refusal().limit));
            refuse(c, c.framer.refusal().status, c.framer.refusal().reason);
            return false;
        case proto::HttpRequestFramer::Progress::framed:
            break;
    }
    const auto& framed = c.framer.framed();
    if (c.received.size() >= framed.size()) {
        dispatch(c);
        return false;
    }
    if (framed.expects_continue && !c.continue_sent) {
        // RFC 9110 10.1.1: the head is acceptable; the client may send the body.
        c.continue_sent = true;
        begin_write(c, "HTTP/1.1 100 Continue\r\n\r\n", AfterWrite::read_body);
        return false;
    }
    return true;
}

void HttpListener::Impl::dispatch(Connection& c) {
    const auto& framed = c.framer.framed();
    Job job{&c, {}};
    auto& request = job.request;
    request.bytes = proto::handed_on_request(c.received, framed);
    c.received.erase(0, framed.size());
    c.framer.reset();
    c.continue_sent = false;
    request.remote_address = c.remote_address;
    request.remote_port = c.remote_port;
    request.local_address = c.local_address;
    request.local_port = c.local_port;
    request.ssl = c.ssl;
    request.last = ++c.requests >= limits.max_requests_per_connection;
    transition(c, State::serving);
    {
        std::lock_guard lock(jobs_mutex);
        jobs.push_back(std::move(job));
    }
    jobs_ready.notify_one();
}

void HttpListener::Impl::refuse(Connection& c, int status, const std::string& reason) {
    spdlog::debug("HTTP {}:{}: {} {}", c.remote_address, c.remote_port, status, reason);
    c.received.clear();
    begin_write(c, refusal_response(status, reason), AfterWrite::close);
}

void HttpListener::Impl::begin_write(Connection& c, std::string bytes, AfterWrite after) {
    transition(c, State::writing);
    c.outgoing = std::move(bytes);
    c.written = 0;
    c.after_write = after;
    c.deadline = Clock::now() + limits.write_timeout;
    c.events = POLLOUT;
    write_out(c);
}

void HttpListener::Impl::write_out(Connection& c) {
    while (c.written < c.outgoing.size()) {
        std::size_t put = 0;
        const auto io =
            write_some(c, c.outgoing.data() + c.written, c.outgoing.size() - c.written, put);
        if (io == Io::would_block) return;
        if (io == Io::closed) {
            close(c);
            return;
        }
        c.written += put;
    }
    c.outgoing.clear();
    c.written = 0;
    switch (c.after_write) {
        case AfterWrite::read_body:
            transition(c, State::reading_request);
            c.deadline = c.request_deadline;
            c.events = POLLIN;
            read_request(c);
            return;
        case AfterWrite::await_next_request:
            await_next_request(c);
            return;
        case AfterWrite::close:
            linger(c);
            return;
    }
}

void HttpListener::Impl::await_next_request(Connection& c) {
    if (!c.received.empty()) {  // pipelined (RFC 9112 9.3.2)
        begin_request(c);
        if (!advance(c)) return;
    } else {
        transition(c, State::awaiting_request);
        c.deadline = Clock::now() + limits.idle_timeout;
        c.events = POLLIN;
    }
    // Also for what OpenSSL has decrypted already: poll() does not see it.
    read_request(c);
}

void HttpListener::Impl::linger(Connection& c) {
    if (c.ssl) {
        ERR_clear_error();
        (void)SSL_shutdown(c.ssl);  // close_notify (RFC 8446 6.1), if it can go at once
    }
    ::shutdown(c.fd, SHUT_WR);
    transition(c, State::lingering);
    c.deadline = Clock::now() + limits.linger_timeout;
    c.events = POLLIN;
    drain(c);
}

void HttpListener::Impl::drain(Connection& c) {
    char buffer[16 * 1024];
    for (int i = 0; i < 16; ++i) {  // 256 KiB a turn at most: the other connections' turn
        const auto n = recv(c.fd, buffer, sizeof buffer, 0);
        if (n > 0) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        close(c);
        return;
    }
}

void HttpListener::Impl::close(Connection& c) {
    if (c.state == State::closed) return;
    transition(c, State::closed);
    closing.push_back(c.fd);
}

void HttpListener::Impl::expire(Clock::time_point now) {
    std::vector<Connection*> due;
    for (const auto& [fd, c] : connections) {
        if (c->state != State::serving && c->state != State::closed && c->deadline <= now) {
            due.push_back(c.get());
        }
    }
    for (auto* c : due) {
        switch (c->state) {
            case State::tls_handshake:
                count(HttpRefusal::handshake_timeout);
                spdlog::debug("HTTPS {}:{}: no TLS handshake within {} ms", c->remote_address,
                              c->remote_port, limits.handshake_timeout.count());
                close(*c);
                break;
            case State::awaiting_request:  // RFC 9112 9.5: an idle connection may be closed
                count(HttpRefusal::idle_timeout);
                close(*c);
                break;
            case State::writing:
                count(HttpRefusal::write_timeout);
                close(*c);
                break;
            case State::lingering:  // after a refusal or the last response: nothing to count
                close(*c);
                break;
            case State::reading_request:
                count(HttpRefusal::request_timeout);
                refuse(*c, 408,
                       "request not received within " +
                           std::to_string(limits.request_timeout.count()) + " ms");
                break;
            case State::serving:
            case State::closed:
                break;
        }
    }
}

void HttpListener::Impl::take_served() {
    std::vector<Connection*> done;
    {
        std::lock_guard lock(served_mutex);
        done.swap(served);
    }
    for (auto* c : done) begin_write(*c, std::move(c->outgoing), c->after_write);
}

void HttpListener::Impl::release_closed() {
    for (const int fd : closing) {
        const auto it = connections.find(fd);
        if (it == connections.end()) continue;
        release(*it->second);
        const auto source = open_per_source.find(it->second->remote_address);
        if (source != open_per_source.end() && --source->second == 0) {
            open_per_source.erase(source);
        }
        connections.erase(it);
    }
    closing.clear();
}

void HttpListener::Impl::release(Connection& c) {
    if (c.ssl) SSL_free(c.ssl);
    c.ssl = nullptr;
    ::close(c.fd);
}

void HttpListener::Impl::work() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(jobs_mutex);
            jobs_ready.wait(lock, [this] { return workers_stopping || !jobs.empty(); });
            if (workers_stopping) return;
            job = std::move(jobs.front());
            jobs.pop_front();
        }
        ServedResponse response;
        try {
            response = serve(job.request);
        } catch (const std::exception& e) {
            spdlog::error("HTTP {}: cannot serve a request: {}", job.request.remote_address,
                          e.what());
        }
        auto& c = *job.connection;
        c.outgoing = std::move(response.bytes);
        c.after_write = response.keep_alive && !job.request.last ? AfterWrite::await_next_request
                                                                 : AfterWrite::close;
        {
            std::lock_guard lock(served_mutex);
            served.push_back(&c);
        }
        wake();
    }
}

void HttpListener::Impl::wake() {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof one);
}

proto::HttpHeadLimits head_limits(const HttpLimits& limits) {
    proto::HttpHeadLimits head;
    head.max_head_bytes = limits.max_head_bytes;
    head.max_line_bytes = limits.max_line_bytes;
    head.max_fields = limits.max_header_fields;
    head.max_body_bytes = limits.max_body_bytes;
    return head;
}

HttpListener::HttpListener(const HttpLimits& limits, SSL_CTX* tls, Serve serve)
    : impl_(std::make_unique<Impl>(limits, tls, std::move(serve))) {}

HttpListener::~HttpListener() {
    stop();
}

Result<Endpoint> HttpListener::start(const std::string& host, std::uint16_t port) {
    const auto where = host + ":" + std::to_string(port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    if (const int error = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                      std::to_string(port).c_str(), &hints, &found);
        error != 0) {
        return fail(Errc::io, "cannot listen for HTTP on " + where + ": " + gai_strerror(error));
    }
    int fd = -1;
    std::string error = "no address";
    for (auto* ai = found; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            error = std::strerror(errno);
            continue;
        }
        const int yes = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
            error = std::strerror(errno);
            ::close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(found);
    if (fd < 0) return fail(Errc::io, "cannot listen for HTTP on " + where + ": " + error);
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    const int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0 || wake_fd < 0) {
        error = std::strerror(errno);
        ::close(fd);
        if (wake_fd >= 0) ::close(wake_fd);
        return fail(Errc::io, "cannot listen for HTTP on " + where + ": " + error);
    }
    impl_->listen_fd = fd;
    impl_->wake_fd = wake_fd;
    for (std::size_t i = 0; i < std::max<std::size_t>(impl_->limits.worker_threads, 1); ++i) {
        impl_->workers.emplace_back([this] { impl_->work(); });
    }
    impl_->listener = std::thread([this] { impl_->run(); });
    return Endpoint{host, static_cast<std::uint16_t>(numeric_address(bound, length).second)};
}

HttpRefusalCounts HttpListener::refusals() const {
    HttpRefusalCounts out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = impl_->refusals[i].load(std::memory_order_relaxed);
    }
    return out;
}

void HttpListener::stop() {
    auto& impl = *impl_;
    if (!impl.listener.joinable()) return;
    impl.stopping = true;
    impl.wake();
    impl.listener.join();
    {
        std::lock_guard lock(impl.jobs_mutex);
        impl.workers_stopping = true;
    }
    impl.jobs_ready.notify_all();
    for (auto& worker : impl.workers) worker.join();
    impl.workers.clear();
    for (auto& [fd, c] : impl.connections) impl.release(*c);
    impl.connections.clear();
    impl.open_per_source.clear();
    impl.closing.clear();
    impl.jobs.clear();
    impl.served.clear();
    ::close(impl.listen_fd);
    ::close(impl.wake_fd);
    impl.listen_fd = impl.wake_fd = -1;
}

}  // namespace mcx::net
