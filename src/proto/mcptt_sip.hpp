#pragma once
// SIP header values of the MC services that are not per service (TS 24.379 / TS 24.229).

#include <string_view>

namespace mcx::proto {

// The service's ICSI, feature tag, Contact parameters and Accept-Contact lines:
// proto/mc_service.hpp.

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
