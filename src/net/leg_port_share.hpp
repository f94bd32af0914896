#pragma once
// The leg thread's SIP stack speaks through the main SIP port (issue 17 item 3, docs/sip-profile.md
// "Callee legs and the main port"): a client that registered over UDP accepts packets only from
// the address and port it registered to when it sits behind a port-restricted NAT or on a
// connected socket (RFC 5626 3.3: requests to a UA go over the flow it registered on).
//
// Outgoing: a request of the leg stack leaves from the main socket with its top Via sent-by and
// its Contact rewritten from the leg's host:port to the main port's, marked with the parameter
// `mcx-leg`; responses and in-dialog requests of the callee come back to the main port carrying
// the mark (RFC 3261 18.2.2: responses go to the Via sent-by; 12.2: in-dialog requests to the
// remote target, our Contact). Incoming: the main port hands marked datagrams to the leg socket
// in a frame that names their real source.
//
// Pure byte work: no sockets, no libre; leg_thread.cpp does the I/O.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "net/endpoint.hpp"

namespace mcx::net::port_share {

// The Via and URI parameter (RFC 3261 25.1 generic-param / other-param) that marks leg traffic.
inline constexpr std::string_view kLegMark = "mcx-leg";

// "host:port" as a Via sent-by or URI hostport writes it (RFC 3261 25.1: IPv6 in brackets).
std::string host_port(const Endpoint& endpoint);

// A request of the leg stack as it goes out of the main port: top Via sent-by `leg` becomes
// `main;mcx-leg`, a Contact URI host:port `leg` becomes `main;mcx-leg`. nullopt when
// `datagram` is a response or names `leg` in neither header (it goes out unchanged).
std::optional<std::string> to_main_port(std::string_view datagram, std::string_view leg,
                                        std::string_view main);

// Whether a datagram that reached the main port belongs to the leg stack: a response whose
// top Via carries the mark, or a request whose Request-URI does.
bool for_leg(std::string_view datagram);

// The frame a datagram travels in from the main socket to the leg socket: a magic line with the
// datagram's real source, then the datagram.
std::string frame(const Endpoint& source, std::string_view datagram);

struct Unframed {
    Endpoint source;
    std::size_t offset = 0;  // where the datagram starts
};
// nullopt when `bytes` is not a well-formed frame.
std::optional<Unframed> unframe(std::string_view bytes);

}  // namespace mcx::net::port_share
