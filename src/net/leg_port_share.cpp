#include "net/leg_port_share.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace mcx::net::port_share {

namespace {

constexpr std::string_view kFrameMagic = "MCXLEG1 ";
constexpr std::size_t kMaxFrameLine = 80;  // "MCXLEG1 " + an IPv6 literal + " " + a port

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

// One header line of the message's header section: [begin, end) without its line break.
struct Line {
    std::size_t begin = 0;
    std::size_t end = 0;
};

// The header lines after the start line, up to the empty line (RFC 3261 7: CRLF-separated;
// a bare LF is tolerated). Calls `visit(line)` until it returns false.
template <class Visit>
void for_each_header(std::string_view message, Visit visit) {
    std::size_t at = message.find('\n');
    while (at != std::string_view::npos && at + 1 < message.size()) {
        const std::size_t begin = at + 1;
        std::size_t next = message.find('\n', begin);
        std::size_t end = next == std::string_view::npos ? message.size() : next;
        if (end > begin && message[end - 1] == '\r') --end;
        if (end == begin) return;  // the empty line: the body follows
        if (!visit(Line{begin, end})) return;
        at = next;
    }
}

// Whether `line` is a header named `full` or `compact`; `value_at` is where its value starts.
bool header_named(std::string_view message, const Line& line, std::string_view full,
                  std::string_view compact, std::size_t& value_at) {
    const auto text = message.substr(line.begin, line.end - line.begin);
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return false;
    const auto name = trim(text.substr(0, colon));
    if (!iequals(name, full) && !iequals(name, compact)) return false;
    value_at = line.begin + colon + 1;
    while (value_at < line.end && (message[value_at] == ' ' || message[value_at] == '\t')) {
        ++value_at;
    }
    return true;
}

// Whether `text` has the parameter ";mcx-leg" (any case), ending at a delimiter.
bool has_mark(std::string_view text) {
    for (std::size_t at = text.find(';'); at != std::string_view::npos;
         at = text.find(';', at + 1)) {
        auto rest = text.substr(at + 1);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
            rest.remove_prefix(1);
        if (rest.size() < kLegMark.size() || !iequals(rest.substr(0, kLegMark.size()), kLegMark)) {
            continue;
        }
        if (rest.size() == kLegMark.size()) return true;
        const char after = rest[kLegMark.size()];
        if (after == ';' || after == ',' || after == ' ' || after == '\t' || after == '=' ||
            after == '>' || after == '?' || after == '\r') {
            return true;
        }
    }
    return false;
}

bool ends_host_port(std::string_view message, std::size_t at) {
    if (at >= message.size()) return true;
    const char c = message[at];
    return c == ';' || c == ',' || c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

std::string host_port(const Endpoint& endpoint) {
    const auto port = std::to_string(endpoint.port);
    if (endpoint.host.find(':') != std::string::npos) return "[" + endpoint.host + "]:" + port;
    return endpoint.host + ":" + port;
}

std::optional<std::string> to_main_port(std::string_view datagram, std::string_view leg,
                                        std::string_view main) {
    if (datagram.substr(0, 8) == "SIP/2.0 " || leg.empty()) return std::nullopt;
    // Replacements as (offset, length of `leg`), in message order.
    std::size_t via_at = std::string_view::npos;
    std::size_t contact_at = std::string_view::npos;
    bool via_seen = false;
    bool contact_seen = false;
    for_each_header(datagram, [&](const Line& line) {
        std::size_t value = 0;
        if (!via_seen && header_named(datagram, line, "Via", "v", value)) {
            via_seen = true;
            // "SIP/2.0/UDP" LWS sent-by (RFC 3261 20.42)
            auto protocol_end = datagram.find_first_of(" \t", value);
            if (protocol_end != std::string_view::npos && protocol_end < line.end) {
                auto sent_by = datagram.find_first_not_of(" \t", protocol_end);
                if (sent_by != std::string_view::npos &&
                    datagram.compare(sent_by, leg.size(), leg) == 0 &&
                    ends_host_port(datagram, sent_by + leg.size())) {
                    via_at = sent_by;
                }
            }
        } else if (!contact_seen && header_named(datagram, line, "Contact", "m", value)) {
            contact_seen = true;
            const auto text = datagram.substr(value, line.end - value);
            for (std::size_t at = text.find(leg); at != std::string_view::npos;
                 at = text.find(leg, at + 1)) {
                const bool after_user = at > 0 && text[at - 1] == '@';
                const bool after_scheme = at >= 4 && iequals(text.substr(at - 4, 4), "sip:");
                if ((after_user || after_scheme) &&
                    ends_host_port(datagram, value + at + leg.size())) {
                    contact_at = value + at;
                    break;
                }
            }
        }
        return !(via_seen && contact_seen);
    });
    if (via_at == std::string_view::npos && contact_at == std::string_view::npos) {
        return std::nullopt;
    }
    std::string replacement(main);
    replacement += ';';
    replacement += kLegMark;
    std::string out;
    out.reserve(datagram.size() + 2 * replacement.size());
    std::size_t copied = 0;
    for (const auto at : {std::min(via_at, contact_at), std::max(via_at, contact_at)}) {
        if (at == std::string_view::npos) continue;
        out.append(datagram.substr(copied, at - copied));
        out += replacement;
        copied = at + leg.size();
    }
    out.append(datagram.substr(copied));
    return out;
}

bool for_leg(std::string_view datagram) {
    if (datagram.substr(0, 8) == "SIP/2.0 ") {
        bool marked = false;
        for_each_header(datagram, [&](const Line& line) {
            std::size_t value = 0;
            if (!header_named(datagram, line, "Via", "v", value)) return true;
            auto top = datagram.substr(value, line.end - value);
            top = top.substr(0, top.find(','));
            marked = has_mark(top);
            return false;
        });
        return marked;
    }
    // "Method SP Request-URI SP SIP-Version" (RFC 3261 7.1)
    const auto line = datagram.substr(0, datagram.find('\n'));
    const auto uri_at = line.find(' ');
    if (uri_at == std::string_view::npos) return false;
    auto uri = line.substr(uri_at + 1);
    uri = uri.substr(0, uri.find(' '));
    return has_mark(uri);
}

std::string frame(const Endpoint& source, std::string_view datagram) {
    std::string out(kFrameMagic);
    out += source.host;
    out += ' ';
    out += std::to_string(source.port);
    out += '\n';
    out.append(datagram);
    return out;
}

std::optional<Unframed> unframe(std::string_view bytes) {
    if (bytes.substr(0, kFrameMagic.size()) != kFrameMagic) return std::nullopt;
    const auto line_end = bytes.find('\n');
    if (line_end == std::string_view::npos || line_end > kMaxFrameLine) return std::nullopt;
    const auto line = bytes.substr(kFrameMagic.size(), line_end - kFrameMagic.size());
    const auto space = line.rfind(' ');
    if (space == std::string_view::npos || space == 0) return std::nullopt;
    const auto port_text = line.substr(space + 1);
    unsigned port = 0;
    const auto parsed =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (parsed.ec != std::errc{} || parsed.ptr != port_text.data() + port_text.size() ||
        port == 0 || port > 65535) {
        return std::nullopt;
    }
    Unframed out;
    out.source = Endpoint{std::string(line.substr(0, space)), static_cast<std::uint16_t>(port)};
    out.offset = line_end + 1;
    return out;
}

}  // namespace mcx::net::port_share
