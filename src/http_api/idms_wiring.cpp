#include "http_api/idms_wiring.hpp"

#include <utility>

#include "cms/profiles.hpp"
#include "proto/user_profile.hpp"

namespace mcx::http_api {

std::string StoreCredentials::password_hash(const McServiceId& user) const {
    auto hash = store_.password_hash(user);
    return hash && *hash ? **hash : std::string{};
}

bool StoreCredentials::is_admin(const McServiceId& user) const {
    return store_.is_admin(user).value_or(false);
}

Result<void> StoreTokenRecords::put_current_token(const idms::CurrentToken& t, std::int64_t now) {
    return store_.put_current_token({t.subject, t.client_id, t.token_id, t.issued_at, t.expires_at},
                                    now);
}

Result<bool> StoreTokenRecords::remove_current_token(const McServiceId& subject,
                                                     const std::string& client_id,
                                                     const std::string& token_id) {
    return store_.remove_current_token(subject, client_id, token_id);
}

Result<std::vector<idms::CurrentToken>> StoreTokenRecords::current_tokens() {
    auto rows = store_.current_tokens();
    if (!rows) return tl::unexpected(rows.error());
    std::vector<idms::CurrentToken> out;
    out.reserve(rows->size());
    for (auto& r : *rows) {
        out.push_back(
            {r.user, std::move(r.client_id), std::move(r.token_id), r.issued_at, r.expires_at});
    }
    return out;
}

idms::LoginThrottleLimits login_throttle_limits(const LoginProtectionConfig& login) {
    return {login.user_failures,    login.source_failures, login.hold_seconds,
            login.max_hold_seconds, login.forget_seconds,  login.tracked_entries};
}

idms::TokenEndpoint::AudiencePolicy partner_audience_policy(const SystemConfig& config,
                                                            store::Store& store) {
    return [&config, &store](const McServiceId& user, const std::string& audience) -> Result<void> {
        for (const auto& partner : config.partners) {
            if (partner.token_audience() != audience) continue;
            auto stored = store.profile(user, 0);
            auto profile = stored && *stored ? proto::parse_user_profile((*stored)->xml)
                                             : fail(Errc::not_found, "no profile");
            const auto* entry = profile ? profile->partner(partner.id) : nullptr;
            if (!entry || !entry->migration_allowed) {
                return fail(Errc::forbidden, user.uri() + " may not migrate to " + partner.id);
            }
            return {};
        }
        return fail(Errc::forbidden, audience + " is not a partner MC system");
    };
}

idms::MigrationIntake migration_intake(const SystemConfig& config) {
    return {config.migration.accept,
            [&config](const std::string& issuer_name) -> std::optional<std::string> {
                const auto* partner = config.partner_by_issuer(issuer_name);
                if (!partner) return std::nullopt;
                return partner->id;
            },
            [&config](const McServiceId& primary_id, const std::string& home) {
                return cms::assigned_id(config.migration, primary_id, home, config.domain);
            }};
}

std::optional<idms::TrustedIssuer> partner_key(const PartnerConfig& partner, const std::string& kid,
                                               const PublishedPartnerKey& published) {
    if (!partner.idms_public_key.empty()) {
        return idms::TrustedIssuer{partner.idms_public_key, partner.domain, {}};
    }
    auto fetched = published ? published(partner.idms_issuer(), kid) : std::nullopt;
    if (!fetched) return std::nullopt;
    return idms::TrustedIssuer{fetched->public_pem, partner.domain, fetched->key_id};
}

void resolve_partner_keys(idms::TokenVerifier& verifier, const SystemConfig& config,
                          PublishedPartnerKey published) {
    verifier.set_key_resolver([&config, published = std::move(published)](
                                  const std::string& issuer_name,
                                  const std::string& kid) -> std::optional<idms::TrustedIssuer> {
        const auto* partner = config.partner_by_issuer(issuer_name);
        if (!partner) return std::nullopt;
        return partner_key(*partner, kid, published);
    });
}

}  // namespace mcx::http_api
