#include "server/migrated_user_registry.hpp"

#include <spdlog/spdlog.h>

namespace mcx::server {

void MigratedUserRegistry::refresh() {
    // The generation is read before the rows: a write committed (by the CMS thread) while they
    // are read moves it on, and the next call reads again. Read after, that write was lost
    // until the next one (a migrated peer's resume then got 480 for 20 s).
    const auto generation = store_.generation();
    if (generation == generation_) return;
    auto migrated = store_.migrated_users();
    auto roaming = store_.roaming_users();
    if (!migrated || !roaming) {
        spdlog::error("migrated user registry: store unreadable: {}",
                      migrated ? roaming.error().reason : migrated.error().reason);
        return;  // keep what we had; try again next time
    }
    by_local_.clear();
    by_primary_.clear();
    roaming_.clear();
    for (const auto& user : *migrated) {
        by_local_[user.local_id] = user;
        by_primary_[user.primary_id] = user;
    }
    for (const auto& user : *roaming) roaming_[user.primary_id] = user;
    generation_ = generation;
}

std::optional<store::MigratedUser> MigratedUserRegistry::by_local_id(const McServiceId& local) {
    refresh();
    auto it = by_local_.find(local);
    if (it == by_local_.end()) return std::nullopt;
    return it->second;
}

std::optional<store::MigratedUser> MigratedUserRegistry::by_primary_id(const McServiceId& primary) {
    refresh();
    auto it = by_primary_.find(primary);
    if (it == by_primary_.end()) return std::nullopt;
    return it->second;
}

Result<void> MigratedUserRegistry::add(const store::MigratedUser& user) {
    if (auto known = by_local_id(user.local_id); known && known->primary_id == user.primary_id) {
        return {};
    }
    return store_.put_migrated_user(user);
}

Result<bool> MigratedUserRegistry::remove(const McServiceId& local) {
    auto known = by_local_id(local);
    if (!known) return false;
    return store_.remove_migrated_user(known->primary_id);
}

std::optional<store::RoamingUser> MigratedUserRegistry::roaming(const McServiceId& primary) {
    refresh();
    auto it = roaming_.find(primary);
    if (it == roaming_.end()) return std::nullopt;
    return it->second;
}

Result<bool> MigratedUserRegistry::returned_home(const McServiceId& primary) {
    if (!roaming(primary)) return false;
    return store_.remove_roaming_user(primary);
}

std::vector<store::MigratedUser> MigratedUserRegistry::migrated() {
    refresh();
    std::vector<store::MigratedUser> out;
    for (const auto& [id, user] : by_local_) out.push_back(user);
    return out;
}

std::vector<store::RoamingUser> MigratedUserRegistry::roaming() {
    refresh();
    std::vector<store::RoamingUser> out;
    for (const auto& [id, user] : roaming_) out.push_back(user);
    return out;
}

}  // namespace mcx::server
