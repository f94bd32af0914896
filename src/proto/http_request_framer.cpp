#include "proto/http_request_framer.hpp"

#include <cstdint>

namespace mcx::proto {
namespace {

using Limit = HttpRequestRefusal::Limit;

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

// tchar, RFC 9110 5.6.2.
bool is_token(std::string_view s) {
    constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
    if (s.empty()) return false;
    for (const char c : s) {
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && kSpecials.find(c) == std::string_view::npos) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

std::string handed_on_request(std::string_view received, const HttpFramedRequest& framed) {
    std::string bytes;
    bytes.reserve(framed.size() - framed.head_begin);
    std::size_t from = framed.head_begin;
    for (const auto& [begin, end] : framed.expect_lines) {
        bytes.append(received, from, begin - from);
        from = end;
    }
    bytes.append(received, from, framed.size() - from);
    return bytes;
}

HttpRequestFramer::Progress HttpRequestFramer::refuse(int status, std::string reason,
                                                      HttpRequestRefusal::Limit limit) {
    stage_ = Stage::done;
    refusal_ = {status, std::move(reason), limit};
    return outcome_ = Progress::refused;
}

HttpRequestFramer::Progress HttpRequestFramer::scan(std::string_view received) {
    const auto max_line = limits_.max_line_bytes;
    while (stage_ != Stage::done) {
        const auto lf = received.find('\n', scanned_);
        const bool request_line = stage_ == Stage::request_line;
        if (lf == std::string_view::npos) {
            // The limits hold for the line under way too, before its LF (if it ever comes).
            scanned_ = received.size();
            const auto line = received.size() - line_begin_;
            if (request_line && line > max_line) {
                return refuse(414, "request line longer than " + std::to_string(max_line),
                              Limit::line_bytes);
            }
            if (received.size() > limits_.max_head_bytes) {
                return refuse(
                    431,
                    "request head longer than " + std::to_string(limits_.max_head_bytes) + " bytes",
                    Limit::head_bytes);
            }
            if (line > max_line) {
                return refuse(431, "header field line longer than " + std::to_string(max_line),
                              Limit::line_bytes);
            }
            return Progress::need_more;
        }
        const auto begin = line_begin_;
        const auto end = lf + 1;
        line_begin_ = scanned_ = end;
        // RFC 9112 3: 414 for a request-target longer than we parse; RFC 6585 5: 431 for one
        // field or all of them too large.
        if (end - begin > max_line) {
            return request_line
                       ? refuse(414, "request line longer than " + std::to_string(max_line),
                                Limit::line_bytes)
                       : refuse(431, "header field line longer than " + std::to_string(max_line),
                                Limit::line_bytes);
        }
        if (end > limits_.max_head_bytes) {
            return refuse(
                431,
                "request head longer than " + std::to_string(limits_.max_head_bytes) + " bytes",
                Limit::head_bytes);
        }
        // RFC 9112 2.2 lets a recipient take a bare LF as a line end; cpp-httplib does not (it
        // skips such lines), so one would end the head here and not there.
        if (end - begin < 2 || received[lf - 1] != '\r') {
            return refuse(400, "line of the request head without CRLF");
        }
        const auto content = received.substr(begin, end - begin - 2);
        const auto progress =
            request_line ? take_request_line(content) : take_field_line(content, begin, end);
        if (progress != Progress::need_more) return progress;
        if (request_line && content.empty()) framed_.head_begin = end;
    }
    return outcome_;
}

HttpRequestFramer::Progress HttpRequestFramer::take_request_line(std::string_view line) {
    // RFC 9112 2.2: empty lines before the request line are ignored.
    if (line.empty()) return Progress::need_more;
    // RFC 9112 3: method SP request-target SP HTTP-version, one SP each.
    const auto first = line.find(' ');
    const auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
        return refuse(400, "request line is not method SP target SP version");
    }
    const auto method = line.substr(0, first);
    const auto target = line.substr(first + 1, second - first - 1);
    const auto version = line.substr(second + 1);
    if (!is_token(method)) return refuse(400, "bad method");
    if (target.empty()) return refuse(400, "empty request target");
    for (const char c : target) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return refuse(400, "control character in the request target");
        }
    }
    // RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT.
    if (version.size() != 8 || !version.starts_with("HTTP/") || !is_digit(version[5]) ||
        version[6] != '.' || !is_digit(version[7])) {
        return refuse(400, "bad HTTP version");
    }
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        return refuse(505, "HTTP version not supported");  // RFC 9110 15.6.6
    }
    http11_ = version == "HTTP/1.1";
    stage_ = Stage::field_lines;
    return Progress::need_more;
}

HttpRequestFramer::Progress HttpRequestFramer::take_field_line(std::string_view line,
                                                               std::size_t begin, std::size_t end) {
    if (line.empty()) return end_of_head(end);
    if (++fields_ > limits_.max_fields) {
        return refuse(431, "more than " + std::to_string(limits_.max_fields) + " header fields",
                      Limit::fields);
    }
    // RFC 9112 5.2: a server rejects obsolete line folding (or replaces it; we do not).
    if (is_space(line.front())) return refuse(400, "obsolete line folding");
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return refuse(400, "header field line without a colon");
    const auto name = line.substr(0, colon);
    // RFC 9112 5.1: no whitespace between the field name and the colon (400).
    if (!is_token(name)) return refuse(400, "bad header field name");
    const auto value = trim(line.substr(colon + 1));
    // RFC 9110 5.5: CR, LF and NUL are invalid in a field value (LF ends the line already).
    if (value.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
        return refuse(400, "CR or NUL in a header field value");
    }
    if (equals_ignoring_case(name, "content-length")) {
        // RFC 9112 6.3: 1*DIGIT; several fields must agree (a list is refused as well).
        if (value.empty()) return refuse(400, "bad Content-Length");
        std::uint64_t length = 0;
        bool too_large = false;
        for (const char c : value) {
            if (!is_digit(c)) return refuse(400, "bad Content-Length");
            if (!too_large) length = length * 10 + static_cast<std::uint64_t>(c - '0');
            too_large = too_large || length > limits_.max_body_bytes;
        }
        if (too_large) {
            // RFC 9110 15.5.14.
            return refuse(413,
                          "body longer than " + std::to_string(limits_.max_body_bytes) + " bytes",
                          Limit::body_bytes);
        }
        if (content_length_seen_ && framed_.body_bytes != length) {
            return refuse(400, "Content-Length fields that differ");
        }
        content_length_seen_ = true;
        framed_.body_bytes = static_cast<std::size_t>(length);
    } else if (equals_ignoring_case(name, "transfer-encoding")) {
        transfer_encoding_seen_ = true;
    } else if (equals_ignoring_case(name, "expect")) {
        framed_.expect_lines.emplace_back(begin, end);
        continue_asked_ = continue_asked_ || equals_ignoring_case(value, "100-continue");
    }
    return Progress::need_more;
}

HttpRequestFramer::Progress HttpRequestFramer::end_of_head(std::size_t head_end) {
    framed_.head_end = head_end;
    if (transfer_encoding_seen_) {
        // RFC 9112 6.3: both fields hint at request smuggling; a body without Content-Length
        // may be refused with 411. mcx clients never send chunked requests.
        if (content_length_seen_) return refuse(400, "Transfer-Encoding with Content-Length");
        return refuse(411, "Content-Length required");
    }
    // RFC 9110 10.1.1: an HTTP/1.0 client's 100-continue is ignored.
    framed_.expects_continue = continue_asked_ && http11_ && framed_.body_bytes > 0;
    stage_ = Stage::done;
    return outcome_ = Progress::framed;
}

}  // namespace mcx::proto
