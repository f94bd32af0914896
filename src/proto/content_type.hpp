#pragma once
// Content-Type header value (RFC 2045 5.1): type/subtype plus parameters.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace mcx::proto {

inline constexpr std::string_view kMimeSdp = "application/sdp";
inline constexpr std::string_view kMimeMcpttInfo = "application/vnd.3gpp.mcptt-info+xml";
inline constexpr std::string_view kMimeResourceLists = "application/resource-lists+xml";
inline constexpr std::string_view kMimeMultipartMixed = "multipart/mixed";

struct ContentType {
    std::string media_type;                                   // lower-case "type/subtype"
    std::vector<std::pair<std::string, std::string>> params;  // names lower-case, values unquoted

    static Result<ContentType> parse(std::string_view value);
    std::optional<std::string> param(std::string_view name) const;
    bool is(std::string_view type) const { return media_type == type; }
};

}  // namespace mcx::proto
