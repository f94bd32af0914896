#pragma once
// What an MC system keeps across restarts (issue 4): users and their salted password hashes,
// user profile documents (TS 24.484) with their ETags, partner agreements, migrated users.
// An interface, because tests and later back ends (e.g. PostgreSQL) need the seam.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"

namespace mcx::store {

struct StoredProfile {
    McServiceId user;
    std::uint32_t index = 0;
    std::string xml;
    std::string etag;  // set by the store: a hash of the document
};

struct PartnerAgreement {
    std::string system;  // e.g. "B"
    std::string domain;
    std::string idms_issuer;
    std::string cms_url;
};

struct MigratedUser {
    McServiceId primary_id;  // the user's ID in its primary MC system
    McServiceId local_id;    // the ID this (partner) system assigned (TS 23.280 10.1.6)
    std::string home_system;
    std::int64_t since_ms = 0;
};

// Seen from the primary system: where one of its users is served now (from the partner's
// profile request, TS 23.280 10.1.4.3.2), ready for 10.16.5 (private call towards a migrated
// user). Cleared when the user registers at home again.
struct RoamingUser {
    McServiceId primary_id;   // our user
    std::string system;       // the partner system serving it
    McServiceId assigned_id;  // the ID that partner assigned
    std::int64_t since_ms = 0;
};

// The access token valid now for one user and MCPTT client: the newest issued by this IdMS
// (idms::TokenLedger keeps a copy in memory; docs/identity.md).
struct TokenRow {
    McServiceId user;
    std::string client_id;
    std::string token_id;  // jti
    std::int64_t issued_at = 0;
    std::int64_t expires_at = 0;
};

class Store {
  public:
    virtual ~Store() = default;

    virtual Result<void> put_user(const McServiceId& user, const std::string& password_hash) = 0;
    virtual Result<std::optional<std::string>> password_hash(const McServiceId& user) = 0;
    // The administrator role (issue 16 item 4): the IdMS issues a token with the scope
    // "mcx-admin" (GET /status, /metrics) only to a user who has it. A new user has not.
    // set_admin: false when the user does not exist.
    virtual Result<bool> set_admin(const McServiceId& user, bool admin) = 0;
    virtual Result<bool> is_admin(const McServiceId& user) = 0;
    virtual Result<std::vector<McServiceId>> users() = 0;
    // Removes the user with its profiles and its tokens; false when it did not exist.
    virtual Result<bool> remove_user(const McServiceId& user) = 0;

    // All or nothing: one transaction for the whole batch.
    virtual Result<void> put_profiles(const std::vector<StoredProfile>& profiles) = 0;
    virtual Result<std::optional<StoredProfile>> profile(const McServiceId& user,
                                                         std::uint32_t index) = 0;
    virtual Result<std::vector<StoredProfile>> profiles_of(const McServiceId& user) = 0;
    virtual Result<bool> remove_profile(const McServiceId& user, std::uint32_t index) = 0;
    virtual Result<std::uint64_t> profile_count() = 0;

    virtual Result<void> put_partner(const PartnerAgreement& partner) = 0;
    virtual Result<std::vector<PartnerAgreement>> partners() = 0;

    virtual Result<void> put_migrated_user(const MigratedUser& user) = 0;
    virtual Result<std::optional<MigratedUser>> migrated_user(const McServiceId& primary_id) = 0;
    virtual Result<std::vector<MigratedUser>> migrated_users() = 0;
    // A migrating user's profile valid here and its row, in one transaction.
    virtual Result<void> put_migrated_profile(const StoredProfile& profile,
                                              const MigratedUser& user) = 0;
    // The user left this partner system: its row and the profile kept for it go.
    virtual Result<bool> remove_migrated_user(const McServiceId& primary_id) = 0;

    virtual Result<void> put_roaming_user(const RoamingUser& user) = 0;
    virtual Result<std::optional<RoamingUser>> roaming_user(const McServiceId& primary_id) = 0;
    virtual Result<std::vector<RoamingUser>> roaming_users() = 0;
    virtual Result<bool> remove_roaming_user(const McServiceId& primary_id) = 0;

    // Replaces the row of (user, client_id) and drops rows that expired before `now` (seconds).
    virtual Result<void> put_current_token(const TokenRow& token, std::int64_t now) = 0;
    // Removes the row of (user, client_id) if it names `token_id`.
    virtual Result<bool> remove_current_token(const McServiceId& user, const std::string& client_id,
                                              const std::string& token_id) = 0;
    virtual Result<std::vector<TokenRow>> current_tokens() = 0;

    virtual Result<std::optional<std::string>> meta(const std::string& key) = 0;
    virtual Result<void> put_meta(const std::string& key, const std::string& value) = 0;

    // "ok" when the store is sound (SQLite: PRAGMA integrity_check).
    virtual Result<std::string> integrity_check() = 0;
    // Incremented by every write through this object: caches compare it.
    virtual std::uint64_t generation() const = 0;
    // Writes through this object that failed (disk full, I/O error, read-only): each was
    // returned to its caller as an error and nothing of it was kept.
    virtual std::uint64_t write_failures() const = 0;
};

}  // namespace mcx::store
