// The HTTP/1.1 request framer (proto/http_request_framer.hpp): where a request ends, fed whole
// and a byte at a time, and each limit and defect refused with its status.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/http_request_framer.hpp"

namespace mcx::proto {
namespace {

using Progress = HttpRequestFramer::Progress;

const std::string kLogin =
    "POST /idms/token HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n"
    "Content-Length: 18\r\n"
    "\r\n"
    "grant_type=passwo";  // a part of the body: the framer does not wait for it

// The framer fed `bytes` one more byte at a time, as a slow client sends them; the progress
// after the last.
Progress scan_byte_by_byte(HttpRequestFramer& framer, const std::string& bytes) {
    auto progress = Progress::need_more;
    for (std::size_t n = 1; n <= bytes.size() && progress == Progress::need_more; ++n) {
        progress = framer.scan(std::string_view(bytes).substr(0, n));
    }
    return progress;
}

HttpRequestRefusal refusal_of(const std::string& bytes, HttpHeadLimits limits = {}) {
    HttpRequestFramer framer(limits);
    EXPECT_EQ(framer.scan(bytes), Progress::refused) << bytes.substr(0, 200);
    return framer.refusal();
}

std::string head_with_fields(std::size_t fields, std::size_t value_bytes = 1) {
    std::string head = "GET /status HTTP/1.1\r\n";
    for (std::size_t i = 0; i < fields; ++i) {
        head += "X-Field-" + std::to_string(i) + ": " + std::string(value_bytes, 'v') + "\r\n";
    }
    return head + "\r\n";
}

TEST(HttpRequestFramer, FramesTheHeadAndTheBodyLength) {
    HttpRequestFramer framer;
    ASSERT_EQ(framer.scan(kLogin), Progress::framed);
    EXPECT_EQ(framer.framed().head_begin, 0u);
    EXPECT_EQ(framer.framed().head_end, kLogin.find("\r\n\r\n") + 4);
    EXPECT_EQ(framer.framed().body_bytes, 18u);
    EXPECT_EQ(framer.framed().size(), framer.framed().head_end + 18);
    EXPECT_FALSE(framer.framed().expects_continue);
    EXPECT_EQ(framer.scan(kLogin + "more"), Progress::framed) << "framed stays framed";
}

TEST(HttpRequestFramer, AByteAtATimeFramesTheSame) {
    HttpRequestFramer whole;
    HttpRequestFramer dripped;
    ASSERT_EQ(whole.scan(kLogin), Progress::framed);
    ASSERT_EQ(scan_byte_by_byte(dripped, kLogin), Progress::framed);
    EXPECT_EQ(dripped.framed().head_end, whole.framed().head_end);
    EXPECT_EQ(dripped.framed().body_bytes, whole.framed().body_bytes);
}

TEST(HttpRequestFramer, WaitsForTheEmptyLine) {
    HttpRequestFramer framer;
    EXPECT_EQ(framer.scan("GET / HTTP/1.1\r\nHost: a\r\n"), Progress::need_more);
    EXPECT_EQ(framer.scan("GET / HTTP/1.1\r\nHost: a\r\n\r"), Progress::need_more);
    EXPECT_EQ(framer.scan("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Progress::framed);
    EXPECT_EQ(framer.framed().body_bytes, 0u) << "no Content-Length, no body (RFC 9112 6.3)";
}

TEST(HttpRequestFramer, EmptyLinesBeforeTheRequestLineAreSkipped) {
    HttpRequestFramer framer;
    const std::string request = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    ASSERT_EQ(framer.scan(request), Progress::framed);
    EXPECT_EQ(framer.framed().head_begin, 4u);
    EXPECT_EQ(framer.framed().head_end, request.size());
}

TEST(HttpRequestFramer, ResetFramesTheNextRequest) {
    HttpRequestFramer framer;
    ASSERT_EQ(framer.scan(head_with_fields(2)), Progress::framed);
    framer.reset();
    EXPECT_EQ(framer.scan("GET /x HTTP/1.0\r\n"), Progress::need_more);
}

TEST(HttpRequestFramer, HundredFieldsPassAndOneMoreIs431) {
    HttpRequestFramer framer;
    EXPECT_EQ(framer.scan(head_with_fields(100)), Progress::framed);
    const auto refusal = refusal_of(head_with_fields(101));
    EXPECT_EQ(refusal.status, 431);
    EXPECT_EQ(refusal.reason, "more than 100 header fields");
}

TEST(HttpRequestFramer, AHeadOverItsSizeIs431EvenWithoutAnLf) {
    // 20 fields of 1000 bytes: each line within its limit, all of them over 16 KiB.
    EXPECT_EQ(refusal_of(head_with_fields(20, 1000)).status, 431);
    // An endless field line: refused once it passes the line limit, with no LF ever.
    HttpRequestFramer framer;
    std::string flood = "GET / HTTP/1.1\r\nX-Big: ";
    flood += std::string(8 * 1024, 'a');
    EXPECT_EQ(framer.scan(flood.substr(0, 4096)), Progress::need_more);
    EXPECT_EQ(framer.scan(flood), Progress::refused);
    EXPECT_EQ(framer.refusal().status, 431);
    // Short lines without end: the head's own limit.
    HttpHeadLimits small;
    small.max_head_bytes = 100;
    const auto head = head_with_fields(10);
    ASSERT_GT(head.size(), 100u);
    HttpRequestFramer limited(small);
    EXPECT_EQ(scan_byte_by_byte(limited, head), Progress::refused);
    EXPECT_EQ(limited.refusal().status, 431);
}

TEST(HttpRequestFramer, ALongRequestLineIs414) {
    const auto line = "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n";
    EXPECT_EQ(refusal_of(line).status, 414);
    EXPECT_EQ(refusal_of(line.substr(0, 8200)).status, 414) << "before its LF";
}

TEST(HttpRequestFramer, ABodyOverItsLimitIs413) {
    EXPECT_EQ(refusal_of("POST / HTTP/1.1\r\nContent-Length: 262145\r\n\r\n").status, 413);
    EXPECT_EQ(
        refusal_of("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n").status,
        413);
    HttpRequestFramer framer;
    EXPECT_EQ(framer.scan("POST / HTTP/1.1\r\nContent-Length: 262144\r\n\r\n"), Progress::framed);
}

TEST(HttpRequestFramer, ChunkedBodiesAre411AndSmugglingIs400) {
    EXPECT_EQ(refusal_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").status, 411);
    EXPECT_EQ(
        refusal_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n")
            .status,
        400);
    EXPECT_EQ(
        refusal_of("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n").status,
        400);
    EXPECT_EQ(refusal_of("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n").status, 400);
    EXPECT_EQ(refusal_of("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").status, 400);
    HttpRequestFramer same;
    EXPECT_EQ(same.scan("POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n"),
              Progress::framed);
    EXPECT_EQ(same.framed().body_bytes, 3u);
}

TEST(HttpRequestFramer, MalformedHeadsAre400) {
    for (const std::string& head : std::vector<std::string>{
             "GET / HTTP/1.1\nHost: a\r\n\r\n",               // bare LF
             "GET / HTTP/1.1\r\nHost: a\n\n",                 // bare LF, the end too
             "GET  / HTTP/1.1\r\n\r\n",                       // two spaces
             "GET /\r\n\r\n",                                 // HTTP/0.9
             "G(T / HTTP/1.1\r\n\r\n",                        // not a token
             "GET / HTTP/x.1\r\n\r\n",                        // not a version
             "GET / HTTP/1.1\r\nHost : a\r\n\r\n",            // space before the colon
             "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",  // obs-fold
             "GET / HTTP/1.1\r\nno colon\r\n\r\n",
             "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",  // CR inside a value
             std::string("GET / HTTP/1.1\r\nX: a") + '\0' + "b\r\n\r\n",
         }) {
        EXPECT_EQ(refusal_of(head).status, 400) << head;
    }
    EXPECT_EQ(refusal_of("GET / HTTP/2.0\r\n\r\n").status, 505);
}

// The listener counts its refusals by the limit met (net::HttpRefusal): each refusal names it,
// and a malformed head none.
TEST(HttpRequestFramer, EachRefusalNamesTheLimitItMet) {
    using Limit = HttpRequestRefusal::Limit;
    EXPECT_EQ(refusal_of(head_with_fields(101)).limit, Limit::fields);
    EXPECT_EQ(refusal_of(head_with_fields(20, 1000)).limit, Limit::head_bytes);
    EXPECT_EQ(refusal_of("GET / HTTP/1.1\r\nX-Big: " + std::string(9000, 'a')).limit,
              Limit::line_bytes);
    EXPECT_EQ(refusal_of("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n").limit,
              Limit::line_bytes);
    EXPECT_EQ(refusal_of("POST / HTTP/1.1\r\nContent-Length: 262145\r\n\r\n").limit,
              Limit::body_bytes);
    for (const std::string& head :
         {std::string("GET / HTTP/1.1\nHost: a\r\n\r\n"), std::string("GET / HTTP/2.0\r\n\r\n"),
          std::string("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")}) {
        EXPECT_EQ(refusal_of(head).limit, Limit::none) << head;
    }
}

TEST(HttpRequestFramer, ExpectContinueIsReportedWithItsLines) {
    HttpRequestFramer framer;
    const std::string head = "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
    ASSERT_EQ(framer.scan(head), Progress::framed);
    EXPECT_TRUE(framer.framed().expects_continue);
    ASSERT_EQ(framer.framed().expect_lines.size(), 1u);
    const auto [begin, end] = framer.framed().expect_lines[0];
    EXPECT_EQ(head.substr(begin, end - begin), "Expect: 100-Continue\r\n");

    HttpRequestFramer http10;
    ASSERT_EQ(http10.scan("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"),
              Progress::framed);
    EXPECT_FALSE(http10.framed().expects_continue) << "RFC 9110 10.1.1: ignored for HTTP/1.0";
    HttpRequestFramer no_body;
    ASSERT_EQ(no_body.scan("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"), Progress::framed);
    EXPECT_FALSE(no_body.framed().expects_continue);
}

TEST(HttpRequestFramer, TheRequestIsHandedOnWithoutItsExpectLinesAndWhatFollows) {
    const std::string received =
        "\r\nPOST / HTTP/1.1\r\nExpect: 100-continue\r\nHost: x\r\nexpect: 100-continue\r\n"
        "Content-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\n";
    HttpRequestFramer framer;
    ASSERT_EQ(framer.scan(received), Progress::framed);
    ASSERT_EQ(framer.framed().expect_lines.size(), 2u);
    EXPECT_EQ(handed_on_request(received, framer.framed()),
              "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        << "no empty line before it, no Expect, no pipelined request after it";
    HttpRequestFramer plain;
    ASSERT_EQ(plain.scan("GET / HTTP/1.1\r\n\r\n"), Progress::framed);
    EXPECT_EQ(handed_on_request("GET / HTTP/1.1\r\n\r\n", plain.framed()),
              "GET / HTTP/1.1\r\n\r\n");
}

}  // namespace
}  // namespace mcx::proto
