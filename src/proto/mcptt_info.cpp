#include "proto/mcptt_info.hpp"

#include <pugixml.hpp>

#include "proto/xml_util.hpp"

namespace mcx::proto {

namespace {

constexpr const char* kWhat = "mcptt-info";

// contentType (F.1): a choice of <mcpttURI>, <mcpttString>, <mcpttBoolean>, or flat text.
Result<std::string> content_value(const pugi::xml_node& element) {
    for (const auto* choice : {"mcpttURI", "mcpttString", "mcpttBoolean"}) {
        if (auto c = xml::child(element, choice)) return std::string(c.text().get());
    }
    if (xml::child(element, "EncryptedData") ||
        element.first_child().type() == pugi::node_element) {
        return fail(Errc::unsupported,
                    std::string(kWhat) + ": <" + element.name() + "> has unsupported content");
    }
    return std::string(element.text().get());
}

Result<std::optional<std::string>> optional_value(const pugi::xml_node& params, const char* local) {
    auto element = xml::child(params, local);
    if (!element) return std::optional<std::string>{};
    auto v = content_value(element);
    if (!v) return tl::unexpected(v.error());
    return std::optional<std::string>{std::move(*v)};
}

void add_content(pugi::xml_node& params, const char* name, const char* choice,
                 const std::optional<std::string>& value) {
    if (!value) return;
    auto element = params.append_child(name);
    element.append_attribute("type") = "Normal";
    element.append_child(choice).text().set(value->c_str());
}

// Children of <mcpttinfo> in our namespace; elements of other namespaces are ignored.
Result<McxCallInfo> parse_mcx_call_info(const pugi::xml_node& root) {
    McxCallInfo mcx;
    for (auto node = root.first_child(); node; node = node.next_sibling()) {
        if (node.type() != pugi::node_element || xml::namespace_uri(node) != kMcxCallNamespace) {
            continue;
        }
        const auto name = xml::local_name(node);
        if (name == "call-ref" || name == "primary-id") {
            std::string value = node.text().get();
            if (value.empty() || value.size() > 256) {
                return fail(Errc::malformed, std::string(kWhat) + ": <mcx:" + std::string(name) +
                                                 "> is empty or too long");
            }
            (name == "call-ref" ? mcx.call_ref : mcx.primary_id) = std::move(value);
        } else if (name == "resumes") {
            std::string previous = node.attribute("previous-id").value();
            if (previous.empty() || previous.size() > 256) {
                return fail(Errc::malformed,
                            std::string(kWhat) + ": <mcx:resumes> needs a previous-id");
            }
            mcx.resumes_previous_id = std::move(previous);
        }
    }
    return mcx;
}

}  // namespace

Result<McpttInfo> parse_mcptt_info(std::string_view text) {
    pugi::xml_document doc;
    if (auto r = xml::parse(doc, text, kWhat); !r) return tl::unexpected(r.error());
    const auto root = doc.document_element();
    if (xml::local_name(root) != "mcpttinfo") {
        return fail(Errc::malformed, std::string(kWhat) + ": root element is not <mcpttinfo>");
    }
    if (xml::namespace_uri(root) != kMcpttInfoNamespace) {
        return fail(Errc::malformed, std::string(kWhat) + ": root is not in namespace " +
                                         std::string(kMcpttInfoNamespace));
    }
    McpttInfo info;
    auto mcx = parse_mcx_call_info(root);
    if (!mcx) return tl::unexpected(mcx.error());
    info.mcx = std::move(*mcx);
    const auto params = xml::child(root, "mcptt-Params");
    if (!params) return info;

    struct Field {
        const char* element;
        std::optional<std::string> McpttInfo::*member;
    };
    static constexpr Field fields[] = {
        {"mcptt-access-token", &McpttInfo::access_token},
        {"session-type", &McpttInfo::session_type},
        {"mcptt-request-uri", &McpttInfo::request_uri},
        {"mcptt-calling-user-id", &McpttInfo::calling_user_id},
        {"mcptt-called-party-id", &McpttInfo::called_party_id},
        {"mcptt-client-id", &McpttInfo::client_id},
    };
    for (const auto& field : fields) {
        auto v = optional_value(params, field.element);
        if (!v) return tl::unexpected(v.error());
        info.*field.member = std::move(*v);
    }
    auto emergency = optional_value(params, "emergency-ind");
    if (!emergency) return tl::unexpected(emergency.error());
    if (*emergency) {
        if (**emergency == "true" || **emergency == "1") {
            info.emergency = true;
        } else if (**emergency == "false" || **emergency == "0") {
            info.emergency = false;
        } else {
            return fail(Errc::malformed, std::string(kWhat) + ": <emergency-ind> is not boolean");
        }
    }
    return info;
}

std::string build_mcptt_info(const McpttInfo& info) {
    pugi::xml_document doc;
    auto root = xml::new_document(doc, "mcpttinfo", kMcpttInfoNamespace);
    auto params = root.append_child("mcptt-Params");
    // Schema order of TS 24.379 F.1.
    add_content(params, "mcptt-access-token", "mcpttString", info.access_token);
    if (info.session_type)
        params.append_child("session-type").text().set(info.session_type->c_str());
    add_content(params, "mcptt-request-uri", "mcpttURI", info.request_uri);
    add_content(params, "mcptt-calling-user-id", "mcpttURI", info.calling_user_id);
    add_content(params, "mcptt-called-party-id", "mcpttURI", info.called_party_id);
    if (info.emergency) {
        add_content(params, "emergency-ind", "mcpttBoolean",
                    std::string(*info.emergency ? "true" : "false"));
    }
    add_content(params, "mcptt-client-id", "mcpttString", info.client_id);
    if (!info.mcx.empty()) {
        root.append_attribute("xmlns:mcx") = std::string(kMcxCallNamespace).c_str();
        if (info.mcx.call_ref)
            root.append_child("mcx:call-ref").text().set(info.mcx.call_ref->c_str());
        if (info.mcx.primary_id) {
            root.append_child("mcx:primary-id").text().set(info.mcx.primary_id->c_str());
        }
        if (info.mcx.resumes_previous_id) {
            root.append_child("mcx:resumes")
                .append_attribute("previous-id")
                .set_value(info.mcx.resumes_previous_id->c_str());
        }
    }
    return xml::to_string(doc);
}

}  // namespace mcx::proto
