#pragma once
// The Store on SQLite: WAL journal and synchronous=FULL, so a committed transaction survives a
// crash (SIGKILL, power loss) and readers do not block the writer. One connection guarded by a
// mutex: the event loop and the HTTP threads share it.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "store/store.hpp"

struct sqlite3;

namespace mcx::store {

class SqliteStore : public Store {
  public:
    static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
    ~SqliteStore() override;

    Result<void> put_user(const McServiceId& user, const std::string& password_hash) override;
    Result<std::optional<std::string>> password_hash(const McServiceId& user) override;
    Result<bool> set_admin(const McServiceId& user, bool admin) override;
    Result<bool> is_admin(const McServiceId& user) override;
    Result<std::vector<McServiceId>> users() override;
    Result<bool> remove_user(const McServiceId& user) override;
    Result<void> put_profiles(const std::vector<StoredProfile>& profiles) override;
    Result<std::optional<StoredProfile>> profile(const McServiceId& user,
                                                 std::uint32_t index) override;
    Result<std::vector<StoredProfile>> profiles_of(const McServiceId& user) override;
    Result<bool> remove_profile(const McServiceId& user, std::uint32_t index) override;
    Result<std::uint64_t> profile_count() override;
    Result<void> put_partner(const PartnerAgreement& partner) override;
    Result<std::vector<PartnerAgreement>> partners() override;
    Result<void> put_migrated_user(const MigratedUser& user) override;
    Result<std::optional<MigratedUser>> migrated_user(const McServiceId& primary_id) override;
    Result<std::vector<MigratedUser>> migrated_users() override;
    Result<bool> remove_migrated_user(const McServiceId& primary_id) override;
    Result<void> put_migrated_profile(const StoredProfile& profile,
                                      const MigratedUser& user) override;
    Result<void> put_roaming_user(const RoamingUser& user) override;
    Result<std::optional<RoamingUser>> roaming_user(const McServiceId& primary_id) override;
    Result<std::vector<RoamingUser>> roaming_users() override;
    Result<bool> remove_roaming_user(const McServiceId& primary_id) override;
    Result<void> put_current_token(const TokenRow& token, std::int64_t now) override;
    Result<bool> remove_current_token(const McServiceId& user, const std::string& client_id,
                                      const std::string& token_id) override;
    Result<std::vector<TokenRow>> current_tokens() override;
    Result<std::optional<std::string>> meta(const std::string& key) override;
    Result<void> put_meta(const std::string& key, const std::string& value) override;
    Result<std::string> integrity_check() override;
    std::uint64_t generation() const override;
    std::uint64_t write_failures() const override;

    // A write transaction that reaches the disk (the meta row "last_start" = `note`): a full
    // disk or a store that cannot be written is found at start, not at the first request.
    Result<void> check_writable(const std::string& note);

    // True when another connection (another process: mcx admin) committed a change since the
    // last call (PRAGMA data_version); generation() then moves on too, so that the caches over
    // this store reload. A read of SQLite's shared WAL index, no file I/O in WAL mode.
    Result<bool> poll_external_changes();

    const std::string& path() const { return path_; }

  private:
    SqliteStore() = default;
    Result<void> exec(const char* sql);
    Result<void> add_missing_columns();
    struct Statement;
    // "store PATH: what: SQLite's message (the OS's for I/O errors)".
    Error failure(const std::string& what) const;
    Result<void> step_done(Statement& statement, const char* what) const;
    enum class Generation { moves, stays };  // whether the write moves generation()
    template <class Body>
    auto write(const char* what, Generation generation, Body body) -> decltype(body());

    sqlite3* db_ = nullptr;
    std::string path_;
    mutable std::mutex mutex_;
    std::uint64_t generation_ = 0;
    std::optional<std::int64_t> data_version_;  // nullopt until open() reads it
    std::atomic<std::uint64_t> write_failures_{0};
};

// A short content hash used as ETag (RFC 7232 2.3), quoted.
std::string etag_of(const std::string& document);

}  // namespace mcx::store
