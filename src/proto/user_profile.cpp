#include "proto/user_profile.hpp"

#include <algorithm>
#include <charconv>
#include <pugixml.hpp>

#include "proto/limits.hpp"
#include "proto/xml_util.hpp"

namespace mcx::proto {

namespace {

std::size_t line_of(std::string_view text, std::ptrdiff_t offset) {
    if (offset < 0) return 1;
    const auto end = std::min(static_cast<std::size_t>(offset), text.size());
    return 1 + static_cast<std::size_t>(
                   std::count(text.begin(), text.begin() + static_cast<long>(end), '\n'));
}

Error at(std::string_view text, const pugi::xml_node& node, const std::string& what) {
    return Error{Errc::malformed,
                 "line " + std::to_string(line_of(text, node.offset_debug())) + ": " + what};
}

Result<bool> boolean(std::string_view text, const pugi::xml_node& node) {
    const std::string_view v = node.text().get();
    if (v == "true" || v == "1") return true;
    if (v == "false" || v == "0") return false;
    return tl::unexpected(
        at(text, node, "<" + std::string(xml::local_name(node)) + "> must be true or false"));
}

Result<McServiceId> uri_entry(std::string_view text, const pugi::xml_node& holder) {
    const auto entry = xml::child(holder, "uri-entry");
    const auto node = entry ? entry : holder;
    auto id = McServiceId::parse(node.text().get());
    if (!id) return tl::unexpected(at(text, node, id.error().reason));
    return *id;
}

}  // namespace

bool UserProfile::may_call(const McServiceId& target) const {
    return allow_private_call &&
           (allow_private_call_to_any_user ||
            std::find(private_call_targets.begin(), private_call_targets.end(), target) !=
                private_call_targets.end());
}

const PartnerSystemEntry* UserProfile::partner(std::string_view system) const {
    for (const auto& p : partners) {
        if (p.system == system) return &p;
    }
    return nullptr;
}

Result<UserProfile> parse_user_profile(std::string_view text) {
    if (text.size() > 4 * kMaxXmlBytes) {
        return fail(Errc::malformed, "user profile larger than the limit");
    }
    pugi::xml_document doc;
    const auto result =
        doc.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!result) {
        return fail(Errc::malformed, "line " + std::to_string(line_of(text, result.offset)) + ": " +
                                         result.description());
    }
    const auto root = doc.document_element();
    if (xml::local_name(root) != "mcptt-user-profile" ||
        xml::namespace_uri(root) != kUserProfileNamespace) {
        return tl::unexpected(at(
            text, root,
            "root is not <mcptt-user-profile> in namespace " + std::string(kUserProfileNamespace)));
    }
    UserProfile p;
    if (auto index = root.attribute("user-profile-index")) {
        const std::string_view v = index.value();
        auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), p.index);
        if (ec != std::errc() || ptr != v.data() + v.size()) {
            return tl::unexpected(at(text, root, "user-profile-index is not a number"));
        }
    }
    p.name = xml::child(root, "ProfileName").text().get();
    const auto common = xml::child(root, "Common");
    const auto user_id = xml::child(common, "MCPTTUserID");
    if (!user_id) return tl::unexpected(at(text, root, "<Common><MCPTTUserID> is missing"));
    auto user = uri_entry(text, user_id);
    if (!user) return tl::unexpected(user.error());
    p.user = *user;
    if (const auto list = xml::child(xml::child(common, "PrivateCall"), "PrivateCallList")) {
        for (auto entry : list.children()) {
            if (entry.type() != pugi::node_element || xml::local_name(entry) != "PrivateCallURI")
                continue;
            auto target = uri_entry(text, entry);
            if (!target) return tl::unexpected(target.error());
            p.private_call_targets.push_back(*target);
        }
    }
    // <ruleset><rule><actions>: every action element of every rule (common-policy, RFC 4745).
    if (const auto ruleset = xml::child(root, "ruleset")) {
        struct Action {
            const char* name;
            bool UserProfile::*member;
        };
        static constexpr Action actions[] = {
            {"allow-private-call", &UserProfile::allow_private_call},
            {"allow-private-call-to-any-user", &UserProfile::allow_private_call_to_any_user},
            {"allow-private-call-participation", &UserProfile::allow_private_call_participation},
            {"allow-automatic-commencement", &UserProfile::allow_automatic_commencement},
            {"allow-manual-commencement", &UserProfile::allow_manual_commencement},
        };
        for (auto rule : ruleset.children()) {
            if (rule.type() != pugi::node_element || xml::local_name(rule) != "rule") continue;
            for (const auto& action : actions) {
                if (auto node = xml::child(xml::child(rule, "actions"), action.name)) {
                    auto value = boolean(text, node);
                    if (!value) return tl::unexpected(value.error());
                    p.*action.member = *value;
                }
            }
        }
    }
    if (const auto ext = xml::child(root, "anyExt")) {
        if (auto video = xml::child(ext, "mcvideo-authorised")) {
            auto value = boolean(text, video);
            if (!value) return tl::unexpected(value.error());
            p.mcvideo_authorised = *value;
        }
        for (auto partner : xml::child(ext, "partner-systems").children()) {
            if (partner.type() != pugi::node_element || xml::local_name(partner) != "partner")
                continue;
            PartnerSystemEntry entry;
            entry.system = partner.attribute("system").value();
            if (entry.system.empty())
                return tl::unexpected(at(text, partner, "<partner> without system"));
            const std::string_view allowed = partner.attribute("migration-allowed").value();
            if (allowed != "true" && allowed != "false") {
                return tl::unexpected(at(text, partner, "migration-allowed must be true or false"));
            }
            entry.migration_allowed = allowed == "true";
            const std::string_view index = partner.attribute("profile-index").value();
            if (!index.empty()) {
                auto [ptr, ec] =
                    std::from_chars(index.data(), index.data() + index.size(), entry.profile_index);
                if (ec != std::errc() || ptr != index.data() + index.size()) {
                    return tl::unexpected(at(text, partner, "profile-index is not a number"));
                }
            }
            p.partners.push_back(std::move(entry));
        }
    }
    return p;
}

std::string build_user_profile(const UserProfile& p) {
    pugi::xml_document doc;
    auto root = xml::new_document(doc, "mcptt-user-profile", kUserProfileNamespace);
    root.append_attribute("xmlns:mcx") = kMcxProfileNamespace.data();
    root.append_attribute("XUI-URI") = p.user.uri().c_str();
    root.append_attribute("user-profile-index") = p.index;
    root.append_child("ProfileName").text().set(p.name.c_str());
    auto common = root.append_child("Common");
    common.append_attribute("index") = "1";
    common.append_child("MCPTTUserID").append_child("uri-entry").text().set(p.user.uri().c_str());
    auto list = common.append_child("PrivateCall").append_child("PrivateCallList");
    for (const auto& target : p.private_call_targets) {
        list.append_child("PrivateCallURI")
            .append_child("uri-entry")
            .text()
            .set(target.uri().c_str());
    }
    auto rule = root.append_child("ruleset").append_child("rule");
    rule.append_attribute("id") = "private-call";
    rule.append_child("conditions");
    auto actions = rule.append_child("actions");
    auto flag = [&actions](const char* name, bool value) {
        actions.append_child(name).text().set(value ? "true" : "false");
    };
    flag("allow-private-call", p.allow_private_call);
    flag("allow-private-call-to-any-user", p.allow_private_call_to_any_user);
    flag("allow-private-call-participation", p.allow_private_call_participation);
    flag("allow-automatic-commencement", p.allow_automatic_commencement);
    flag("allow-manual-commencement", p.allow_manual_commencement);
    auto ext = root.append_child("anyExt");
    ext.append_child("mcx:mcvideo-authorised").text().set(p.mcvideo_authorised ? "true" : "false");
    auto partners = ext.append_child("mcx:partner-systems");
    for (const auto& partner : p.partners) {
        auto node = partners.append_child("mcx:partner");
        node.append_attribute("system") = partner.system.c_str();
        node.append_attribute("migration-allowed") = partner.migration_allowed ? "true" : "false";
        node.append_attribute("profile-index") = partner.profile_index;
    }
    return xml::to_string(doc);
}

}  // namespace mcx::proto
