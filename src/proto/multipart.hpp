#pragma once
// multipart/mixed bodies (RFC 2046 5.1) as TS 24.379 uses them: SDP + mcptt-info +
// resource-lists in one INVITE (TS 24.379 H.3).

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "proto/content_type.hpp"

namespace mcx::proto {

struct BodyPart {
    std::string content_type;  // the part's Content-Type value as sent
    std::string body;
};

// Splits a multipart body. `boundary` comes from the Content-Type's boundary parameter.
// Rejects missing delimiters, missing close delimiter, parts without Content-Type, more than
// kMaxMultipartParts parts; never reads past `body`.
Result<std::vector<BodyPart>> parse_multipart(std::string_view body, std::string_view boundary);

// Builds a multipart body with CRLF line ends and a close delimiter.
std::string build_multipart(const std::vector<BodyPart>& parts, std::string_view boundary);

// Returns the parts of a SIP message body: the parts of a multipart/mixed body, or the body
// itself as a single part.
Result<std::vector<BodyPart>> split_body(std::string_view content_type, std::string_view body);

// First part of the given media type, or nullptr.
const BodyPart* find_part(const std::vector<BodyPart>& parts, std::string_view media_type);

}  // namespace mcx::proto
