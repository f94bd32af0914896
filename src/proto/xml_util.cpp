#include "proto/xml_util.hpp"

#include <sstream>

#include "proto/limits.hpp"

namespace mcx::proto::xml {

Result<pugi::xml_document*> parse(pugi::xml_document& doc, std::string_view text,
                                  std::string_view what) {
    if (text.size() > kMaxXmlBytes) {
        return fail(Errc::malformed, std::string(what) + ": document larger than the limit");
    }
    const auto result =
        doc.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!result) {
        return fail(Errc::malformed, std::string(what) + ": " + result.description() +
                                         " at offset " + std::to_string(result.offset));
    }
    return &doc;
}

std::string_view local_name(const pugi::xml_node& node) {
    std::string_view name = node.name();
    const auto colon = name.find(':');
    return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

std::string namespace_uri(const pugi::xml_node& node) {
    std::string_view name = node.name();
    const auto colon = name.find(':');
    const std::string attr = colon == std::string_view::npos
                                 ? std::string("xmlns")
                                 : "xmlns:" + std::string(name.substr(0, colon));
    for (auto n = node; n; n = n.parent()) {
        if (auto a = n.attribute(attr.c_str())) return a.value();
    }
    return {};
}

pugi::xml_node child(const pugi::xml_node& parent, std::string_view local) {
    for (auto c : parent.children()) {
        if (c.type() == pugi::node_element && local_name(c) == local) return c;
    }
    return {};
}

pugi::xml_node new_document(pugi::xml_document& doc, const char* root, std::string_view ns) {
    auto decl = doc.append_child(pugi::node_declaration);
    decl.append_attribute("version") = "1.0";
    decl.append_attribute("encoding") = "UTF-8";
    auto node = doc.append_child(root);
    node.append_attribute("xmlns") = std::string(ns).c_str();
    return node;
}

std::string to_string(const pugi::xml_document& doc) {
    std::ostringstream out;
    doc.save(out, "  ", pugi::format_default, pugi::encoding_utf8);
    return out.str();
}

}  // namespace mcx::proto::xml
