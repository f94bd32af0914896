#pragma once
// A UDP socket on the event loop (libre's udp module), used for RTP and RTCP.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/error.hpp"
#include "net/endpoint.hpp"

struct udp_sock;
struct mbuf;

namespace mcx::net {

class UdpSocket {
  public:
    using Handler = std::function<void(const Ipv4Endpoint& from, std::span<const std::uint8_t>)>;

    // port 0: any free port.
    static Result<std::unique_ptr<UdpSocket>> bind(const std::string& host, std::uint16_t port,
                                                   Handler handler);
    // Two sockets on consecutive ports, even first (RTP and RTCP, RFC 3550 11).
    static Result<std::pair<std::unique_ptr<UdpSocket>, std::unique_ptr<UdpSocket>>> bind_pair(
        const std::string& host, Handler rtp_handler, Handler rtcp_handler);
    ~UdpSocket();
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    Endpoint local() const { return local_; }
    void send_to(const Ipv4Endpoint& to, std::span<const std::uint8_t> data);
    void set_handler(Handler handler) { handler_ = std::move(handler); }

  private:
    UdpSocket() = default;
    friend struct UdpSocketCallbacks;
    udp_sock* sock_ = nullptr;
    Endpoint local_;
    Handler handler_;
    ::mbuf* buffer_ = nullptr;
};

}  // namespace mcx::net
