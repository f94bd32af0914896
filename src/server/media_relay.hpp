#pragma once
// Media anchored at the MC server: RTP, RTCP and floor control packets of a private call are
// received on the server's ports of one leg and sent from the ports of the other leg
// (TS 23.379 10.7: media passes the participating/controlling functions).
// [mcx-defined] Symmetric RTP (RFC 4961): a leg's packets are taken only from the address and
// port its SDP names for that stream; anything else is counted as foreign and dropped, so a
// stranger can neither inject media or floor control nor keep a call alive.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/error.hpp"
#include "net/endpoint.hpp"
#include "net/udp_socket.hpp"

namespace mcx::server {

enum class Leg : std::uint8_t { caller = 0, callee = 1 };
enum class MediaKind : std::uint8_t { audio_rtp = 0, audio_rtcp = 1, floor_control = 2 };
inline constexpr std::size_t kMediaKinds = 3;

class MediaRelay {
  public:
    struct Remote {
        net::Ipv4Endpoint audio_rtp;
        net::Ipv4Endpoint audio_rtcp;
        net::Ipv4Endpoint floor_control;
    };
    struct Counters {
        std::array<std::uint64_t, 2> forwarded{};  // by receiving leg
        std::uint64_t dropped = 0;                 // no destination
        std::uint64_t foreign = 0;        // not from the address the leg's SDP names: never used
        std::uint64_t gated = 0;          // audio from a leg without the floor
        std::uint64_t floor_packets = 0;  // handed to the floor control server
    };

    // Floor control packets go to this handler instead of the other leg (the controlling
    // function terminates floor control, TS 24.380 6.3).
    using FloorHandler = std::function<void(Leg from, std::span<const std::uint8_t> packet)>;
    // Decides per audio RTP packet whether it reaches the other leg (floor gating).
    using AudioGate = std::function<bool(Leg from)>;

    // Sees every floor control packet the relay receives from a party or sends (for --pcap).
    using FloorTrace =
        std::function<void(const net::Ipv4Endpoint& src, const net::Ipv4Endpoint& dst,
                           std::span<const std::uint8_t> packet)>;

    static Result<std::unique_ptr<MediaRelay>> create(const std::string& host);
    void set_floor_trace(FloorTrace trace) { floor_trace_ = std::move(trace); }
    void set_floor_handler(FloorHandler handler) { floor_handler_ = std::move(handler); }
    void set_audio_gate(AudioGate gate) { audio_gate_ = std::move(gate); }
    // Sends a floor control packet to a leg from that leg's floor control port.
    void send_floor(Leg to, std::span<const std::uint8_t> packet);

    std::uint16_t local_port(Leg leg, MediaKind kind) const;
    const std::string& host() const { return host_; }
    void set_remote(Leg leg, const Remote& remote);
    const Counters& counters() const { return counters_; }
    // Every packet from a party of this call, whatever became of it (foreign ones excluded).
    std::uint64_t packets_seen() const {
        return counters_.forwarded[0] + counters_.forwarded[1] + counters_.dropped +
               counters_.gated + counters_.floor_packets;
    }

  private:
    MediaRelay() = default;
    void forward(Leg from, MediaKind kind, const net::Ipv4Endpoint& source,
                 std::span<const std::uint8_t> packet);

    std::string host_;
    std::array<std::array<std::unique_ptr<net::UdpSocket>, kMediaKinds>, 2> sockets_;
    std::array<std::array<net::Ipv4Endpoint, kMediaKinds>, 2> remote_{};
    Counters counters_;
    FloorHandler floor_handler_;
    AudioGate audio_gate_;
    FloorTrace floor_trace_;
    void trace_floor(Leg leg, bool sent, const net::Ipv4Endpoint& remote,
                     std::span<const std::uint8_t> packet) const;
};

}  // namespace mcx::server
