#include "proto/content_type.hpp"

#include <algorithm>
#include <cctype>

namespace mcx::proto {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool is_token(std::string_view s) {
    // RFC 2045 token: any CHAR except SPACE, CTLs, or tspecials.
    constexpr std::string_view tspecials = "()<>@,;:\\\"/[]?=";
    return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 32 && u < 127 && tspecials.find(c) == std::string_view::npos;
    });
}

}  // namespace

Result<ContentType> ContentType::parse(std::string_view value) {
    ContentType ct;
    auto semicolon = value.find(';');
    const auto type = trim(value.substr(0, semicolon));
    const auto slash = type.find('/');
    if (slash == std::string_view::npos || !is_token(type.substr(0, slash)) ||
        !is_token(type.substr(slash + 1))) {
        return fail(Errc::malformed, "Content-Type is not type/subtype");
    }
    ct.media_type = lower(type);
    while (semicolon != std::string_view::npos) {
        value.remove_prefix(semicolon + 1);
        // A quoted value may contain ';'.
        const auto eq = value.find('=');
        if (eq == std::string_view::npos) {
            return fail(Errc::malformed, "Content-Type parameter without '='");
        }
        const auto name = trim(value.substr(0, eq));
        auto rest = value.substr(eq + 1);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
            rest.remove_prefix(1);
        std::string param_value;
        if (!rest.empty() && rest.front() == '"') {
            const auto close = rest.find('"', 1);
            if (close == std::string_view::npos) {
                return fail(Errc::malformed, "Content-Type parameter with unterminated quote");
            }
            param_value = std::string(rest.substr(1, close - 1));
            const auto after = rest.substr(close + 1);
            semicolon = after.find(';');
            if (!trim(after.substr(0, semicolon)).empty()) {
                return fail(Errc::malformed, "Content-Type parameter has text after quote");
            }
            value = after;
        } else {
            semicolon = rest.find(';');
            param_value = std::string(trim(rest.substr(0, semicolon)));
            value = rest;
            if (!is_token(param_value)) {
                return fail(Errc::malformed, "Content-Type parameter value is not a token");
            }
        }
        if (!is_token(name)) {
            return fail(Errc::malformed, "Content-Type parameter name is not a token");
        }
        ct.params.emplace_back(lower(name), std::move(param_value));
    }
    return ct;
}

std::optional<std::string> ContentType::param(std::string_view name) const {
    for (const auto& [key, value] : params) {
        if (key == name) return value;
    }
    return std::nullopt;
}

}  // namespace mcx::proto
