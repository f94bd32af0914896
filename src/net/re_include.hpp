#pragma once
// The one way to include libre from C++ (private to src/net): the standard headers it expects
// first, then the umbrella header with C linkage. The include path is SYSTEM so that libre's
// headers do not trip C++20 -Werror=volatile.

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

extern "C" {
#include <re.h>
}

#include "net/endpoint.hpp"

namespace mcx::net {

// A libre socket address as host literal and port.
inline Endpoint to_endpoint(const sa* address) {
    char host[64] = {};
    sa_ntop(address, host, sizeof(host));
    return Endpoint{host, sa_port(address)};
}

inline Transport from_libre(enum sip_transp tp) {
    switch (tp) {
        case SIP_TRANSP_TCP:
            return Transport::tcp;
        case SIP_TRANSP_TLS:
            return Transport::tls;
        case SIP_TRANSP_UDP:
        case SIP_TRANSP_NONE:
        case SIP_TRANSP_WS:  // WebSocket transports: never added to our SIP stacks
        case SIP_TRANSP_WSS:
        case SIP_TRANSPC:
            return Transport::udp;
    }
    return Transport::udp;
}

inline enum sip_transp to_libre(Transport tp) {
    switch (tp) {
        case Transport::tcp:
            return SIP_TRANSP_TCP;
        case Transport::tls:
            return SIP_TRANSP_TLS;
        case Transport::udp:
            break;
    }
    return SIP_TRANSP_UDP;
}

}  // namespace mcx::net

namespace mcx::net {

// SIP over TCP and TLS: small messages leave at once (TCP_NODELAY). With Nagle's algorithm a
// request written while an earlier segment awaits its delayed ACK waits up to 40 ms (a call
// over TCP took 42 ms to set up, 2.6 ms over UDP). libre 1.1.0 has no socket option call for
// its SIP connections, so it is set on the connection of every message received over one; the
// first write of a connection goes out before any ACK is pending.
void set_no_delay(const sip_msg* msg);

}  // namespace mcx::net
