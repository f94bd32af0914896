#pragma once
// Who has migrated, seen by one MC system (TS 23.280 10.16.5 preconditions; issue 14 item 9):
// - as a partner, the users of other systems served here: primary ID <-> the ID assigned here,
//   home system, since (the CMS writes a row when it fetches the profile, the registrar when a
//   migrated user registers; the row goes when the user leaves);
// - as a primary, where each of its own users is served now (the partner's profile request
//   says so), which routing uses to reach a user who is away.
// A cache over the store, reloaded when the store changed; the loop thread uses it.

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "store/store.hpp"

namespace mcx::server {

class MigratedUserRegistry {
  public:
    explicit MigratedUserRegistry(store::Store& store) : store_(store) {}

    // Users of other systems migrated here, by the ID assigned here or by their primary ID.
    std::optional<store::MigratedUser> by_local_id(const McServiceId& local);
    std::optional<store::MigratedUser> by_primary_id(const McServiceId& primary);
    Result<void> add(const store::MigratedUser& user);
    // The user left this system (de-registered or expired): row and kept profile go.
    Result<bool> remove(const McServiceId& local);

    // Our own users served elsewhere.
    std::optional<store::RoamingUser> roaming(const McServiceId& primary);
    Result<bool> returned_home(const McServiceId& primary);

    std::vector<store::MigratedUser> migrated();
    std::vector<store::RoamingUser> roaming();

  private:
    void refresh();

    store::Store& store_;
    std::uint64_t generation_ = ~0ull;
    std::unordered_map<McServiceId, store::MigratedUser> by_local_;
    std::unordered_map<McServiceId, store::MigratedUser> by_primary_;
    std::unordered_map<McServiceId, store::RoamingUser> roaming_;
};

}  // namespace mcx::server
