#pragma once
// The RFC 3261 checks of a received request that libre leaves to its user: mandatory header
// fields (8.1.1), CSeq (8.1.1.5, 20.16), Max-Forwards (20.22), Content-Length (18.3, 20.14).
// Pure: the caller lifts the facts from the decoded message (docs/sip-profile.md).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mcx::proto {

struct SipRequestFacts {
    std::string_view method;
    bool has_via = false;
    bool has_from = false;
    bool has_to = false;
    bool has_call_id = false;
    std::optional<std::string_view> cseq;            // the header value, if present
    std::optional<std::string_view> max_forwards;    // likewise
    std::optional<std::string_view> content_length;  // likewise
    std::size_t body_size = 0;                       // bytes after the header section
    bool datagram = false;                           // UDP: Content-Length bounds the body
};

struct SipRequestProblem {
    // False: no response can be routed (no Via), the request is dropped; and ACK is never
    // answered (RFC 3261 17.2.1).
    bool respond = true;
    std::string reason;  // the reason phrase of the 400, naming the problem
};

// nullopt: the request is well formed as far as these checks go.
std::optional<SipRequestProblem> check_sip_request(const SipRequestFacts& request);

}  // namespace mcx::proto
