#include "proto/warning.hpp"

#include <cctype>

namespace mcx::proto {

std::string_view warning_text(McWarning code) {
    switch (code) {
        case McWarning::function_not_allowed:
            return "function not allowed due to local policy";
        case McWarning::service_authorisation_failed:
            return "service authorisation failed";
        case McWarning::not_authorised_private_call:
            return "user not authorised to make private calls";
        case McWarning::user_declined:
            return "user declined the call invitation";
        case McWarning::max_private_calls_reached:
            return "maximum number of private calls reached";
        case McWarning::not_authorised_to_be_called:
            return "user not authorised to be called in private call";
        case McWarning::cannot_bind_identity:
            return "unable to bind the public user identity to an MCPTT ID";
        case McWarning::not_authorised_to_call_this_user:
            return "user not authorised to call this particular user";
        case McWarning::unable_to_determine_called_party:
            return "unable to determine called party";
        case McWarning::unable_to_determine_service_settings:
            return "T-PF unable to determine the service settings for the called user";
        case McWarning::not_authorised_with_interconnected_system:
            return "service not authorized with the interconnected system";
    }
    return "unknown";
}

std::string format_warning(std::string_view host, McWarning code) {
    return format_warning(host, code, {});
}

std::string format_warning(std::string_view host, McWarning code, std::string_view detail) {
    std::string text = std::to_string(static_cast<unsigned>(code)) + " ";
    text += warning_text(code);
    if (!detail.empty()) {
        text += ": ";
        text += detail;
    }
    // warn-text is a quoted-string: no raw quotes or backslashes inside.
    for (auto& c : text) {
        if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '\'';
    }
    return "399 " + std::string(host) + " \"" + text + "\"";
}

std::optional<ParsedWarning> parse_warning(std::string_view value) {
    ParsedWarning out;
    if (value.size() < 3 || !std::isdigit(static_cast<unsigned char>(value[0])) ||
        !std::isdigit(static_cast<unsigned char>(value[1])) ||
        !std::isdigit(static_cast<unsigned char>(value[2]))) {
        return std::nullopt;
    }
    out.warn_code = static_cast<std::uint16_t>((value[0] - '0') * 100 + (value[1] - '0') * 10 +
                                               (value[2] - '0'));
    const auto open = value.find('"');
    const auto close = value.rfind('"');
    if (open == std::string_view::npos || close == open) return std::nullopt;
    auto text = value.substr(open + 1, close - open - 1);
    if (text.size() >= 4 && std::isdigit(static_cast<unsigned char>(text[0])) &&
        std::isdigit(static_cast<unsigned char>(text[1])) &&
        std::isdigit(static_cast<unsigned char>(text[2])) && text[3] == ' ') {
        out.mc_code = static_cast<std::uint16_t>((text[0] - '0') * 100 + (text[1] - '0') * 10 +
                                                 (text[2] - '0'));
        text.remove_prefix(4);
    }
    out.text = std::string(text);
    return out;
}

}  // namespace mcx::proto
