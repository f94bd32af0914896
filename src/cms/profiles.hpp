#pragma once
// User profiles from the configuration (seed) and for migrated users (TS 23.280 10.1.4.3.2:
// the partner system applies its local policy to the profile the primary system gives it).

#include <optional>
#include <string>
#include <unordered_map>

#include "common/error.hpp"
#include "common/system_config.hpp"
#include "proto/user_profile.hpp"
#include "store/store.hpp"

namespace mcx::cms {

proto::UserProfile profile_from_config(const UserConfig& user);

// The MC service ID this system gives to a migrating user: policy.assigned_id with {user},
// {home} (the primary system's ID, lower case) and {domain} (ours) replaced. [mcx-defined]
Result<McServiceId> assigned_id(const MigrationPolicy& policy, const McServiceId& primary_id,
                                const std::string& home_system, const std::string& domain);

// The profile valid here for a migrated user: the primary's migration profile under the local
// ID, with our call restrictions applied (allowed only if both allow; targets intersected),
// and no partner list (a migrated user migrates on from its primary's profile).
proto::UserProfile adapt_for_migration(const proto::UserProfile& from_primary,
                                       const MigrationPolicy& policy, const McServiceId& local_id);

// First start only (no "seeded" mark in the store): users, password hashes and profiles from
// the configuration. Partner agreements are written on every start (the configuration owns
// them). Returns true when it seeded.
Result<bool> seed_store(store::Store& store, const SystemConfig& config);

// Parsed profiles (index 0) for the call policy, reloaded when the store changed. Only profiles
// that exist are kept: MC service IDs made up by a peer (random callees) must not grow it.
class ProfileCache {
  public:
    explicit ProfileCache(store::Store& store) : store_(store) {}
    std::optional<proto::UserProfile> operator()(const McServiceId& user);
    std::size_t size() const { return cache_.size(); }

  private:
    store::Store& store_;
    std::uint64_t generation_ = ~0ull;
    std::unordered_map<McServiceId, proto::UserProfile> cache_;
};

}  // namespace mcx::cms
