#include "server/media_anchor.hpp"

namespace mcx::server {

proto::SessionDescription anchor_sdp(const proto::SessionDescription& remote,
                                     const std::string& host, const AnchorPorts& ports) {
    proto::SessionDescription out = remote;
    out.address = host;
    bool audio_done = false;
    bool floor_done = false;
    for (auto& media : out.media) {
        media.address = host;
        if (media.type == "audio" && media.port != 0 && !audio_done) {
            media.port = ports.audio_rtp;
            media.rtcp_port = ports.audio_rtcp == ports.audio_rtp + 1
                                  ? std::nullopt
                                  : std::optional<std::uint16_t>(ports.audio_rtcp);
            audio_done = true;
        } else if (proto::is_floor_control(media) && media.port != 0 && !floor_done) {
            media.port = ports.floor_control;
            media.rtcp_port.reset();
            floor_done = true;
        } else {
            media.port = 0;  // not relayed: refused (RFC 3264 6)
        }
    }
    return out;
}

MediaRelay::Remote media_destinations(const proto::SessionDescription& sd) {
    MediaRelay::Remote remote;
    auto address_of = [&sd](const proto::SdpMedia& m) {
        return m.address.empty() ? sd.address : m.address;
    };
    if (const auto* audio = proto::find_audio(sd)) {
        remote.audio_rtp = net::to_ipv4(net::Endpoint{address_of(*audio), audio->port});
        remote.audio_rtcp =
            net::to_ipv4(net::Endpoint{address_of(*audio), audio->effective_rtcp_port()});
    }
    if (const auto* floor = proto::find_floor_control(sd)) {
        remote.floor_control = net::to_ipv4(net::Endpoint{address_of(*floor), floor->port});
    }
    return remote;
}

}  // namespace mcx::server
