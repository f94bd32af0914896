#include "proto/sip_stream_framer.hpp"

#include <algorithm>
#include <charconv>
#include <variant>

namespace mcx::proto {
namespace {

constexpr std::string_view kEmptyLine = "\r\n\r\n";

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) {
        const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
        return lower(x) == lower(y);
    });
}

SipStreamRefusal malformed(std::string reason) {
    return {SipStreamRefusal::Limit::none, std::move(reason)};
}

// The body's length from the header fields of `head` (its start line skipped): Content-Length
// or its compact form "l" (RFC 3261 7.3.3, 20.14), mandatory on a stream (18.3).
std::variant<std::size_t, SipStreamRefusal> content_length(std::string_view head) {
    std::optional<std::size_t> length;
    std::size_t line_begin = head.find("\r\n");
    while (line_begin != std::string_view::npos && line_begin + 2 < head.size()) {
        line_begin += 2;
        const std::size_t line_end = head.find("\r\n", line_begin);
        const std::string_view line = head.substr(line_begin, line_end - line_begin);
        line_begin = line_end;
        const std::size_t colon = line.find(':');
        if (line.empty() || is_space(line.front()) || colon == std::string_view::npos) continue;
        const std::string_view name = trimmed(line.substr(0, colon));
        if (!equals_ignoring_case(name, "content-length") && !equals_ignoring_case(name, "l")) {
            continue;
        }
        const std::string_view value = trimmed(line.substr(colon + 1));
        std::size_t parsed = 0;
        const auto [end, error] =
            std::from_chars(value.data(), value.data() + value.size(), parsed);
        if (value.empty() || error != std::errc{} || end != value.data() + value.size()) {
            return malformed("Content-Length is not a number: " + std::string(value.substr(0, 40)));
        }
        if (length && *length != parsed) return malformed("two different Content-Length values");
        length = parsed;
    }
    if (!length) return malformed("no Content-Length, which a stream needs (RFC 3261 18.3)");
    return *length;
}

}  // namespace

std::optional<SipStreamRefusal> SipStreamFramer::frame_head(std::size_t unit_begin) {
    const std::size_t from = std::max(unit_begin, scanned_ >= 3 ? scanned_ - 3 : 0);
    const std::size_t empty_line = buffer_.find(kEmptyLine, from);
    if (empty_line == std::string::npos) {
        scanned_ = buffer_.size();
        if (buffer_.size() - unit_begin > max_head_bytes_) {
            return SipStreamRefusal{
                SipStreamRefusal::Limit::head_bytes,
                "head longer than " + std::to_string(max_head_bytes_) + " bytes"};
        }
        return std::nullopt;
    }
    const std::size_t head_end = empty_line + kEmptyLine.size();
    if (head_end - unit_begin > max_head_bytes_) {
        return SipStreamRefusal{SipStreamRefusal::Limit::head_bytes,
                                "head longer than " + std::to_string(max_head_bytes_) + " bytes"};
    }
    auto length =
        content_length(std::string_view(buffer_).substr(unit_begin, head_end - unit_begin));
    if (auto* refusal = std::get_if<SipStreamRefusal>(&length)) return std::move(*refusal);
    const std::size_t body = std::get<std::size_t>(length);
    if (body > max_message_bytes_ || head_end - unit_begin + body > max_message_bytes_) {
        return SipStreamRefusal{SipStreamRefusal::Limit::message_bytes,
                                "message longer than " + std::to_string(max_message_bytes_) +
                                    " bytes (Content-Length " + std::to_string(body) + ")"};
    }
    message_end_ = head_end + body;
    return std::nullopt;
}

std::optional<SipStreamRefusal> SipStreamFramer::feed(std::string_view received,
                                                      std::string& complete) {
    complete.clear();
    buffer_.append(received);
    std::size_t done = 0;  // buffer_ before this is whole units
    for (;;) {
        if (message_end_ == 0) {
            // Keep-alives between messages: libre answers a double CRLF ping with a CRLF pong.
            while (buffer_.size() - done >= 2 && buffer_.compare(done, 2, "\r\n") == 0) done += 2;
            if (done == buffer_.size() || (buffer_.size() - done == 1 && buffer_[done] == '\r')) {
                break;
            }
            scanned_ = std::max(scanned_, done);
            if (auto refusal = frame_head(done)) return refusal;
            if (message_end_ == 0) break;
        }
        if (buffer_.size() < message_end_) break;
        done = message_end_;
        message_end_ = 0;
    }
    complete.assign(buffer_, 0, done);
    buffer_.erase(0, done);
    scanned_ = scanned_ > done ? scanned_ - done : 0;
    if (message_end_ != 0) message_end_ -= done;
    return std::nullopt;
}

}  // namespace mcx::proto
