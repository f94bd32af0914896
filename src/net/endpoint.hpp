#pragma once

#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace mcx::net {

// An IPv4 or IPv6 literal and a port. MCX binds 127.0.0.1 in tests and the demo.
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;

    std::string to_string() const { return host + ":" + std::to_string(port); }
    bool operator==(const Endpoint&) const = default;
};

enum class Transport { udp, tcp, tls };

// A connection (TCP or TLS) messages arrived on, RFC 5626 3.3 "flow": 0 for UDP. A flow's ID
// is never reused, so a binding naming a closed flow matches no later connection.
using FlowId = std::uint64_t;

inline const char* to_string(Transport t) {
    switch (t) {
        case Transport::udp:
            return "udp";
        case Transport::tcp:
            return "tcp";
        case Transport::tls:
            return "tls";
    }
    return "udp";
}

// The Contact/Route URI parameter of a transport ("" for UDP, RFC 3261 19.1.1).
inline const char* uri_transport_param(Transport t) {
    switch (t) {
        case Transport::udp:
            return "";
        case Transport::tcp:
            return ";transport=tcp";
        case Transport::tls:
            return ";transport=tls";
    }
    return "";
}

}  // namespace mcx::net

namespace mcx::net {

// Compact IPv4 address for the media path (no string work per packet).
struct Ipv4Endpoint {
    std::uint32_t ip = 0;  // network byte order
    std::uint16_t port = 0;

    bool operator==(const Ipv4Endpoint&) const = default;
    bool valid() const { return ip != 0 && port != 0; }
};

Ipv4Endpoint to_ipv4(const Endpoint& e);  // {0,0} when not an IPv4 literal
Endpoint to_endpoint(const Ipv4Endpoint& e);

// A TCP port free now on `host` (an IP literal; the kernel's pick for port 0): for listeners
// that must know their port before they bind, and configurations that name each other.
Result<std::uint16_t> free_tcp_port(const std::string& host);

}  // namespace mcx::net
