// HTTP that cannot be starved (docs/security.md), on a real mcxd: clients that send a byte every
// second or two, a header line that never ends, too many header fields, too many connections
// from one address and TLS handshakes that never finish do not keep others from logging in,
// and each is refused or closed within its limit (net::HttpLimits, the defaults, or the [http]
// keys that set them), and counted in /metrics (mcx_http_refused_total) by its reason.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "net/http.hpp"
#include "systems.hpp"

namespace mcx::test {
namespace {

using Clock = std::chrono::steady_clock;

const net::HttpLimits kLimits;  // what mcxd uses

std::unique_ptr<McSystem> start_system() {
    McSystem::Options options;
    options.users = {{"alice", "pw-a", {"*"}}};
    return McSystem::start(options, test_output_dir());
}

// `field` ("VmRSS", "VmHWM") of /proc/<pid>/status in KiB; 0 when unreadable.
long memory_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with(field + ":")) return std::stol(line.substr(field.size() + 1));
    }
    return 0;
}

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// Connections from 127.0.0.2, .3, … (an address each, so that the per-address limit is not
// what they meet) that send `request` a byte at a time, one every 1 to 2 s, on a thread of
// their own; each notes what the server answered and when it closed the connection.
class SlowClients {
  public:
    struct Outcome {
        std::string answer;
        std::optional<std::chrono::milliseconds> closed_after;  // since its connection
    };

    SlowClients(int count, const net::Endpoint& to, std::string request)
        : request_(std::move(request)) {
        for (int i = 0; i < count; ++i) {
            auto client = std::make_unique<Client>("127.0.0." + std::to_string(2 + i), to);
            client->interval = std::chrono::milliseconds(1000 + (i * 53) % 1000);
            clients_.push_back(std::move(client));
        }
        thread_ = std::thread([this] { drip(); });
    }
    ~SlowClients() {
        running_ = false;
        thread_.join();
    }
    SlowClients(const SlowClients&) = delete;
    SlowClients& operator=(const SlowClients&) = delete;

    bool all_connected() const {
        for (const auto& c : clients_) {
            if (!c->connection.connected()) return false;
        }
        return true;
    }
    std::vector<Outcome> outcomes() const {
        std::lock_guard lock(mutex_);
        std::vector<Outcome> out;
        for (const auto& c : clients_) out.push_back(c->outcome);
        return out;
    }
    bool all_closed() const {
        for (const auto& o : outcomes()) {
            if (!o.closed_after) return false;
        }
        return true;
    }

  private:
    struct Client {
        Client(const std::string& source, const net::Endpoint& to)
            : connection(source, to), connected_at(Clock::now()), next_byte_at(connected_at) {}
        TcpConnection connection;
        Clock::time_point connected_at;
        Clock::time_point next_byte_at;
        std::chrono::milliseconds interval{1000};
        std::size_t sent = 0;
        Outcome outcome;
    };

    void drip() {
        while (running_) {
            const auto now = Clock::now();
            for (auto& c : clients_) {
                std::lock_guard lock(mutex_);
                if (!c->connection.connected() || c->outcome.closed_after) continue;
                if (now >= c->next_byte_at && c->sent < request_.size()) {
                    if (send(c->connection.fd(), request_.data() + c->sent, 1,
                             MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
                        ++c->sent;
                    }
                    c->next_byte_at = now + c->interval;
                }
                char buffer[4096];
                const auto n = recv(c->connection.fd(), buffer, sizeof buffer, MSG_DONTWAIT);
                if (n > 0) {
                    c->outcome.answer.append(buffer, static_cast<std::size_t>(n));
                } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                    c->outcome.closed_after = since(c->connected_at);
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    const std::string request_;
    std::vector<std::unique_ptr<Client>> clients_;
    mutable std::mutex mutex_;
    std::atomic<bool> running_{true};
    std::thread thread_;
};

// mcx_http_refused_total{listener, reason} of GET /metrics (administrator's token); -1 when
// mcxd does not answer it or the sample is missing.
double counted(const McSystem& system, const std::string& reason,
               const std::string& listener = "http") {
    const auto metrics = system.admin_get("/metrics");
    if (!metrics || metrics->status != 200) return -1;
    const auto sample =
        "\nmcx_http_refused_total{listener=\"" + listener + "\",reason=\"" + reason + "\"} ";
    const auto at = metrics->body.find(sample);
    if (at == std::string::npos) return -1;
    return std::stod(metrics->body.substr(at + sample.size()));
}

// A login as alice and GET /status with the administrator's token, each answered within 2 s.
void expect_login_and_status_answer(const McSystem& system, const std::string& when) {
    auto start = Clock::now();
    EXPECT_FALSE(system.token("alice", "pw-a").empty()) << "login " << when;
    EXPECT_LT(since(start), std::chrono::milliseconds(2000)) << "login " << when;
    start = Clock::now();
    const auto status = system.admin_get("/status");
    EXPECT_TRUE(status && status->status == 200) << "GET /status " << when;
    EXPECT_LT(since(start), std::chrono::milliseconds(2000)) << "GET /status " << when;
}

// `request` on a connection of its own from 127.0.0.1; the status of the answer, 0 for none.
int status_for(const McSystem& system, const std::string& request) {
    TcpConnection connection("127.0.0.1", system.http());
    if (!connection.send(request)) return 0;
    return http_status_of(connection.receive_until_closed(5s));
}

// GET /idms/public-key (open to anyone) with `fields` header fields, Host and Connection among
// them, of `value_bytes` each.
std::string request_with_fields(std::size_t fields, std::size_t value_bytes = 1) {
    std::string request =
        "GET /idms/public-key HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (std::size_t i = 2; i < fields; ++i) {
        request += "X-Field-" + std::to_string(i) + ": " + std::string(value_bytes, 'v') + "\r\n";
    }
    return request + "\r\n";
}

// With cpp-httplib's own server, each of these held one of its 8 threads for as long as it sent
// a byte every 5 s, and logins waited behind them.
TEST(HttpLimits, SlowClientsHoldNeitherTheLoginNorStatus) {
    auto system = start_system();
    SlowClients slow(20, system->http(),
                     "GET /idms/public-key HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: yes\r\n\r\n");
    ASSERT_TRUE(slow.all_connected());
    std::this_thread::sleep_for(3s);  // every one of them has begun its request
    ASSERT_FALSE(slow.all_closed());
    expect_login_and_status_answer(*system, "while 20 clients drip");
    ASSERT_FALSE(::testing::Test::HasFailure()) << "see " << system->log_path();

    // Each is answered 408 and closed once its request has taken request_timeout.
    ASSERT_TRUE(eventually([&] { return slow.all_closed(); }, kLimits.request_timeout + 5s, 100ms));
    for (const auto& outcome : slow.outcomes()) {
        EXPECT_EQ(http_status_of(outcome.answer), 408) << outcome.answer;
        EXPECT_GE(*outcome.closed_after, kLimits.request_timeout);
        EXPECT_LT(*outcome.closed_after, kLimits.request_timeout + 3s);
    }
    EXPECT_EQ(counted(*system, "request_timeout"), 20);
    EXPECT_EQ(counted(*system, "idle_timeout"), 0);
}

// Without a limit before the LF, cpp-httplib 0.11 kept the whole line in memory (400 MiB of
// RSS for a 400 MiB line).
TEST(HttpLimits, AHundredMebibyteHeaderLineIsRefusedWithoutBeingKept) {
    auto system = start_system();
    const auto pid = system->pid();
    const auto rss_before = memory_kib(pid, "VmRSS");
    const auto peak_before = memory_kib(pid, "VmHWM");
    ASSERT_GT(rss_before, 0);

    TcpConnection flood("127.0.0.1", system->http());
    ASSERT_TRUE(flood.connected());
    const std::string head = "GET /idms/public-key HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: ";
    ASSERT_TRUE(flood.send(head));
    const std::string chunk(64 * 1024, 'a');
    const std::size_t total = 100u * 1024 * 1024;
    std::size_t sent = 0;
    std::string answer;
    bool closed = false;
    long rss_most = rss_before;
    const auto start = Clock::now();
    // As fast as mcxd reads; stops at its answer or when it closes the connection.
    while (!closed && answer.find("\r\n\r\n") == std::string::npos && since(start) < 30s) {
        pollfd pfd{flood.fd(), static_cast<short>(POLLIN | (sent < total ? POLLOUT : 0)), 0};
        if (poll(&pfd, 1, 100) < 0) break;
        rss_most = std::max(rss_most, memory_kib(pid, "VmRSS"));
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            char buffer[4096];
            const auto n = recv(flood.fd(), buffer, sizeof buffer, MSG_DONTWAIT);
            if (n > 0) answer.append(buffer, static_cast<std::size_t>(n));
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
            continue;
        }
        if (pfd.revents & POLLOUT) {
            const auto n = send(flood.fd(), chunk.data(), std::min(chunk.size(), total - sent),
                                MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) sent += static_cast<std::size_t>(n);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) closed = true;
        }
    }
    rss_most = std::max(rss_most, memory_kib(pid, "VmRSS"));
    const auto peak_after = memory_kib(pid, "VmHWM");
    std::cout << "header flood: " << sent / 1024 << " KiB sent in " << since(start).count()
              << " ms; mcxd RSS " << rss_before << " KiB before, at most " << rss_most
              << " KiB during; peak " << peak_before << " -> " << peak_after << " KiB\n";
    EXPECT_TRUE(http_status_of(answer) == 431 || (answer.empty() && closed)) << answer;
    EXPECT_LT(rss_most - rss_before, 50 * 1024) << "KiB of RSS for the flood";
    EXPECT_LT(peak_after - peak_before, 50 * 1024) << "KiB of peak RSS for the flood";
    // Which limit it meets first depends on how much of the line one read takes in.
    EXPECT_EQ(counted(*system, "head_too_large") + counted(*system, "line_too_long"), 1);
    flood.close();
    expect_login_and_status_answer(*system, "after the flood");
}

// RFC 6585 5 for the number and the total size of the header fields; RFC 9112 3 for the
// request line. cpp-httplib 0.11 counts no fields and limits only each line to 8 KiB.
TEST(HttpLimits, HeaderFieldsBeyondTheLimitsAre431) {
    auto system = start_system();
    EXPECT_EQ(status_for(*system, request_with_fields(kLimits.max_header_fields)), 200);
    EXPECT_EQ(status_for(*system, request_with_fields(kLimits.max_header_fields + 1)), 431);
    // 40 fields of 500 bytes: within the count and each line short, 20 000 bytes in all.
    EXPECT_EQ(status_for(*system, request_with_fields(40, 500)), 431);
    EXPECT_EQ(status_for(*system, request_with_fields(20, 500)), 200);
    EXPECT_EQ(status_for(*system, "GET /" + std::string(kLimits.max_line_bytes, 'a') +
                                      " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
              414);
    EXPECT_EQ(counted(*system, "too_many_fields"), 1);
    EXPECT_EQ(counted(*system, "head_too_large"), 1);
    EXPECT_EQ(counted(*system, "line_too_long"), 1);
    EXPECT_EQ(counted(*system, "malformed"), 0);
    expect_login_and_status_answer(*system, "after the refusals");
}

// max_connections_per_source: the 17th connection from one address is answered 503 and closed
// at once; other addresses are not affected, and the address logs in again once its
// connections are closed. cpp-httplib 0.11 queued any number of them.
TEST(HttpLimits, ConnectionsBeyondTheLimitFromOneAddressAreClosed) {
    auto system = start_system();
    const std::string crowded = "127.0.0.50";
    std::vector<std::unique_ptr<TcpConnection>> open;
    for (std::size_t i = 0; i < kLimits.max_connections_per_source; ++i) {
        open.push_back(std::make_unique<TcpConnection>(crowded, system->http()));
        ASSERT_TRUE(open.back()->connected());
        ASSERT_TRUE(open.back()->send("GET /idms/public-key HTTP/1.1\r\n"));  // a head begun
    }
    std::this_thread::sleep_for(200ms);  // all of them accepted

    TcpConnection one_more(crowded, system->http());
    ASSERT_TRUE(one_more.connected()) << "the kernel accepts; mcxd closes";
    bool closed = false;
    const auto answer = one_more.receive_until_closed(2s, &closed);
    EXPECT_TRUE(closed) << "the connection beyond the limit stays open";
    EXPECT_TRUE(answer.empty() || http_status_of(answer) == 503) << answer;
    EXPECT_NE(login_from(crowded, *system, system->uri("alice"), "pw-a"), 200);
    EXPECT_EQ(counted(*system, "source_connections"), 2) << "one_more and the login";
    EXPECT_EQ(counted(*system, "connections"), 0);
    expect_login_and_status_answer(*system, "from 127.0.0.1 meanwhile");
    for (auto& connection : open) {
        closed = false;
        (void)connection->receive_until_closed(10ms, &closed);
        EXPECT_FALSE(closed) << "a connection within the limit";
    }

    open.clear();
    EXPECT_TRUE(eventually(
        [&] { return login_from(crowded, *system, system->uri("alice"), "pw-a") == 200; }, 3s,
        100ms))
        << "the address logs in once its connections are closed";
}

// idle_timeout, for a connection that sends nothing and for one kept alive after a response.
TEST(HttpLimits, IdleConnectionsAreClosed) {
    auto system = start_system();
    TcpConnection silent("127.0.0.1", system->http());
    TcpConnection kept("127.0.0.1", system->http());
    ASSERT_TRUE(silent.connected() && kept.connected());
    const auto start = Clock::now();
    ASSERT_TRUE(kept.send("GET /idms/public-key HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));

    bool closed = false;
    const auto answer = kept.receive_until_closed(kLimits.idle_timeout + 3s, &closed);
    EXPECT_EQ(http_status_of(answer), 200);
    EXPECT_NE(answer.find("Keep-Alive: timeout=5"), std::string::npos) << answer;
    EXPECT_TRUE(closed);
    EXPECT_GE(since(start), kLimits.idle_timeout);
    EXPECT_LT(since(start), kLimits.idle_timeout + 2s);
    closed = false;
    EXPECT_EQ(silent.receive_until_closed(2s, &closed), "");
    EXPECT_TRUE(closed) << "the silent connection is closed too";
    EXPECT_EQ(counted(*system, "idle_timeout"), 2);
    EXPECT_EQ(counted(*system, "request_timeout"), 0);
}

// The [http] keys reach the listener: smaller limits than the defaults hold, and are counted.
TEST(HttpLimits, TheHttpKeysSetTheLimits) {
    McSystem::Options options;
    options.users = {{"alice", "pw-a", {"*"}}};
    options.http_toml =
        "max_header_fields = 10\nidle_timeout_ms = 500\nrequest_timeout_ms = 800\n"
        "max_connections_per_source = 3\n";
    auto system = McSystem::start(options, test_output_dir());
    EXPECT_EQ(status_for(*system, request_with_fields(10)), 200);
    EXPECT_EQ(status_for(*system, request_with_fields(11)), 431);

    TcpConnection idle("127.0.0.2", system->http());
    TcpConnection slow("127.0.0.2", system->http());
    TcpConnection third("127.0.0.2", system->http());
    ASSERT_TRUE(idle.connected() && slow.connected() && third.connected());
    ASSERT_TRUE(slow.send("GET /idms/public-key HTTP/1.1\r\n"));
    ASSERT_TRUE(third.send("GET /idms/public-key HTTP/1.1\r\n"));
    std::this_thread::sleep_for(100ms);  // all three accepted
    TcpConnection fourth("127.0.0.2", system->http());
    bool closed = false;
    const auto answer = fourth.receive_until_closed(1s, &closed);
    EXPECT_TRUE(closed);
    EXPECT_TRUE(answer.empty() || http_status_of(answer) == 503) << answer;

    const auto start = Clock::now();
    closed = false;
    EXPECT_EQ(idle.receive_until_closed(3s, &closed), "");
    EXPECT_TRUE(closed) << "idle_timeout_ms = 500";
    EXPECT_LT(since(start), 1500ms);
    closed = false;
    EXPECT_EQ(http_status_of(slow.receive_until_closed(3s, &closed)), 408);
    EXPECT_TRUE(closed) << "request_timeout_ms = 800";
    EXPECT_LT(since(start), 2500ms);

    EXPECT_EQ(counted(*system, "too_many_fields"), 1);
    EXPECT_EQ(counted(*system, "source_connections"), 1);
    EXPECT_EQ(counted(*system, "idle_timeout"), 1);
    EXPECT_TRUE(eventually([&] { return counted(*system, "request_timeout") == 2; }, 2s, 100ms))
        << "the slow connection and the third";
}

// HTTPS (the partner listener): TLS handshakes that never finish — a ClientHello sent a byte
// every 1 to 2 s, or nothing at all — are closed after handshake_timeout, and hold no worker
// meanwhile: a partner's key fetch over mutual TLS is answered. The header limits hold there
// too.
TEST(HttpLimits, SlowTlsHandshakesDoNotHoldTheHttpsListener) {
    auto systems = SystemsBuilder({"A"}).start();
    auto& a = systems->system("A");
    ASSERT_TRUE(a.https());
    // A TLS record header announcing a 512-byte handshake message, then its bytes.
    SlowClients slow(20, *a.https(), std::string("\x16\x03\x01\x02\x00", 5) + std::string(64, 1));
    TcpConnection silent("127.0.0.30", *a.https());
    ASSERT_TRUE(slow.all_connected() && silent.connected());
    std::this_thread::sleep_for(3s);

    const auto key_url = "https://" + a.https()->to_string() + "/idms/public-key";
    const net::HttpTls as_partner{systems->certs_dir() + "/A.pem",
                                  systems->certs_dir() + "/ca.pem"};
    auto start = Clock::now();
    auto key = net::http_get(key_url, {}, 2s, &as_partner);
    ASSERT_TRUE(key) << key.error().reason;
    EXPECT_EQ(key->status, 200);
    EXPECT_LT(since(start), std::chrono::milliseconds(2000));
    std::map<std::string, std::string> fields;
    for (std::size_t i = 0; i <= kLimits.max_header_fields; ++i) {
        fields["X-Field-" + std::to_string(i)] = "v";
    }
    auto refused = net::http_get(key_url, fields, 2s, &as_partner);
    ASSERT_TRUE(refused) << refused.error().reason;
    EXPECT_EQ(refused->status, 431);

    ASSERT_TRUE(
        eventually([&] { return slow.all_closed(); }, kLimits.handshake_timeout + 5s, 100ms));
    for (const auto& outcome : slow.outcomes()) {
        EXPECT_GE(*outcome.closed_after, kLimits.handshake_timeout - 100ms);
        EXPECT_LT(*outcome.closed_after, kLimits.handshake_timeout + 3s);
    }
    bool closed = false;
    (void)silent.receive_until_closed(3s, &closed);
    EXPECT_TRUE(closed) << "the connection that sent nothing";
    EXPECT_EQ(counted(a, "handshake_timeout", "https"), 21) << "the slow ones and the silent one";
    EXPECT_EQ(counted(a, "too_many_fields", "https"), 1);
    EXPECT_EQ(counted(a, "handshake_timeout"), 0) << "none on the plain HTTP listener";
}

}  // namespace
}  // namespace mcx::test
