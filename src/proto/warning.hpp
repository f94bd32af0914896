#pragma once
// 3GPP Warning header texts (TS 24.379 4.4): warn-code 399, warn-agent = the MC server's host,
// warn-text = "NNN <explanatory text>" with NNN from TS 24.379 Table 4.4.2-2.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mcx::proto {

enum class McWarning : std::uint16_t {
    function_not_allowed = 100,  // "function not allowed due to <reason>"
    service_authorisation_failed = 101,
    not_authorised_private_call = 107,
    user_declined = 110,
    max_private_calls_reached = 124,
    not_authorised_to_be_called = 127,
    cannot_bind_identity = 141,  // [mcx-defined] text, see docs/sip-profile.md
    not_authorised_to_call_this_user = 144,
    unable_to_determine_called_party = 145,
    unable_to_determine_service_settings = 146,
    not_authorised_with_interconnected_system = 179,  // Rel-17+
};

// The explanatory text of Table 4.4.2-2 (texts we could not verify are documented in docs/).
std::string_view warning_text(McWarning code);

// "399 host \"107 user not authorised to make private calls\"" — header value without name.
std::string format_warning(std::string_view host, McWarning code);
// Same with extra detail appended to the explanatory text.
std::string format_warning(std::string_view host, McWarning code, std::string_view detail);

struct ParsedWarning {
    std::uint16_t warn_code = 0;           // 399 for MC warnings
    std::optional<std::uint16_t> mc_code;  // NNN at the start of the text, if any
    std::string text;                      // quoted text without the code
};

std::optional<ParsedWarning> parse_warning(std::string_view header_value);

}  // namespace mcx::proto
