#pragma once
// SIP header values of the MCPTT service (TS 24.379 / TS 24.229), kept in one place.

#include <string_view>

namespace mcx::proto {

// IMS communication service identifier of MCPTT (TS 24.379 4.2).
inline constexpr std::string_view kIcsiMcptt = "urn:urn-7:3gpp-service.ims.icsi.mcptt";

// Contact header parameters of an MCPTT client and server (TS 24.379 11.1.1.2.1.1 step 5).
inline constexpr std::string_view kMcpttContactParams =
    ";+g.3gpp.mcptt;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mcptt\"";

// Two separate Accept-Contact headers (TS 24.379 11.1.1.2.1.1 step 6) and P-Preferred-Service.
inline constexpr std::string_view kMcpttRequestHeaders =
    "Accept-Contact: *;+g.3gpp.mcptt;require;explicit\r\n"
    "Accept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mcptt\";require;"
    "explicit\r\n"
    "P-Preferred-Service: urn:urn-7:3gpp-service.ims.icsi.mcptt\r\n";

// Answer-Mode (RFC 5373) as TS 24.379 uses it for commencement modes.
inline constexpr std::string_view kAnswerModeAuto = "Auto";
inline constexpr std::string_view kAnswerModeManual = "Manual";

// The boundary MCX writes in multipart/mixed bodies.
inline constexpr std::string_view kMultipartBoundary = "mcx-boundary-7f3a";

}  // namespace mcx::proto
