#pragma once
// User profiles from the configuration (seed) and for migrated users (TS 23.280 10.1.4.3.2:
// the partner system applies its local policy to the profile the primary system gives it).

#include <string>

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

}  // namespace mcx::cms
