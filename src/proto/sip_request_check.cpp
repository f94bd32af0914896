#include "proto/sip_request_check.hpp"

#include <cstdint>

namespace mcx::proto {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && (is_space(s.back()) || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

// 1*DIGIT no larger than `max`; nullopt otherwise (also for an empty or signed value).
std::optional<std::uint64_t> decimal(std::string_view s, std::uint64_t max) {
    if (s.empty() || s.size() > 20) return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
        if (value > max) return std::nullopt;
    }
    return value;
}

std::optional<SipRequestProblem> bad(const std::string& reason, bool ack) {
    return SipRequestProblem{!ack, reason};
}

}  // namespace

std::optional<SipRequestProblem> check_sip_request(const SipRequestFacts& r) {
    const bool ack = r.method == "ACK";
    // 8.2.6 / 18.2.2: a response goes to the top Via; without one there is nowhere to send it.
    if (!r.has_via) return SipRequestProblem{false, "Missing Via header"};
    if (!r.has_from) return bad("Missing From header", ack);
    if (!r.has_to) return bad("Missing To header", ack);
    if (!r.has_call_id) return bad("Missing Call-ID header", ack);
    if (!r.cseq) return bad("Missing CSeq header", ack);
    // 20.16: CSeq = 1*DIGIT LWS Method; 8.1.1.5: below 2**31, and the method of the request.
    const auto cseq = trim(*r.cseq);
    const auto space = cseq.find_first_of(" \t");
    if (space == std::string_view::npos || !decimal(cseq.substr(0, space), 0x7fffffffu)) {
        return bad("Bad CSeq header", ack);
    }
    if (trim(cseq.substr(space)) != r.method) {
        return bad("CSeq method does not match the request", ack);
    }
    // 8.1.1.6: every request carries Max-Forwards; 20.22: 0..255.
    if (!r.max_forwards) return bad("Missing Max-Forwards header", ack);
    if (!decimal(trim(*r.max_forwards), 255)) return bad("Bad Max-Forwards header", ack);
    if (r.content_length) {
        const auto length = decimal(trim(*r.content_length), 0xffffffffu);
        if (!length) return bad("Bad Content-Length header", ack);
        // 18.3: over UDP a body shorter than Content-Length is an error (400 for a request).
        if (r.datagram && *length > r.body_size) {
            return bad("Content-Length exceeds the message body", ack);
        }
    }
    return std::nullopt;
}

}  // namespace mcx::proto
