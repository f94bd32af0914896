// Fuzzes the SDP decoder (libre's parser behind net::decode_sdp) and what the MC server reads of
// an offer: the audio line, the floor control line and its a=fmtp:MCPTT (TS 24.380 12.1).
// Invariants: a decoded description has an m-line, each media address is empty or an IP
// literal, and one that re-encodes decodes again to the same media lines, ports and
// formats (formats only of enabled lines).
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/sdp_codec.hpp"
#include "proto/mcptt_fmtp.hpp"
#include "proto/sdp.hpp"

namespace {

bool ip_literal(const std::string& text) {
    unsigned char buffer[16];
    return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
           inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 8192) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto sd = mcx::net::decode_sdp(text);
    if (!sd) return 0;
    if (sd->media.empty()) __builtin_trap();
    for (const auto& media : sd->media) {
        if (!media.address.empty() && !ip_literal(media.address)) __builtin_trap();
    }
    if (!sd->address.empty() && !ip_literal(sd->address)) __builtin_trap();
    (void)mcx::proto::find_audio(*sd);
    if (const auto* floor = mcx::proto::find_floor_control(*sd)) {
        if (auto params = mcx::proto::parse_floor_control_params(floor->formats.front().params)) {
            (void)mcx::proto::format_floor_control_params(*params);
        }
    }
    if (sd->address.empty()) return 0;
    auto text_again = mcx::net::encode_sdp(*sd);
    if (!text_again) return 0;
    auto again = mcx::net::decode_sdp(*text_again);
    if (!again || again->media.size() != sd->media.size()) __builtin_trap();
    for (std::size_t i = 0; i < sd->media.size(); ++i) {
        const auto& a = sd->media[i];
        const auto& b = again->media[i];
        if (a.type != b.type || a.proto != b.proto) __builtin_trap();
        // libre prints a line without formats as disabled (port 0), and a disabled line
        // (RFC 3264 6) without its formats.
        if (a.port == 0 || a.formats.empty()) continue;
        if (a.port != b.port) __builtin_trap();
        if (a.formats.size() != b.formats.size()) __builtin_trap();
        for (std::size_t f = 0; f < a.formats.size(); ++f) {
            if (a.formats[f].id != b.formats[f].id) __builtin_trap();
        }
    }
    return 0;
}
