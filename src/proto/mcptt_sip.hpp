#pragma once
// SIP header values of the MCPTT service (TS 24.379 / TS 24.229), kept in one place.

#include <string_view>

namespace mcx::proto {

// IMS communication service identifier of MCPTT (TS 24.379 4.2).
inline constexpr std::string_view kIcsiMcptt = "urn:urn-7:3gpp-service.ims.icsi.mcptt";

// Contact header parameters of an MCPTT client and server (TS 24.379 11.1.1.2.1.1 step 5).
inline constexpr std::string_view kMcpttContactParams =
    ";+g.3gpp.mcptt;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mcptt\"";

// Two separate Accept-Contact headers (TS 24.379 11.1.1.2.1.1 step 6), on the client's INVITE
// and on the one the server sends towards the callee.
inline constexpr std::string_view kMcpttAcceptContact =
    "Accept-Contact: *;+g.3gpp.mcptt;require;explicit\r\n"
    "Accept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mcptt\";require;"
    "explicit\r\n";
inline constexpr std::string_view kMcpttPreferredService =
    "P-Preferred-Service: urn:urn-7:3gpp-service.ims.icsi.mcptt\r\n";

// Answer-Mode (RFC 5373) as TS 24.379 uses it for commencement modes.
inline constexpr std::string_view kAnswerModeAuto = "Auto";
inline constexpr std::string_view kAnswerModeManual = "Manual";

// Whether an Answer-Mode header value asks for manual answer: RFC 5373 section 6 allows
// parameters after the value ("Manual;require"), and its ABNF literals are case-insensitive.
constexpr bool is_manual_answer_mode(std::string_view value) {
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (!value.empty() && blank(value.front())) value.remove_prefix(1);
    value = value.substr(0, value.find(';'));
    while (!value.empty() && blank(value.back())) value.remove_suffix(1);
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (value.size() != kAnswerModeManual.size()) return false;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (lower(value[i]) != lower(kAnswerModeManual[i])) return false;
    }
    return true;
}

// The boundary MCX writes in multipart/mixed bodies.
inline constexpr std::string_view kMultipartBoundary = "mcx-boundary-7f3a";

}  // namespace mcx::proto
