// SIP over TCP and TLS under caps and framing (net::SipStreamGuard, docs/security.md "SIP over
// TCP and TLS: caps and framing"), on a real mcxd: connections dripping huge unfinished heads a
// byte at a time leave OPTIONS fast; the connection beyond the per-address cap, a head beyond
// its cap and a message past its deadline are closed and counted in /metrics
// (mcx_sip_stream_refused_total); whole messages split over segments are still answered.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace mcx::test {
namespace {

using Clock = std::chrono::steady_clock;

std::unique_ptr<McSystem> start_system(const std::string& sip_keys = "") {
    McSystem::Options options;
    options.client_tls = false;
    options.pcap = false;
    if (!sip_keys.empty()) options.extra_toml = "[sip]\n" + sip_keys;
    return McSystem::start(options, test_output_dir());
}

// mcx_sip_stream_refused_total{reason} of GET /metrics; -1 when missing.
double refused(const McSystem& system, const std::string& reason) {
    const auto metrics = system.admin_get("/metrics");
    if (!metrics || metrics->status != 200) return -1;
    const auto sample = "\nmcx_sip_stream_refused_total{reason=\"" + reason + "\"} ";
    const auto at = metrics->body.find(sample);
    if (at == std::string::npos) return -1;
    return std::stod(metrics->body.substr(at + sample.size()));
}

// A well-formed OPTIONS over TCP from the connection's local port `port`.
std::string tcp_options(const McSystem& system, std::uint16_t port, int n) {
    return "OPTIONS sip:" + system.domain() +
           " SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:" + std::to_string(port) + ";branch=z9hG4bK-s" +
           std::to_string(n) + "\r\nFrom: <sip:probe@example.invalid>;tag=" + std::to_string(n) +
           "\r\nTo: <sip:" + system.domain() + ">\r\nCall-ID: stream-" + std::to_string(n) +
           "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
}

std::uint16_t local_port(int fd) {
    sockaddr_in local{};
    socklen_t length = sizeof(local);
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
    return ntohs(local.sin_port);
}

// A head begun and never finished: a start line and `bytes` of short header lines.
std::string unfinished_head(std::size_t bytes) {
    std::string head = "OPTIONS sip:127.0.0.1 SIP/2.0\r\n";
    while (head.size() < bytes) head += "X-Drip: 0123456789abcdef\r\n";
    return head;
}

TEST(SipStream, DrippingConnectionsLeaveOptionsFast) {
    // The head cap raised to libre's own 64 KiB, so that what is measured is the framing: with
    // the default 16 KiB cap these heads would be closed at once.
    auto system = start_system("stream_max_head_bytes = 65536\n");
    // Eight connections, from 127.0.0.2 to .9, each sends 40 KB of header lines at once and
    // then one more byte every 200 us (a segment each: TCP_NODELAY); when mcxd closes one, it
    // connects again. Before the guard, libre decoded the whole buffered head again on each
    // segment: OPTIONS p50 3.9 ms, p99 8.4 ms on a 2-core machine (0.24 and 0.44 ms with it).
    std::atomic<bool> stop{false};
    std::atomic<long> dripped{0};
    std::atomic<int> reconnects{0};
    std::vector<std::thread> drippers;
    for (int i = 0; i < 8; ++i) {
        drippers.emplace_back([&, i] {
            const std::string source = "127.0.0." + std::to_string(2 + i);
            while (!stop) {
                TcpConnection c(source, system->sip());
                if (!c.connected()) return;
                const int one = 1;
                setsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                const std::string head = unfinished_head(40 * 1000);
                if (!c.send(head)) {
                    ++reconnects;
                    continue;
                }
                for (std::size_t at = 0; !stop; ++at) {
                    const char byte = "X-Drip: 0123456789abcdef\r\n"[at % 26];
                    if (!c.send(std::string_view(&byte, 1))) break;
                    ++dripped;
                    std::this_thread::sleep_for(200us);
                }
                ++reconnects;
            }
        });
    }
    std::this_thread::sleep_for(500ms);

    RawSipSocket probe;
    std::vector<double> rtt_ms;
    for (int n = 0; n < 300; ++n) {
        const auto request =
            "OPTIONS sip:" + system->domain() +
            " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" + std::to_string(probe.port()) +
            ";rport;branch=z9hG4bK-p" + std::to_string(n) +
            "\r\nFrom: <sip:probe@example.invalid>;tag=" + std::to_string(n) +
            "\r\nTo: <sip:" + system->domain() + ">\r\nCall-ID: probe-" + std::to_string(n) +
            "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        const auto sent = Clock::now();
        probe.send(system->sip(), request);
        const auto answer = probe.receive_final(1s);
        ASSERT_EQ(status_of(answer), 200) << "OPTIONS " << n << ": " << answer;
        rtt_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        std::this_thread::sleep_for(10ms);
    }
    stop = true;
    for (auto& t : drippers) t.join();

    std::sort(rtt_ms.begin(), rtt_ms.end());
    const double p50 = rtt_ms[rtt_ms.size() / 2];
    const double p99 = rtt_ms[rtt_ms.size() * 99 / 100];
    std::cout << "OPTIONS while 8 connections drip: p50 " << p50 << " ms, p99 " << p99
              << " ms; bytes dripped " << dripped << ", connections closed " << reconnects << "\n";
    EXPECT_GT(dripped, 8 * 1000) << "the drippers dripped";
    EXPECT_LT(p99, 5.0);
}

TEST(SipStream, AWholeMessageSplitOverSegmentsIsAnswered) {
    auto system = start_system();
    TcpConnection c("127.0.0.1", system->sip());
    ASSERT_TRUE(c.connected());
    const auto request = tcp_options(*system, local_port(c.fd()), 1);
    const auto half = request.size() / 2;
    ASSERT_TRUE(c.send(std::string_view(request).substr(0, half)));
    EXPECT_EQ(c.receive_until_closed(300ms), "") << "answered before the message was whole";
    ASSERT_TRUE(c.send(std::string_view(request).substr(half)));
    // The CRLF keep-alive ping after it is answered with a pong (RFC 5626 3.5.1).
    ASSERT_TRUE(c.send("\r\n\r\n"));
    const auto answer = c.receive_until_closed(1s);
    EXPECT_EQ(status_of(answer), 200) << answer;
    EXPECT_TRUE(answer.ends_with("\r\n\r\n\r\n")) << "no pong after the response: " << answer;
}

TEST(SipStream, ConnectionsBeyondTheCapFromOneAddressAreClosed) {
    auto system = start_system("stream_max_connections_per_source = 3\n");
    const std::string crowded = "127.0.0.60";
    std::vector<std::unique_ptr<TcpConnection>> open;
    for (int i = 0; i < 3; ++i) {
        open.push_back(std::make_unique<TcpConnection>(crowded, system->sip()));
        ASSERT_TRUE(open.back()->connected());
        ASSERT_TRUE(open.back()->send("OPTIONS sip:127.0.0.1 SIP/2.0\r\n"));
    }
    std::this_thread::sleep_for(200ms);
    TcpConnection one_more(crowded, system->sip());
    ASSERT_TRUE(one_more.connected()) << "the kernel accepts; mcxd closes";
    bool closed = false;
    EXPECT_EQ(one_more.receive_until_closed(2s, &closed), "");
    EXPECT_TRUE(closed) << "the connection beyond the cap stays open";
    EXPECT_EQ(refused(*system, "connections_per_source"), 1);

    // Another address is not affected, and the crowded one's connections still work.
    TcpConnection other("127.0.0.61", system->sip());
    ASSERT_TRUE(other.connected());
    ASSERT_TRUE(other.send(tcp_options(*system, local_port(other.fd()), 2)));
    EXPECT_EQ(status_of(other.receive_until_closed(1s)), 200);
    closed = false;
    (void)open[0]->receive_until_closed(10ms, &closed);
    EXPECT_FALSE(closed) << "a connection within the cap was closed";

    open.clear();
    EXPECT_TRUE(eventually(
        [&] {
            TcpConnection again(crowded, system->sip());
            return again.connected() &&
                   again.send(tcp_options(*system, local_port(again.fd()), 3)) &&
                   status_of(again.receive_until_closed(500ms)) == 200;
        },
        3s, 100ms))
        << "the address is served again once its connections are closed";
}

TEST(SipStream, AHeadBeyondItsCapAndAMessagePastItsDeadlineAreClosed) {
    auto system = start_system("stream_max_head_bytes = 1024\nstream_message_timeout_ms = 500\n");
    TcpConnection long_head("127.0.0.1", system->sip());
    ASSERT_TRUE(long_head.connected());
    (void)long_head.send(unfinished_head(2000));
    bool closed = false;
    EXPECT_EQ(long_head.receive_until_closed(2s, &closed), "");
    EXPECT_TRUE(closed) << "a 2000-byte head under a 1024-byte cap";
    EXPECT_EQ(refused(*system, "head_bytes"), 1);

    TcpConnection slow("127.0.0.1", system->sip());
    ASSERT_TRUE(slow.connected());
    const auto start = Clock::now();
    ASSERT_TRUE(slow.send("OPTIONS sip:127.0.0.1 SIP/2.0\r\n"));
    closed = false;
    EXPECT_EQ(slow.receive_until_closed(3s, &closed), "");
    const auto after = Clock::now() - start;
    EXPECT_TRUE(closed) << "an unfinished message kept past stream_message_timeout_ms";
    EXPECT_GE(after, 450ms);
    EXPECT_LT(after, 2s);
    EXPECT_EQ(refused(*system, "message_timeout"), 1);

    // A message finished in time on a connection that waited first is answered.
    TcpConnection patient("127.0.0.1", system->sip());
    ASSERT_TRUE(patient.connected());
    std::this_thread::sleep_for(700ms);  // idle between messages is no unfinished message
    ASSERT_TRUE(patient.send(tcp_options(*system, local_port(patient.fd()), 4)));
    EXPECT_EQ(status_of(patient.receive_until_closed(1s)), 200);
}

}  // namespace
}  // namespace mcx::test
