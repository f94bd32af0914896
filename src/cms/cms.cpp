#include "cms/cms.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

#include "cms/profiles.hpp"
#include "proto/user_profile.hpp"

namespace mcx::cms {

namespace {

constexpr std::string_view kProfilePrefix = "/cms/org.3gpp.mcptt.user-profile/users/";

CmsReply text(int status, const std::string& message) {
    return CmsReply{status, "text/plain", message + "\n", {}};
}

struct ProfileAddress {
    McServiceId user;
    std::uint32_t index = 0;
};

// ".../users/sip:alice@a.mcx/user-profile-0.xml" (TS 24.484 A.2.1 naming).
std::optional<ProfileAddress> parse_profile_path(std::string_view path) {
    if (!path.starts_with(kProfilePrefix)) return std::nullopt;
    path.remove_prefix(kProfilePrefix.size());
    const auto slash = path.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto user = McServiceId::parse(path.substr(0, slash));
    auto file = path.substr(slash + 1);
    constexpr std::string_view prefix = "user-profile-";
    constexpr std::string_view suffix = ".xml";
    if (!user || !file.starts_with(prefix) || !file.ends_with(suffix)) return std::nullopt;
    file = file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
    std::uint32_t index = 0;
    auto [p, ec] = std::from_chars(file.data(), file.data() + file.size(), index);
    if (ec != std::errc() || p != file.data() + file.size()) return std::nullopt;
    return ProfileAddress{*user, index};
}

}  // namespace

std::string bearer_token(const std::string& authorization) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size()) return {};
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i]))) {
            return {};
        }
    }
    return authorization.substr(scheme.size());
}

ConfigurationManagementServer::ConfigurationManagementServer(
    const SystemConfig& config, store::Store& store, const idms::TokenVerifier& verifier,
    const idms::TokenIssuer& issuer, PartnerGet partner_get,
    std::function<std::int64_t()> now_seconds)
    : config_(config),
      store_(store),
      verifier_(verifier),
      issuer_(issuer),
      partner_get_(std::move(partner_get)),
      now_(std::move(now_seconds)) {}

std::string ConfigurationManagementServer::profile_path(const McServiceId& user,
                                                        std::uint32_t index) {
    return std::string(kProfilePrefix) + user.uri() + "/user-profile-" + std::to_string(index) +
           ".xml";
}

CmsReply ConfigurationManagementServer::unauthorized(const std::string& why) const {
    // RFC 6750 3: the challenge names the realm and, for a bad token, the error.
    auto reply = text(401, why);
    reply.headers.emplace_back("WWW-Authenticate",
                               "Bearer realm=\"" + config_.domain + "\", error=\"invalid_token\"");
    return reply;
}

CmsReply ConfigurationManagementServer::serve_profile(const store::StoredProfile& profile,
                                                      const CmsRequest& request) const {
    if (!request.if_none_match.empty() && request.if_none_match == profile.etag) {
        return CmsReply{304, "", "", {{"ETag", profile.etag}}};  // RFC 7232 4.1
    }
    return CmsReply{200,
                    std::string(proto::kMimeUserProfile),
                    profile.xml,
                    {{"ETag", profile.etag}, {"Cache-Control", "no-cache"}}};
}

CmsReply ConfigurationManagementServer::get_user_profile(const CmsRequest& request) {
    const auto address = parse_profile_path(request.path);
    if (!address) return text(404, "no such document");
    const auto token = bearer_token(request.authorization);
    if (token.empty()) {
        auto reply = text(401, "an access token is required (Authorization: Bearer)");
        reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"" + config_.domain + "\"");
        return reply;
    }
    auto claims = verifier_.verify(token, now_());
    if (!claims) {
        if (claims.error().code == Errc::forbidden) return text(403, claims.error().reason);
        return unauthorized(claims.error().reason);
    }
    const auto subject = claims->mc_service_id();
    if (subject != address->user) {
        return text(403,
                    "the access token is for " + subject.uri() + ", not " + address->user.uri());
    }
    if (claims->primary_id) {
        // A partner's user who migrated here, with the token our IdMS gave for its primary one
        // (verify() takes primary_mcptt_id from our IdMS only): as below, from its primary CMS,
        // stored under the ID assigned here.
        const auto& primary_id = *claims->primary_id;
        const auto* home = config_.partner_by_domain(primary_id.domain());
        if (!home) {
            return text(403,
                        "users of " + std::string(primary_id.domain()) + " are not served here");
        }
        auto local_id = assigned_id(config_.migration, primary_id, home->id, config_.domain);
        if (!local_id) return text(500, local_id.error().reason);
        if (*local_id != subject) {
            return text(403, "the access token is for " + subject.uri() + ", but " +
                                 config_.system_id + " now assigns " + local_id->uri() + " to " +
                                 primary_id.uri() + ": exchange the primary token again");
        }
        return migrated_profile(primary_id, *home, request);
    }
    if (subject.domain() != config_.domain) {
        // A user of a partner system asks for the profile valid here (10.1.4.3.2).
        const auto* home = config_.partner_by_domain(subject.domain());
        if (!home || claims->issuer != home->idms_issuer()) {
            return text(403, "users of " + std::string(subject.domain()) + " are not served here");
        }
        return migrated_profile(subject, *home, request);
    }
    auto stored = store_.profile(address->user, address->index);
    if (!stored) return text(500, stored.error().reason);
    if (!*stored)
        return text(404,
                    "no profile " + std::to_string(address->index) + " for " + address->user.uri());
    return serve_profile(**stored, request);
}

CmsReply ConfigurationManagementServer::migrated_profile(const McServiceId& primary_id,
                                                         const PartnerConfig& home,
                                                         const CmsRequest& request) {
    if (!config_.migration.accept) {
        return text(403, "MC system " + config_.system_id + " does not accept migrating users");
    }
    if (home.cms_url.empty()) return text(502, "no CMS address configured for partner " + home.id);
    auto system_token = issuer_.system_token(config_.system_id, home.token_audience(), now_());
    if (!system_token) return text(500, system_token.error().reason);
    auto local_id = assigned_id(config_.migration, primary_id, home.id, config_.domain);
    if (!local_id) return text(500, local_id.error().reason);
    // `assigned` tells the primary where its user is now and under which ID. [mcx-defined]
    const auto url = home.cms_url + "/cms/partner/migration-profile?user=" + primary_id.uri() +
                     "&assigned=" + local_id->uri();
    auto response = partner_get_(url, *system_token);
    if (!response) {
        return text(502, "the CMS of " + home.id + " (primary system of " + primary_id.uri() +
                             ") cannot be reached: " + response.error().reason);
    }
    if (response->status != 200) {
        // The primary's reason reaches the user.
        return text(response->status == 404 ? 404 : 403,
                    home.id + " refused: " + response->body.substr(0, response->body.find('\n')));
    }
    auto from_primary = proto::parse_user_profile(response->body);
    if (!from_primary) {
        return text(502, "the migration profile from " + home.id +
                             " is malformed: " + from_primary.error().reason);
    }
    if (from_primary->user != primary_id) {
        return text(502, "the migration profile from " + home.id + " is for another user");
    }
    const auto adapted = adapt_for_migration(*from_primary, config_.migration, *local_id);
    store::StoredProfile profile{*local_id, 0, proto::build_user_profile(adapted), {}};
    if (auto r =
            store_.put_migrated_profile(profile, {primary_id, *local_id, home.id, now_() * 1000});
        !r) {
        return text(500, r.error().reason);
    }
    spdlog::info("CMS: migration profile of {} from {} stored as {}", primary_id.uri(), home.id,
                 local_id->uri());
    auto stored = store_.profile(*local_id, 0);
    if (!stored || !*stored) return text(500, "profile vanished");
    return serve_profile(**stored, request);
}

CmsReply ConfigurationManagementServer::get_migration_profile(const CmsRequest& request) {
    const auto token = bearer_token(request.authorization);
    if (token.empty()) return text(401, "a partner system token is required");
    auto claims = verifier_.verify_system(token, now_());
    if (!claims) {
        return text(403, "the requesting system is not a trusted partner of " + config_.system_id +
                             ": " + claims.error().reason);
    }
    const auto* partner = config_.partner_by_issuer(claims->issuer);
    if (!partner) return text(403, claims->issuer + " is not a partner of " + config_.system_id);
    // [mcx-defined] The token names the partner, the certificate proves the connection is its
    // own: both must agree (docs/security.md, "Partner trust over TLS").
    if (!request.mutual_tls && !partner->plain_http) {
        return text(403, "partner CMS requests to " + config_.system_id +
                             " are served over HTTPS with mutual TLS only");
    }
    if (request.mutual_tls && request.tls_peer != partner->id) {
        return text(403, "the client certificate names '" + request.tls_peer +
                             "', but the system token is of " + partner->id);
    }
    const auto user_param = request.params.find("user");
    auto user = user_param == request.params.end() ? fail(Errc::malformed, "no user parameter")
                                                   : McServiceId::parse(user_param->second);
    if (!user) return text(400, user.error().reason);
    auto primary = store_.profile(*user, 0);
    if (!primary) return text(500, primary.error().reason);
    if (!*primary) return text(404, user->uri() + " is not a user of " + config_.system_id);
    auto profile = proto::parse_user_profile((*primary)->xml);
    if (!profile) return text(500, "stored profile unreadable: " + profile.error().reason);
    const auto* entry = profile->partner(partner->id);
    if (!entry || !entry->migration_allowed) {
        spdlog::info("CMS: {} asked for {}: not allowed to migrate there", partner->id,
                     user->uri());
        return text(403, user->uri() + " is not allowed to migrate to " + partner->id);
    }
    auto migration = store_.profile(*user, entry->profile_index);
    if (!migration) return text(500, migration.error().reason);
    if (!*migration) {
        return text(404, "profile " + std::to_string(entry->profile_index) + " of " + user->uri() +
                             " (for " + partner->id + ") does not exist");
    }
    spdlog::info("CMS: migration profile {} of {} sent to {}", entry->profile_index, user->uri(),
                 partner->id);
    // The primary records where its user is served now (for routing and, later, TS 23.280
    // 10.16.5 redirection); a partner may only name an ID of its own domain.
    if (auto assigned_param = request.params.find("assigned");
        assigned_param != request.params.end()) {
        auto assigned = McServiceId::parse(assigned_param->second);
        if (!assigned || assigned->domain() != partner->domain) {
            return text(400, "assigned must be an MC service ID of " + partner->domain);
        }
        if (auto r = store_.put_roaming_user({*user, partner->id, *assigned, now_() * 1000}); !r) {
            return text(500, r.error().reason);
        }
    }
    return CmsReply{200,
                    std::string(proto::kMimeUserProfile),
                    (*migration)->xml,
                    {{"ETag", (*migration)->etag}}};
}

}  // namespace mcx::cms
