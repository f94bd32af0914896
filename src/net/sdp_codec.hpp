#pragma once
// SDP text <-> proto::SessionDescription, using libre's SDP parser and printer.

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "proto/sdp.hpp"

namespace mcx::net {

Result<proto::SessionDescription> decode_sdp(std::string_view text);

// Prints every m-line with its formats; the floor control line's a=fmtp:MCPTT is printed as
// libre prints no fmtp for formats without rtpmap.
Result<std::string> encode_sdp(const proto::SessionDescription& sd);

}  // namespace mcx::net
