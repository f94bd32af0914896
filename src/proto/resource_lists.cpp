#include "proto/resource_lists.hpp"

#include <pugixml.hpp>

#include "proto/limits.hpp"
#include "proto/xml_util.hpp"

namespace mcx::proto {

Result<std::vector<std::string>> parse_resource_lists(std::string_view text) {
    pugi::xml_document doc;
    if (auto r = xml::parse(doc, text, "resource-lists"); !r) return tl::unexpected(r.error());
    const auto root = doc.document_element();
    if (xml::local_name(root) != "resource-lists" ||
        xml::namespace_uri(root) != kResourceListsNamespace) {
        return fail(Errc::malformed, "resource-lists: root is not <resource-lists> in namespace " +
                                         std::string(kResourceListsNamespace));
    }
    std::vector<std::string> uris;
    for (auto list : root.children()) {
        if (list.type() != pugi::node_element || xml::local_name(list) != "list") continue;
        for (auto entry : list.children()) {
            if (entry.type() != pugi::node_element || xml::local_name(entry) != "entry") continue;
            const auto uri = entry.attribute("uri");
            if (!uri || uri.value()[0] == '\0') {
                return fail(Errc::malformed, "resource-lists: <entry> without uri attribute");
            }
            if (uris.size() == kMaxResourceListEntries) {
                return fail(Errc::malformed, "resource-lists: too many entries");
            }
            uris.emplace_back(uri.value());
        }
    }
    return uris;
}

std::string build_resource_lists(const std::vector<std::string>& uris) {
    pugi::xml_document doc;
    auto root = xml::new_document(doc, "resource-lists", kResourceListsNamespace);
    auto list = root.append_child("list");
    for (const auto& uri : uris) list.append_child("entry").append_attribute("uri") = uri.c_str();
    return xml::to_string(doc);
}

}  // namespace mcx::proto
