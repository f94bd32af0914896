#pragma once
// SDP rewriting for anchored media (pure): each leg sees the MC server's address and ports.

#include <string>

#include "net/endpoint.hpp"
#include "proto/sdp.hpp"
#include "server/media_relay.hpp"

namespace mcx::server {

struct AnchorPorts {
    std::uint16_t audio_rtp = 0;
    std::uint16_t audio_rtcp = 0;
    std::uint16_t floor_control = 0;
};

// The SDP `remote` with its connection address replaced by `host` and its audio and floor
// control ports by ours. Other m-lines are disabled (port 0); formats and fmtp are kept.
proto::SessionDescription anchor_sdp(const proto::SessionDescription& remote,
                                     const std::string& host, const AnchorPorts& ports);

// Where a party wants its media: audio RTP, audio RTCP and floor control addresses.
MediaRelay::Remote media_destinations(const proto::SessionDescription& sd);

}  // namespace mcx::server
