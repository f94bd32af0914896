#include "server/media_relay.hpp"

namespace mcx::server {

namespace {
constexpr std::size_t idx(Leg leg) {
    return static_cast<std::size_t>(leg);
}
constexpr std::size_t idx(MediaKind kind) {
    return static_cast<std::size_t>(kind);
}
constexpr Leg other(Leg leg) {
    return leg == Leg::caller ? Leg::callee : Leg::caller;
}
}  // namespace

Result<std::unique_ptr<MediaRelay>> MediaRelay::create(const std::string& host) {
    std::unique_ptr<MediaRelay> relay(new MediaRelay());
    relay->host_ = host;
    for (Leg leg : {Leg::caller, Leg::callee}) {
        auto* self = relay.get();
        auto handler = [self, leg](MediaKind kind) {
            return [self, leg, kind](const net::Ipv4Endpoint& from,
                                     std::span<const std::uint8_t> packet) {
                self->forward(leg, kind, from, packet);
            };
        };
        auto pair = net::UdpSocket::bind_pair(host, handler(MediaKind::audio_rtp),
                                              handler(MediaKind::audio_rtcp));
        if (!pair) return tl::unexpected(pair.error());
        auto floor = net::UdpSocket::bind(host, 0, handler(MediaKind::floor_control));
        if (!floor) return tl::unexpected(floor.error());
        relay->sockets_[idx(leg)][idx(MediaKind::audio_rtp)] = std::move(pair->first);
        relay->sockets_[idx(leg)][idx(MediaKind::audio_rtcp)] = std::move(pair->second);
        relay->sockets_[idx(leg)][idx(MediaKind::floor_control)] = std::move(*floor);
    }
    return relay;
}

std::uint16_t MediaRelay::local_port(Leg leg, MediaKind kind) const {
    return sockets_[idx(leg)][idx(kind)]->local().port;
}

void MediaRelay::set_remote(Leg leg, const Remote& remote) {
    remote_[idx(leg)][idx(MediaKind::audio_rtp)] = remote.audio_rtp;
    remote_[idx(leg)][idx(MediaKind::audio_rtcp)] = remote.audio_rtcp;
    remote_[idx(leg)][idx(MediaKind::floor_control)] = remote.floor_control;
}

void MediaRelay::trace_floor(Leg leg, bool sent, const net::Ipv4Endpoint& remote,
                             std::span<const std::uint8_t> packet) const {
    if (!floor_trace_) return;
    const auto local = net::to_ipv4(sockets_[idx(leg)][idx(MediaKind::floor_control)]->local());
    if (sent) {
        floor_trace_(local, remote, packet);
    } else {
        floor_trace_(remote, local, packet);
    }
}

void MediaRelay::send_floor(Leg to, std::span<const std::uint8_t> packet) {
    const auto& destination = remote_[idx(to)][idx(MediaKind::floor_control)];
    if (!destination.valid()) {
        ++counters_.dropped;
        return;
    }
    sockets_[idx(to)][idx(MediaKind::floor_control)]->send_to(destination, packet);
    trace_floor(to, true, destination, packet);
}

void MediaRelay::forward(Leg from, MediaKind kind, const net::Ipv4Endpoint& source,
                         std::span<const std::uint8_t> packet) {
    if (source != remote_[idx(from)][idx(kind)]) {
        ++counters_.foreign;
        return;
    }
    if (kind == MediaKind::floor_control) trace_floor(from, false, source, packet);
    if (kind == MediaKind::floor_control && floor_handler_) {
        ++counters_.floor_packets;
        floor_handler_(from, packet);
        return;
    }
    if (kind == MediaKind::audio_rtp && audio_gate_ && !audio_gate_(from)) {
        ++counters_.gated;
        return;
    }
    const Leg to = other(from);
    const auto& destination = remote_[idx(to)][idx(kind)];
    if (!destination.valid()) {
        ++counters_.dropped;
        return;
    }
    sockets_[idx(to)][idx(kind)]->send_to(destination, packet);
    if (kind == MediaKind::floor_control) trace_floor(to, true, destination, packet);
    ++counters_.forwarded[idx(from)];
}

}  // namespace mcx::server
