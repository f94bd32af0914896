#include "proto/reason.hpp"

#include <cctype>
#include <charconv>

namespace mcx::proto {

namespace {

constexpr std::size_t kMaxReasonLength = 512;

bool is_token_char(char c) {
    // RFC 3261 25.1 token characters.
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

const char* cause_text(McxReleaseCause cause) {
    switch (cause) {
        case McxReleaseCause::suspended_for_migration:
            return "suspended for migration";
        case McxReleaseCause::not_resumed:
            return "suspended call not resumed in time";
    }
    return "";
}

}  // namespace

Result<ReasonValue> parse_reason(std::string_view value) {
    if (value.size() > kMaxReasonLength) return fail(Errc::malformed, "Reason header too long");
    ReasonValue out;
    std::size_t i = 0;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    const auto start = i;
    while (i < value.size() && is_token_char(value[i])) ++i;
    out.protocol = std::string(value.substr(start, i - start));
    if (out.protocol.empty()) return fail(Errc::malformed, "Reason header has no protocol");
    // Parameters up to the end or the next reason-value (a comma outside quotes).
    while (i < value.size()) {
        while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
        if (i >= value.size() || value[i] == ',') break;
        if (value[i] != ';') return fail(Errc::malformed, "Reason header: ';' expected");
        ++i;
        const auto name_start = i;
        while (i < value.size() && value[i] != '=' && value[i] != ';' && value[i] != ',') ++i;
        const auto name = trim(value.substr(name_start, i - name_start));
        std::string param;
        if (i < value.size() && value[i] == '=') {
            ++i;
            while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
            if (i < value.size() && value[i] == '"') {
                ++i;
                bool closed = false;
                while (i < value.size()) {
                    if (value[i] == '\\' && i + 1 < value.size()) {
                        param += value[i + 1];
                        i += 2;
                    } else if (value[i] == '"') {
                        ++i;
                        closed = true;
                        break;
                    } else {
                        param += value[i++];
                    }
                }
                if (!closed) return fail(Errc::malformed, "Reason header: unterminated text");
            } else {
                // gen-value = token / host (RFC 3261 25.1); reason-text must be quoted.
                const auto v = i;
                while (i < value.size() && value[i] != ';' && value[i] != ',') ++i;
                param = std::string(trim(value.substr(v, i - v)));
                for (char c : param) {
                    if (!is_token_char(c) && c != ':' && c != '[' && c != ']') {
                        return fail(Errc::malformed, "Reason header: bad parameter value");
                    }
                }
                if (name == "text") {
                    return fail(Errc::malformed, "Reason header: text must be quoted");
                }
            }
        }
        if (name == "cause") {
            std::uint16_t cause = 0;
            auto [p, ec] = std::from_chars(param.data(), param.data() + param.size(), cause);
            if (ec != std::errc() || p != param.data() + param.size()) {
                return fail(Errc::malformed, "Reason header: cause is not a number");
            }
            out.cause = cause;
        } else if (name == "text") {
            out.text = std::move(param);
        }
    }
    return out;
}

std::string format_reason(const ReasonValue& reason) {
    std::string out = reason.protocol;
    if (reason.cause) out += " ;cause=" + std::to_string(*reason.cause);
    if (!reason.text.empty()) {
        out += " ;text=\"";
        for (char c : reason.text) {
            if (c == '"' || c == '\\') out += '\\';
            if (static_cast<unsigned char>(c) >= 0x20) out += c;
        }
        out += '"';
    }
    return out;
}

ReasonValue mcx_reason(McxReleaseCause cause) {
    return ReasonValue{std::string(kMcxReasonProtocol), static_cast<std::uint16_t>(cause),
                       cause_text(cause)};
}

std::optional<McxReleaseCause> mcx_release_cause(const ReasonValue& reason) {
    if (reason.protocol != kMcxReasonProtocol || !reason.cause) return std::nullopt;
    switch (static_cast<McxReleaseCause>(*reason.cause)) {
        case McxReleaseCause::suspended_for_migration:
        case McxReleaseCause::not_resumed:
            return static_cast<McxReleaseCause>(*reason.cause);
    }
    return std::nullopt;
}

}  // namespace mcx::proto
