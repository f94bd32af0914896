#include "proto/multipart.hpp"

#include <algorithm>
#include <cctype>

#include "proto/limits.hpp"

namespace mcx::proto {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// Position just after the line end at `pos` (CRLF, or a bare LF from lenient senders).
std::size_t skip_line_end(std::string_view s, std::size_t pos) {
    if (pos < s.size() && s[pos] == '\r') ++pos;
    if (pos < s.size() && s[pos] == '\n') ++pos;
    return pos;
}

// Finds the next delimiter line "--boundary" that starts a line, at or after `from`.
std::size_t find_delimiter(std::string_view body, std::string_view dash_boundary,
                           std::size_t from) {
    while (true) {
        const auto pos = body.find(dash_boundary, from);
        if (pos == std::string_view::npos) return pos;
        if (pos == 0 || body[pos - 1] == '\n') return pos;
        from = pos + 1;
    }
}

Result<BodyPart> parse_part(std::string_view text) {
    BodyPart part;
    std::size_t pos = 0;
    bool have_type = false;
    while (true) {
        const auto eol = text.find('\n', pos);
        if (eol == std::string_view::npos) {
            return fail(Errc::malformed, "multipart: part headers not terminated by empty line");
        }
        auto line = text.substr(pos, eol - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = eol + 1;
        if (line.empty()) break;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            return fail(Errc::malformed, "multipart: part header without ':'");
        }
        auto name = line.substr(0, colon);
        auto value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
            value.remove_prefix(1);
        }
        if (iequals(name, "Content-Type") || iequals(name, "c")) {
            if (!ContentType::parse(value)) {
                return fail(Errc::malformed, "multipart: part has an invalid Content-Type");
            }
            part.content_type = std::string(value);
            have_type = true;
        }
    }
    if (!have_type) {
        return fail(Errc::malformed, "multipart: part without Content-Type");
    }
    part.body = std::string(text.substr(pos));
    return part;
}

}  // namespace

Result<std::vector<BodyPart>> parse_multipart(std::string_view body, std::string_view boundary) {
    if (boundary.empty() || boundary.size() > 70) {
        return fail(Errc::malformed, "multipart: boundary must be 1 to 70 characters");
    }
    if (body.size() > kMaxSipBodyBytes) {
        return fail(Errc::malformed, "multipart: body larger than the limit");
    }
    const std::string dash_boundary = "--" + std::string(boundary);
    auto pos = find_delimiter(body, dash_boundary, 0);
    if (pos == std::string_view::npos) {
        return fail(Errc::malformed, "multipart: no boundary delimiter in body");
    }
    std::vector<BodyPart> parts;
    while (true) {
        auto after = pos + dash_boundary.size();
        if (body.substr(after, 2) == "--") {
            break;  // close delimiter
        }
        // Transport padding (spaces) may follow the delimiter (RFC 2046 5.1.1).
        while (after < body.size() && (body[after] == ' ' || body[after] == '\t')) ++after;
        if (after >= body.size() || (body[after] != '\r' && body[after] != '\n')) {
            return fail(Errc::malformed, "multipart: delimiter not followed by a line end");
        }
        const auto start = skip_line_end(body, after);
        const auto next = find_delimiter(body, dash_boundary, start);
        if (next == std::string_view::npos) {
            return fail(Errc::malformed, "multipart: missing close delimiter");
        }
        // The line end before a delimiter belongs to the delimiter.
        auto end = next;
        if (end > start && body[end - 1] == '\n') --end;
        if (end > start && body[end - 1] == '\r') --end;
        if (parts.size() == kMaxMultipartParts) {
            return fail(Errc::malformed, "multipart: too many parts");
        }
        auto part = parse_part(body.substr(start, end - start));
        if (!part) return tl::unexpected(part.error());
        parts.push_back(std::move(*part));
        pos = next;
    }
    if (parts.empty()) {
        return fail(Errc::malformed, "multipart: no body parts");
    }
    return parts;
}

std::string build_multipart(const std::vector<BodyPart>& parts, std::string_view boundary) {
    std::string out;
    for (const auto& part : parts) {
        out += "--";
        out += boundary;
        out += "\r\nContent-Type: ";
        out += part.content_type;
        out += "\r\n\r\n";
        out += part.body;
        out += "\r\n";
    }
    out += "--";
    out += boundary;
    out += "--\r\n";
    return out;
}

Result<std::vector<BodyPart>> split_body(std::string_view content_type, std::string_view body) {
    auto ct = ContentType::parse(content_type);
    if (!ct) return tl::unexpected(ct.error());
    if (ct->is(kMimeMultipartMixed)) {
        const auto boundary = ct->param("boundary");
        if (!boundary) {
            return fail(Errc::malformed, "multipart/mixed without boundary parameter");
        }
        return parse_multipart(body, *boundary);
    }
    return std::vector<BodyPart>{BodyPart{std::string(content_type), std::string(body)}};
}

const BodyPart* find_part(const std::vector<BodyPart>& parts, std::string_view media_type) {
    for (const auto& part : parts) {
        auto ct = ContentType::parse(part.content_type);
        if (ct && ct->is(media_type)) return &part;
    }
    return nullptr;
}

}  // namespace mcx::proto
