#include "cms/profiles.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "idms/password.hpp"

namespace mcx::cms {

proto::UserProfile profile_from_config(const UserConfig& user) {
    proto::UserProfile p;
    p.user = user.id;
    p.index = 0;
    p.name = std::string(user.id.user());
    p.allow_private_call = user.private_call_allowed;
    p.allow_private_call_to_any_user = user.private_call_to_any_user;
    p.private_call_targets = user.private_call_targets;
    p.allow_private_call_participation = user.may_receive_private_calls;
    p.mcvideo_authorised = user.mcvideo_authorised;
    for (const auto& system : user.migrate_to) {
        p.partners.push_back(proto::PartnerSystemEntry{system, true, 0});
    }
    return p;
}

Result<McServiceId> assigned_id(const MigrationPolicy& policy, const McServiceId& primary_id,
                                const std::string& home_system, const std::string& domain) {
    std::string home = home_system;
    std::transform(home.begin(), home.end(), home.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string out = policy.assigned_id;
    auto replace = [&out](const std::string& key, const std::string& value) {
        for (auto pos = out.find(key); pos != std::string::npos;
             pos = out.find(key, pos + value.size())) {
            out.replace(pos, key.size(), value);
        }
    };
    replace("{user}", std::string(primary_id.user()));
    replace("{home}", home);
    replace("{domain}", domain);
    auto id = McServiceId::parse(out.starts_with("sip:") ? out : "sip:" + out);
    if (!id)
        return fail(Errc::invalid_argument,
                    "[migration] assigned_id gives '" + out + "': " + id.error().reason);
    return id;
}

proto::UserProfile adapt_for_migration(const proto::UserProfile& from_primary,
                                       const MigrationPolicy& policy, const McServiceId& local_id) {
    proto::UserProfile p = from_primary;
    p.user = local_id;
    p.index = 0;
    p.partners.clear();
    p.allow_private_call = from_primary.allow_private_call && policy.private_call;
    if (!policy.private_call_to_any_user) {
        if (from_primary.allow_private_call_to_any_user) {
            p.private_call_targets = policy.private_call_targets;
        } else {
            std::erase_if(p.private_call_targets, [&policy](const McServiceId& t) {
                return std::find(policy.private_call_targets.begin(),
                                 policy.private_call_targets.end(),
                                 t) == policy.private_call_targets.end();
            });
        }
        p.allow_private_call_to_any_user = false;
    }
    return p;
}

Result<bool> seed_store(store::Store& store, const SystemConfig& config) {
    for (const auto& partner : config.partners) {
        if (auto r = store.put_partner(
                {partner.id, partner.domain, partner.idms_issuer(), partner.cms_url});
            !r) {
            return tl::unexpected(r.error());
        }
    }
    auto seeded = store.meta("seeded");
    if (!seeded) return tl::unexpected(seeded.error());
    if (*seeded) return false;
    std::vector<store::StoredProfile> profiles;
    for (const auto& user : config.users) {
        const auto hash = user.password.empty()
                              ? std::string("!")
                              : idms::hash_password(user.password,
                                                    static_cast<int>(config.login.hash_iterations));
        if (auto r = store.put_user(user.id, hash); !r) return tl::unexpected(r.error());
        if (user.admin) {
            if (auto r = store.set_admin(user.id, true); !r) return tl::unexpected(r.error());
        }
        profiles.push_back({user.id, 0, proto::build_user_profile(profile_from_config(user)), {}});
    }
    if (auto r = store.put_profiles(profiles); !r) return tl::unexpected(r.error());
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    if (auto r = store.put_meta(
            "seeded",
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count()));
        !r) {
        return tl::unexpected(r.error());
    }
    return true;
}

std::optional<proto::UserProfile> ProfileCache::operator()(const McServiceId& user) {
    if (const auto generation = store_.generation(); generation != generation_) {
        cache_.clear();
        generation_ = generation;
    }
    if (auto it = cache_.find(user); it != cache_.end()) return it->second;
    auto stored = store_.profile(user, 0);
    if (!stored || !*stored) return std::nullopt;
    auto parsed = proto::parse_user_profile((*stored)->xml);
    if (!parsed) {
        spdlog::error("stored profile of {} is unreadable: {}", user.uri(), parsed.error().reason);
        return std::nullopt;
    }
    return cache_.emplace(user, std::move(*parsed)).first->second;
}

}  // namespace mcx::cms
