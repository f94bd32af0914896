#pragma once
// Where the media relay may send (issue 16, docs/security.md): to the address the signalling
// of that leg came from, or into a network the configuration names for it. Any other c= in an
// offer or answer would let a user aim the relay's RTP and floor control at a third party.

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/ipv4_network.hpp"
#include "proto/sdp.hpp"

namespace mcx::server {

// Every media line with a non-zero port (its own c= or the session's) must name
// `signalling_host` or an address inside one of `allowed`. Errc::forbidden with the reason.
Result<void> check_media_addresses(const proto::SessionDescription& sd,
                                   const std::string& signalling_host,
                                   const std::vector<Ipv4Network>& allowed);

}  // namespace mcx::server
