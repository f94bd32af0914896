#pragma once
// An RTP session (RFC 3550) on libre's rtp module: even/odd RTP/RTCP ports, sequence numbers,
// SSRC and header encoding done by libre.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/error.hpp"
#include "net/endpoint.hpp"

struct rtp_sock;

namespace mcx::net {

struct RtpPacket {
    std::uint8_t payload_type = 0;
    bool marker = false;
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0;
    std::span<const std::uint8_t> payload;
};

class RtpSession {
  public:
    using Handler = std::function<void(const Ipv4Endpoint& from, const RtpPacket& packet)>;
    using RtcpHandler = std::function<void(const Ipv4Endpoint& from)>;

    static Result<std::unique_ptr<RtpSession>> open(const std::string& host, Handler on_rtp,
                                                    RtcpHandler on_rtcp = {});
    ~RtpSession();
    RtpSession(const RtpSession&) = delete;
    RtpSession& operator=(const RtpSession&) = delete;

    std::uint16_t rtp_port() const { return rtp_port_; }
    std::uint16_t rtcp_port() const { return static_cast<std::uint16_t>(rtp_port_ + 1); }
    std::uint32_t ssrc() const;

    Result<void> send(const Ipv4Endpoint& to, std::uint8_t payload_type, bool marker,
                      std::uint32_t timestamp, std::span<const std::uint8_t> payload);

  private:
    RtpSession() = default;
    friend struct RtpSessionCallbacks;
    rtp_sock* sock_ = nullptr;
    std::uint16_t rtp_port_ = 0;
    Handler on_rtp_;
    RtcpHandler on_rtcp_;
};

}  // namespace mcx::net
