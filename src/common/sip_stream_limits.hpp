#pragma once
// What one peer may hold of mcxd's SIP listeners over TCP and TLS (net::SipStreamGuard,
// proto::SipStreamFramer), read from [sip] of the system configuration (config/README.md).
// Plain data, so the configuration needs no network code. docs/security.md, "SIP over TCP and
// TLS: caps and framing".

#include <cstddef>
#include <cstdint>

namespace mcx {

struct SipStreamLimits {
    std::size_t max_connections = 1024;           // accepted connections in all
    std::size_t max_connections_per_source = 64;  // from one IP address
    std::size_t max_head_bytes = 16 * 1024;       // start line and header fields, CRLFs included
    // A whole message, head and body. libre's transport closes a connection that buffers more
    // than 64 KiB, so a larger value would not let more through.
    std::size_t max_message_bytes = 64 * 1024;
    // From a message's first byte to its last; a peer that takes longer loses the connection.
    std::uint32_t message_timeout_ms = 10'000;
};

}  // namespace mcx
