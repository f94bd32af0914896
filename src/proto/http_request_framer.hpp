#pragma once
// Where one HTTP/1.1 request ends (RFC 9112 2.2, 3, 5, 6.3), found as its bytes arrive and
// under limits that hold before anything else buffers it: the head's size, each line's, the
// number of fields, the body's Content-Length. Pure: the caller reads and asks again with the
// longer buffer; the framer resumes where it stopped, so a client sending a byte at a time costs
// one pass over the head. docs/security.md, "HTTP that cannot be starved".

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mcx::proto {

struct HttpHeadLimits {
    std::size_t max_head_bytes = 16 * 1024;  // request line and field lines, CRLFs included
    std::size_t max_line_bytes = 8 * 1024;   // any one of those lines (cpp-httplib's own limit)
    std::size_t max_fields = 100;
    std::size_t max_body_bytes = 256 * 1024;
};

struct HttpFramedRequest {
    std::size_t head_begin = 0;  // after empty lines before the request line (RFC 9112 2.2)
    std::size_t head_end = 0;    // just after the empty line that ends the field lines
    std::size_t body_bytes = 0;  // Content-Length; no body without one (RFC 9112 6.3)
    // Expect: 100-continue on an HTTP/1.1 request with a body (RFC 9110 10.1.1).
    bool expects_continue = false;
    // [begin, end) of each Expect field line: whoever answers the expectation drops them, so
    // that no later parser answers it a second time.
    std::vector<std::pair<std::size_t, std::size_t>> expect_lines;

    std::size_t size() const { return head_end + body_bytes; }
};

// The bytes of a framed request as they are handed on once its expectation is answered: from
// head_begin to size() of `received` (which holds at least that much), the Expect field lines
// left out, so that no later parser answers the expectation a second time.
std::string handed_on_request(std::string_view received, const HttpFramedRequest& framed);

struct HttpRequestRefusal {
    // The limit of HttpHeadLimits a request met; none: a malformed one (400, 411, 505).
    enum class Limit { none, head_bytes, line_bytes, fields, body_bytes };

    int status = 400;    // 400, 411, 413, 414, 431 or 505
    std::string reason;  // the defect or the limit, for the log and the response body
    Limit limit = Limit::none;
};

class HttpRequestFramer {
  public:
    enum class Progress { need_more, framed, refused };

    explicit HttpRequestFramer(HttpHeadLimits limits = {}) : limits_(limits) {}

    // `received`: this request's bytes so far, from its first one; every call passes what the
    // previous call did and possibly more. Bytes after the framed head (its body, a pipelined
    // request) are not looked at.
    Progress scan(std::string_view received);
    const HttpFramedRequest& framed() const { return framed_; }     // after Progress::framed
    const HttpRequestRefusal& refusal() const { return refusal_; }  // after Progress::refused
    // For the connection's next request.
    void reset() { *this = HttpRequestFramer(limits_); }

  private:
    enum class Stage { request_line, field_lines, done };

    Progress refuse(int status, std::string reason,
                    HttpRequestRefusal::Limit limit = HttpRequestRefusal::Limit::none);
    Progress take_request_line(std::string_view line);
    Progress take_field_line(std::string_view line, std::size_t begin, std::size_t end);
    Progress end_of_head(std::size_t head_end);

    HttpHeadLimits limits_;
    Stage stage_ = Stage::request_line;
    Progress outcome_ = Progress::need_more;
    std::size_t line_begin_ = 0;  // of the line under way
    std::size_t scanned_ = 0;     // bytes of it already known to hold no LF
    std::size_t fields_ = 0;
    bool http11_ = false;
    bool content_length_seen_ = false;
    bool transfer_encoding_seen_ = false;
    bool continue_asked_ = false;
    HttpFramedRequest framed_;
    HttpRequestRefusal refusal_;
};

}  // namespace mcx::proto
