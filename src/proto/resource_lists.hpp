#pragma once
// application/resource-lists+xml (RFC 4826): the callee of a private call is the single
// <entry uri> of the list (TS 24.379 H.3; more than one means first-to-answer).

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace mcx::proto {

inline constexpr std::string_view kResourceListsNamespace = "urn:ietf:params:xml:ns:resource-lists";

// Every <entry uri> of every <list>, in document order.
Result<std::vector<std::string>> parse_resource_lists(std::string_view xml);

std::string build_resource_lists(const std::vector<std::string>& uris);

}  // namespace mcx::proto
