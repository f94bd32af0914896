#pragma once
// Small helpers over pugixml for namespace-qualified documents whose senders pick any prefix.

#include <string>
#include <string_view>

#include <pugixml.hpp>

#include "common/error.hpp"

namespace mcx::proto::xml {

// Parses untrusted XML with a size cap; the error names the byte offset.
Result<pugi::xml_document*> parse(pugi::xml_document& doc, std::string_view text,
                                  std::string_view what);

// Element name without its prefix ("mcptt:entry" -> "entry").
std::string_view local_name(const pugi::xml_node& node);

// Namespace URI bound to the node's prefix, looked up through its ancestors.
std::string namespace_uri(const pugi::xml_node& node);

// First child element with the given local name, or an empty node.
pugi::xml_node child(const pugi::xml_node& parent, std::string_view local);

// A document with the XML declaration (version 1.0, UTF-8) and a root element in `ns`.
pugi::xml_node new_document(pugi::xml_document& doc, const char* root, std::string_view ns);

std::string to_string(const pugi::xml_document& doc);

}  // namespace mcx::proto::xml
