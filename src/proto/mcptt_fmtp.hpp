#pragma once
// The fmtp parameters of the floor control m-line, "a=fmtp:MCPTT ..." (TS 24.380 12.1.2, 14):
// mc_queueing, mc_priority=<1..255>, mc_granted, mc_implicit_request.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace mcx::proto {

struct FloorControlParams {
    bool queueing = false;                 // mc_queueing
    std::optional<std::uint8_t> priority;  // mc_priority
    bool granted = false;                  // mc_granted
    bool implicit_request = false;         // mc_implicit_request

    bool operator==(const FloorControlParams&) const = default;
};

// Unknown parameters are skipped (RFC 4566 fmtp is extensible); a bad mc_priority is an error.
Result<FloorControlParams> parse_floor_control_params(std::string_view fmtp);
std::string format_floor_control_params(const FloorControlParams& params);

// The answerer's parameters (TS 24.380 12.1.2): queueing only if both support it, priority at
// most what was offered and what the answerer allows, no implicit request in an answer.
FloorControlParams answer_floor_control(const FloorControlParams& offer, bool answerer_queueing,
                                        std::uint8_t answerer_max_priority);

}  // namespace mcx::proto
