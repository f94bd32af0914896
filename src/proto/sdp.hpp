#pragma once
// Session description model (RFC 4566) used by the MC server and client logic. Parsing and
// printing are done by libre's SDP module in src/net/sdp_codec; this header stays pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mcx::proto {

enum class SdpDirection { sendrecv, sendonly, recvonly, inactive };

struct SdpFormat {
    std::string id;    // payload type number, or "MCPTT" on the floor control line
    std::string name;  // rtpmap encoding name, empty when there is no rtpmap
    std::uint32_t srate = 0;
    std::uint8_t channels = 1;
    std::string params;  // a=fmtp parameters

    bool operator==(const SdpFormat&) const = default;
};

struct SdpMedia {
    std::string type;  // "audio", "video", "application"
    std::uint16_t port = 0;
    std::string proto;                       // "RTP/AVP", "udp"
    std::string address;                     // connection address of this m-line (IPv4 literal)
    std::optional<std::uint16_t> rtcp_port;  // a=rtcp, when not port+1
    SdpDirection direction = SdpDirection::sendrecv;
    std::vector<SdpFormat> formats;
    std::vector<std::pair<std::string, std::string>> attributes;  // other a= lines

    std::uint16_t effective_rtcp_port() const {
        return rtcp_port ? *rtcp_port : static_cast<std::uint16_t>(port + 1);
    }
    bool operator==(const SdpMedia&) const = default;
};

struct SessionDescription {
    std::string address;  // session-level c= / o= address
    std::vector<SdpMedia> media;

    bool operator==(const SessionDescription&) const = default;
};

// TS 24.380 12.1: the media-plane control line "m=application <port> udp MCPTT".
inline constexpr std::string_view kFloorControlFormat = "MCPTT";

inline bool is_floor_control(const SdpMedia& m) {
    return m.type == "application" && m.proto == "udp" && !m.formats.empty() &&
           m.formats.front().id == kFloorControlFormat;
}

inline SdpMedia* find_audio(SessionDescription& sd) {
    for (auto& m : sd.media) {
        if (m.type == "audio" && m.port != 0) return &m;
    }
    return nullptr;
}
inline const SdpMedia* find_audio(const SessionDescription& sd) {
    return find_audio(const_cast<SessionDescription&>(sd));
}

inline SdpMedia* find_floor_control(SessionDescription& sd) {
    for (auto& m : sd.media) {
        if (is_floor_control(m) && m.port != 0) return &m;
    }
    return nullptr;
}
inline const SdpMedia* find_floor_control(const SessionDescription& sd) {
    return find_floor_control(const_cast<SessionDescription&>(sd));
}

}  // namespace mcx::proto
