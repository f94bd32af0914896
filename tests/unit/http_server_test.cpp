// net::HttpServer on 127.0.0.1 under small limits and short deadlines (net::HttpLimits):
// pipelined requests answered in order, Expect: 100-continue answered once, bodies refused by
// size and framing, a request too slow answered 408, idle connections closed, and the limits
// on connections per address and in all, each refusal counted by its reason.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/http.hpp"
#include "test_support.hpp"

namespace mcx::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::http_status_of;
using test::TcpConnection;

HttpLimits small_limits() {
    HttpLimits limits;
    limits.max_body_bytes = 100;
    limits.request_timeout = 300ms;
    limits.idle_timeout = 300ms;
    limits.write_timeout = 300ms;
    limits.linger_timeout = 200ms;
    limits.max_connections_per_source = 2;
    limits.max_connections = 3;
    limits.max_requests_per_connection = 3;
    limits.worker_threads = 2;
    return limits;
}

std::uint64_t refused(const HttpServer& server, HttpRefusal reason) {
    return server.refusals()[static_cast<std::size_t>(reason)];
}

std::size_t count(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

class HttpServerLimits : public ::testing::Test {
  protected:
    void SetUp() override {
        server_ = std::make_unique<HttpServer>(small_limits());
        server_->get("/echo", [](const HttpRequest& r) {
            return HttpResponse{200, "text/plain", "n=" + r.header("x-n"), {}};
        });
        server_->post("/echo", [](const HttpRequest& r) {
            return HttpResponse{200, "text/plain", "body=" + r.body, {}};
        });
        server_->get("/big", [](const HttpRequest&) {
            return HttpResponse{200, "text/plain", std::string(32 * 1024 * 1024, 'b'), {}};
        });
        auto bound = server_->start("127.0.0.1", 0);
        ASSERT_TRUE(bound) << bound.error().reason;
        endpoint_ = *bound;
    }

    std::unique_ptr<TcpConnection> connect(const std::string& source = "127.0.0.1") {
        auto connection = std::make_unique<TcpConnection>(source, endpoint_);
        EXPECT_TRUE(connection->connected());
        return connection;
    }

    std::unique_ptr<HttpServer> server_;
    Endpoint endpoint_;
};

TEST_F(HttpServerLimits, PipelinedRequestsAreAnsweredInOrderAndTheLastCloses) {
    auto c = connect();
    std::string requests;
    for (int n = 1; n <= 3; ++n) {
        requests += "GET /echo HTTP/1.1\r\nHost: x\r\nX-N: " + std::to_string(n) + "\r\n\r\n";
    }
    ASSERT_TRUE(c->send(requests));
    bool closed = false;
    const auto answers = c->receive_until_closed(2s, &closed);
    EXPECT_TRUE(closed) << "max_requests_per_connection = 3";
    EXPECT_EQ(count(answers, "HTTP/1.1 200"), 3u) << answers;
    const auto one = answers.find("n=1"), two = answers.find("n=2"), three = answers.find("n=3");
    ASSERT_NE(three, std::string::npos) << answers;
    EXPECT_LT(one, two);
    EXPECT_LT(two, three);
    EXPECT_EQ(count(answers, "Connection: close"), 1u);
    EXPECT_GT(answers.find("Connection: close"), two) << "only on the last";
}

TEST_F(HttpServerLimits, ExpectContinueIsAnsweredOnceBeforeTheBody) {
    auto c = connect();
    ASSERT_TRUE(c->send(
        "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
    EXPECT_EQ(c->receive_until_closed(100ms), "HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_TRUE(c->send("hello"));
    const auto answer = c->receive_until_closed(200ms);
    EXPECT_EQ(http_status_of(answer), 200) << answer;
    EXPECT_NE(answer.find("body=hello"), std::string::npos) << answer;
    EXPECT_EQ(count(answer, "100 Continue"), 0u) << "cpp-httplib does not answer it again";
}

TEST_F(HttpServerLimits, BodiesAreRefusedBySizeAndFraming) {
    const std::vector<std::pair<std::string, int>> cases = {
        {"POST /echo HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413},
        {"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411},
        {"POST /echo HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 400},
    };
    for (const auto& [request, status] : cases) {
        auto c = connect();
        ASSERT_TRUE(c->send(request));
        bool closed = false;
        const auto answer = c->receive_until_closed(1s, &closed);
        EXPECT_EQ(http_status_of(answer), status) << answer;
        EXPECT_NE(answer.find("Connection: close"), std::string::npos);
        EXPECT_TRUE(closed);
    }
    auto c = connect();
    ASSERT_TRUE(c->send("POST /echo HTTP/1.1\r\nConnection: close\r\nContent-Length: 100\r\n\r\n" +
                        std::string(100, 'b')));
    EXPECT_EQ(http_status_of(c->receive_until_closed(1s)), 200) << "at the limit";
    EXPECT_EQ(refused(*server_, HttpRefusal::body_too_large), 1u);
    EXPECT_EQ(refused(*server_, HttpRefusal::malformed), 2u) << "411 and 400";
}

TEST_F(HttpServerLimits, ARequestTooSlowIs408AndAnIdleConnectionIsClosed) {
    auto slow = connect();
    auto idle = connect();
    const auto start = Clock::now();
    ASSERT_TRUE(slow->send("GET /echo HTTP/1.1\r\n"));
    bool closed = false;
    const auto answer = slow->receive_until_closed(2s, &closed);
    EXPECT_EQ(http_status_of(answer), 408) << answer;
    EXPECT_TRUE(closed);
    EXPECT_GE(Clock::now() - start, 300ms);
    closed = false;
    EXPECT_EQ(idle->receive_until_closed(1s, &closed), "");
    EXPECT_TRUE(closed) << "idle_timeout";
    EXPECT_EQ(refused(*server_, HttpRefusal::request_timeout), 1u);
    EXPECT_EQ(refused(*server_, HttpRefusal::idle_timeout), 1u);
}

TEST_F(HttpServerLimits, AResponseNotTakenIsClosedAfterTheWriteTimeout) {
    auto c = connect();
    ASSERT_TRUE(c->send("GET /big HTTP/1.1\r\nConnection: close\r\n\r\n"));  // never read
    EXPECT_TRUE(
        test::eventually([&] { return refused(*server_, HttpRefusal::write_timeout) == 1; }, 3s));
    for (std::size_t i = 0; i < kHttpRefusalKinds; ++i) {
        if (i == static_cast<std::size_t>(HttpRefusal::write_timeout)) continue;
        EXPECT_EQ(server_->refusals()[i], 0u) << to_string(static_cast<HttpRefusal>(i));
    }
}

TEST_F(HttpServerLimits, ConnectionsBeyondTheLimitsAreAnswered503AndClosed) {
    auto first = connect("127.0.0.1");
    auto second = connect("127.0.0.1");
    ASSERT_TRUE(first->send("GET /echo HTTP/1.1\r\n") && second->send("GET /echo HTTP/1.1\r\n"));
    auto other_address = connect("127.0.0.2");
    ASSERT_TRUE(other_address->send("GET /echo HTTP/1.1\r\n"));
    bool closed = false;
    EXPECT_EQ(other_address->receive_until_closed(50ms, &closed), "");
    EXPECT_FALSE(closed) << "another address, within the limit in all";

    for (const auto* source : {"127.0.0.1", "127.0.0.3"}) {  // per address, then in all
        auto refused = connect(source);
        closed = false;
        const auto answer = refused->receive_until_closed(1s, &closed);
        EXPECT_EQ(http_status_of(answer), 503) << source << ": " << answer;
        EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos);
        EXPECT_TRUE(closed) << source;
    }
    EXPECT_EQ(refused(*server_, HttpRefusal::source_connections), 1u);
    EXPECT_EQ(refused(*server_, HttpRefusal::connections), 1u);
    first.reset();
    EXPECT_TRUE(test::eventually(
        [&] {
            auto again = connect("127.0.0.1");
            return again->send("GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n") &&
                   http_status_of(again->receive_until_closed(1s)) == 200;
        },
        1s));
}

// The socket-free entry the listener's workers use (and the fuzz target): a received request
// in, its response's bytes out, without start().
TEST(HttpServerServe, ARequestIsServedWithoutASocket) {
    HttpServer server;
    server.get("/echo", [](const HttpRequest& r) {
        return HttpResponse{200, "text/plain", "n=" + r.header("x-n") + " from " + r.remote, {}};
    });
    server.post("/form", [](const HttpRequest& r) {
        const auto it = r.params.find("a");
        return HttpResponse{201, "text/plain", it == r.params.end() ? "" : it->second, {}};
    });
    ReceivedRequest get{"GET /echo HTTP/1.1\r\nHost: x\r\nX-N: 7\r\n\r\n",
                        "127.0.0.1",
                        40000,
                        "127.0.0.1",
                        80,
                        nullptr,
                        false};
    auto served = server.serve(get);
    EXPECT_EQ(http_status_of(served.bytes), 200) << served.bytes;
    EXPECT_NE(served.bytes.find("n=7 from 127.0.0.1:40000"), std::string::npos) << served.bytes;
    EXPECT_TRUE(served.keep_alive);

    get.last = true;
    served = server.serve(get);
    EXPECT_NE(served.bytes.find("Connection: close"), std::string::npos)
        << "the connection's last request: " << served.bytes;

    const ReceivedRequest form{
        "POST /form HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 6\r\n\r\na=b%21",
        "127.0.0.1",
        40000,
        "127.0.0.1",
        80,
        nullptr,
        false};
    served = server.serve(form);
    EXPECT_EQ(http_status_of(served.bytes), 201) << served.bytes;
    EXPECT_NE(served.bytes.find("\r\n\r\nb!"), std::string::npos) << served.bytes;

    const ReceivedRequest unknown{
        "GET /nothing HTTP/1.1\r\n\r\n", "127.0.0.1", 1, "", 0, nullptr, false};
    EXPECT_EQ(http_status_of(server.serve(unknown).bytes), 404);
}

}  // namespace
}  // namespace mcx::net
