#include "store/sqlite_store.hpp"

#include <openssl/evp.h>
#include <sqlite3.h>

#include <cstdio>
#include <cstring>

namespace mcx::store {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS users (
    id            TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS profiles (
    user_id TEXT NOT NULL,
    idx     INTEGER NOT NULL,
    xml     TEXT NOT NULL,
    etag    TEXT NOT NULL,
    PRIMARY KEY (user_id, idx)
);
CREATE TABLE IF NOT EXISTS partners (
    system      TEXT PRIMARY KEY,
    domain      TEXT NOT NULL,
    idms_issuer TEXT NOT NULL,
    cms_url     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS migrated_users (
    primary_id  TEXT PRIMARY KEY,
    local_id    TEXT NOT NULL UNIQUE,
    home_system TEXT NOT NULL,
    since_ms    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS roaming_users (
    primary_id  TEXT PRIMARY KEY,
    system      TEXT NOT NULL,
    assigned_id TEXT NOT NULL,
    since_ms    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX IF NOT EXISTS tokens_by_expiry ON tokens(expires_at);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
)sql";

// Columns added after a table was first created: a store file written by an older mcxd lacks
// them, and open() adds each one missing (ALTER TABLE ... ADD COLUMN; the default fills the
// existing rows). New files get them the same way, so there is one path for both.
struct AddedColumn {
    const char* table;
    const char* column;
    const char* definition;
};
constexpr AddedColumn kAddedColumns[] = {
    // Issue 16 item 4: the IdMS issues the mcx-admin scope to administrators only.
    {"users", "admin", "INTEGER NOT NULL DEFAULT 0"},
};

std::string column_text(sqlite3_stmt* s, int i) {
    const auto* text = sqlite3_column_text(s, i);
    return text ? reinterpret_cast<const char*>(text) : "";
}

// Which file operation an I/O error came from, when the operating system's errno is not known.
const char* io_step(int extended_code) {
    switch (extended_code) {
        case SQLITE_IOERR_WRITE:
            return "a write failed: is the disk full?";
        case SQLITE_IOERR_FSYNC:
            return "fsync failed";
        case SQLITE_IOERR_SHMSIZE:
            return "the -shm file cannot grow: is the disk full?";
        case SQLITE_IOERR_SHMOPEN:
            return "the -shm file cannot be opened";
        case SQLITE_IOERR_TRUNCATE:
            return "truncating failed";
        default:
            return nullptr;
    }
}

McServiceId column_id(sqlite3_stmt* s, int i) {
    auto id = McServiceId::parse(column_text(s, i));
    return id ? *id : McServiceId{};
}

}  // namespace

std::string etag_of(const std::string& document) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(document.data(), document.size(), digest, &len, EVP_sha256(), nullptr);
    std::string out = "\"";
    char hex[3];
    for (unsigned i = 0; i < 12 && i < len; ++i) {
        std::snprintf(hex, sizeof(hex), "%02x", digest[i]);
        out += hex;
    }
    return out + "\"";
}

// A prepared statement bound and stepped under the store's mutex.
struct SqliteStore::Statement {
    sqlite3_stmt* stmt = nullptr;
    int rc = SQLITE_OK;
    Statement(sqlite3* db, const char* sql) {
        rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
    }
    ~Statement() { sqlite3_finalize(stmt); }
    Statement& bind(int i, const std::string& v) {
        sqlite3_bind_text(stmt, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt, i, v);
        return *this;
    }
    int step() { return sqlite3_step(stmt); }
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
    std::unique_ptr<SqliteStore> store(new SqliteStore());
    store->path_ = path;
    if (sqlite3_open_v2(path.c_str(), &store->db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        if (!store->db_) return fail(Errc::io, "cannot open store " + path + ": out of memory");
        return tl::unexpected(store->failure("cannot open"));
    }
    // SQLITE_OPEN_READWRITE falls back to reading only, without a word, when the file may not
    // be written: every later write would fail.
    if (sqlite3_db_readonly(store->db_, "main") == 1) {
        return fail(Errc::io, "store " + path +
                                  " is read-only (the file is not writable): it must be "
                                  "writable, and so must its directory (SQLite writes " +
                                  path + "-wal and -shm beside it)");
    }
    sqlite3_busy_timeout(store->db_, 5000);
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;", "PRAGMA foreign_keys=ON;"}) {
        if (auto r = store->exec(pragma); !r) return tl::unexpected(r.error());
    }
    if (auto r = store->exec(kSchema); !r) return tl::unexpected(r.error());
    if (auto r = store->add_missing_columns(); !r) return tl::unexpected(r.error());
    if (auto r = store->poll_external_changes(); !r) return tl::unexpected(r.error());
    return store;
}

Result<void> SqliteStore::add_missing_columns() {
    // One transaction that takes the write lock first: mcxd and `mcx admin` may open an old
    // file at the same time, and only one of them may add a column.
    return write("opening for writing", Generation::stays, [this]() -> Result<void> {
        for (const auto& added : kAddedColumns) {
            const auto info = std::string("PRAGMA table_info(") + added.table + ")";
            bool present = false;
            {
                Statement columns(db_, info.c_str());
                if (columns.rc != SQLITE_OK) return tl::unexpected(failure(info));
                while (columns.step() == SQLITE_ROW) {
                    present |= column_text(columns.stmt, 1) == added.column;
                }
            }
            if (present) continue;
            const auto alter = std::string("ALTER TABLE ") + added.table + " ADD COLUMN " +
                               added.column + " " + added.definition;
            if (sqlite3_exec(db_, alter.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
                return tl::unexpected(failure(alter));
            }
        }
        return {};
    });
}

SqliteStore::~SqliteStore() {
    sqlite3_close(db_);
}

Result<void> SqliteStore::exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        return tl::unexpected(failure(sql));
    }
    return {};
}

std::uint64_t SqliteStore::generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
}

std::uint64_t SqliteStore::write_failures() const {
    return write_failures_.load(std::memory_order_relaxed);
}

#define MCX_STORE_CHECK(statement, what)                                       \
    if ((statement).rc != SQLITE_OK) {                                         \
        return fail(Errc::io, std::string(what) + ": " + sqlite3_errmsg(db_)); \
    }

Error SqliteStore::failure(const std::string& what) const {
    std::string why = sqlite3_errmsg(db_);
    // The operating system's word for I/O errors: "No space left on device", "Permission denied".
    const int extended = sqlite3_extended_errcode(db_);
    const int code = extended & 0xff;
    if (code == SQLITE_IOERR || code == SQLITE_CANTOPEN) {
        if (const int os = sqlite3_system_errno(db_); os != 0) {
            why += std::string(" (") + std::strerror(os) + ")";
        } else if (const char* step = io_step(extended)) {
            why += std::string(" (") + step + ")";
        }
    }
    if (code == SQLITE_CANTOPEN || code == SQLITE_READONLY) {
        why += "; the store file and its directory must be writable (SQLite writes " + path_ +
               "-wal and -shm beside it)";
    }
    return Error{Errc::io, "store " + path_ + ": " + what + ": " + why};
}

Result<void> SqliteStore::step_done(Statement& s, const char* what) const {
    if (s.rc != SQLITE_OK || s.step() != SQLITE_DONE) return tl::unexpected(failure(what));
    return {};
}

// One write transaction: BEGIN IMMEDIATE, `body`, COMMIT. Whatever fails, the COMMIT too, ends
// in ROLLBACK: a failed COMMIT may leave the transaction open (SQLITE_BUSY, a deferred
// constraint; sqlite.org/lang_transaction.html), which would hold the write lock and fail every
// later write. The failure is counted and returned to the caller; nothing of it is kept.
template <class Body>
auto SqliteStore::write(const char* what, Generation generation, Body body) -> decltype(body()) {
    std::lock_guard lock(mutex_);
    auto failed = [this](Error error) {
        if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        write_failures_.fetch_add(1, std::memory_order_relaxed);
        return tl::unexpected(std::move(error));
    };
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
        return failed(failure(std::string(what) + ": begin"));
    }
    auto result = body();
    if (!result) return failed(std::move(result.error()));
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        return failed(failure(std::string(what) + ": commit"));
    }
    if (generation == Generation::moves) ++generation_;
    return result;
}

Result<void> SqliteStore::check_writable(const std::string& note) {
    return put_meta("last_start", note);
}

Result<void> SqliteStore::put_user(const McServiceId& user, const std::string& password_hash) {
    return write("put_user", Generation::moves, [&]() -> Result<void> {
        Statement s(db_,
                    "INSERT INTO users(id, password_hash) VALUES(?1, ?2) "
                    "ON CONFLICT(id) DO UPDATE SET password_hash = excluded.password_hash");
        return step_done(s.bind(1, user.uri()).bind(2, password_hash), "put_user");
    });
}

Result<std::optional<std::string>> SqliteStore::password_hash(const McServiceId& user) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT password_hash FROM users WHERE id = ?1");
    MCX_STORE_CHECK(s, "password_hash");
    if (s.bind(1, user.uri()).step() == SQLITE_ROW) {
        return std::optional<std::string>(column_text(s.stmt, 0));
    }
    return std::optional<std::string>{};
}

Result<bool> SqliteStore::set_admin(const McServiceId& user, bool admin) {
    return write("set_admin", Generation::moves, [&]() -> Result<bool> {
        Statement s(db_, "UPDATE users SET admin = ?2 WHERE id = ?1");
        if (auto r =
                step_done(s.bind(1, user.uri()).bind(2, std::int64_t{admin ? 1 : 0}), "set_admin");
            !r) {
            return tl::unexpected(r.error());
        }
        return sqlite3_changes(db_) > 0;
    });
}

Result<bool> SqliteStore::is_admin(const McServiceId& user) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT admin FROM users WHERE id = ?1");
    MCX_STORE_CHECK(s, "is_admin");
    return s.bind(1, user.uri()).step() == SQLITE_ROW && sqlite3_column_int64(s.stmt, 0) != 0;
}

Result<std::vector<McServiceId>> SqliteStore::users() {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT id FROM users ORDER BY id");
    MCX_STORE_CHECK(s, "users");
    std::vector<McServiceId> out;
    while (s.step() == SQLITE_ROW) out.push_back(column_id(s.stmt, 0));
    return out;
}

Result<bool> SqliteStore::remove_user(const McServiceId& user) {
    return write("remove_user", Generation::moves, [&]() -> Result<bool> {
        Statement profiles(db_, "DELETE FROM profiles WHERE user_id = ?1");
        Statement tokens(db_, "DELETE FROM tokens WHERE user_id = ?1");
        Statement users(db_, "DELETE FROM users WHERE id = ?1");
        for (auto* s : {&profiles, &tokens, &users}) {
            if (auto r = step_done(s->bind(1, user.uri()), "remove_user"); !r) {
                return tl::unexpected(r.error());
            }
        }
        return sqlite3_changes(db_) > 0;
    });
}

Result<void> SqliteStore::put_profiles(const std::vector<StoredProfile>& profiles) {
    return write("put_profiles", Generation::moves, [&]() -> Result<void> {
        Statement s(db_,
                    "INSERT INTO profiles(user_id, idx, xml, etag) VALUES(?1, ?2, ?3, ?4) "
                    "ON CONFLICT(user_id, idx) DO UPDATE SET xml = excluded.xml, "
                    "etag = excluded.etag");
        for (const auto& p : profiles) {
            sqlite3_reset(s.stmt);
            s.bind(1, p.user.uri()).bind(2, static_cast<std::int64_t>(p.index)).bind(3, p.xml);
            if (auto r = step_done(s.bind(4, etag_of(p.xml)), "put_profiles"); !r) return r;
        }
        return {};
    });
}

Result<std::optional<StoredProfile>> SqliteStore::profile(const McServiceId& user,
                                                          std::uint32_t index) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT xml, etag FROM profiles WHERE user_id = ?1 AND idx = ?2");
    MCX_STORE_CHECK(s, "profile");
    if (s.bind(1, user.uri()).bind(2, static_cast<std::int64_t>(index)).step() == SQLITE_ROW) {
        return std::optional<StoredProfile>(
            StoredProfile{user, index, column_text(s.stmt, 0), column_text(s.stmt, 1)});
    }
    return std::optional<StoredProfile>{};
}

Result<std::vector<StoredProfile>> SqliteStore::profiles_of(const McServiceId& user) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT idx, xml, etag FROM profiles WHERE user_id = ?1 ORDER BY idx");
    MCX_STORE_CHECK(s, "profiles_of");
    s.bind(1, user.uri());
    std::vector<StoredProfile> out;
    while (s.step() == SQLITE_ROW) {
        out.push_back(StoredProfile{user,
                                    static_cast<std::uint32_t>(sqlite3_column_int64(s.stmt, 0)),
                                    column_text(s.stmt, 1), column_text(s.stmt, 2)});
    }
    return out;
}

Result<bool> SqliteStore::remove_profile(const McServiceId& user, std::uint32_t index) {
    return write("remove_profile", Generation::moves, [&]() -> Result<bool> {
        Statement s(db_, "DELETE FROM profiles WHERE user_id = ?1 AND idx = ?2");
        if (auto r = step_done(s.bind(1, user.uri()).bind(2, static_cast<std::int64_t>(index)),
                               "remove_profile");
            !r) {
            return tl::unexpected(r.error());
        }
        return sqlite3_changes(db_) > 0;
    });
}

Result<std::uint64_t> SqliteStore::profile_count() {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT COUNT(*) FROM profiles");
    MCX_STORE_CHECK(s, "profile_count");
    if (s.step() != SQLITE_ROW) return fail(Errc::io, "profile_count failed");
    return static_cast<std::uint64_t>(sqlite3_column_int64(s.stmt, 0));
}

Result<void> SqliteStore::put_partner(const PartnerAgreement& p) {
    return write("put_partner", Generation::moves, [&]() -> Result<void> {
        Statement s(db_,
                    "INSERT INTO partners(system, domain, idms_issuer, cms_url) "
                    "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(system) DO UPDATE SET "
                    "domain = excluded.domain, idms_issuer = excluded.idms_issuer, "
                    "cms_url = excluded.cms_url");
        return step_done(
            s.bind(1, p.system).bind(2, p.domain).bind(3, p.idms_issuer).bind(4, p.cms_url),
            "put_partner");
    });
}

Result<std::vector<PartnerAgreement>> SqliteStore::partners() {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT system, domain, idms_issuer, cms_url FROM partners ORDER BY system");
    MCX_STORE_CHECK(s, "partners");
    std::vector<PartnerAgreement> out;
    while (s.step() == SQLITE_ROW) {
        out.push_back({column_text(s.stmt, 0), column_text(s.stmt, 1), column_text(s.stmt, 2),
                       column_text(s.stmt, 3)});
    }
    return out;
}

namespace {
constexpr const char* kPutMigratedUser =
    "INSERT INTO migrated_users(primary_id, local_id, home_system, since_ms) "
    "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(primary_id) DO UPDATE SET "
    "local_id = excluded.local_id, home_system = excluded.home_system, "
    "since_ms = excluded.since_ms";

// The parameters of kPutMigratedUser (a Statement; private to SqliteStore, hence deduced).
auto& bind_migrated_user(auto& s, const MigratedUser& u) {
    return s.bind(1, u.primary_id.uri())
        .bind(2, u.local_id.uri())
        .bind(3, u.home_system)
        .bind(4, u.since_ms);
}
}  // namespace

Result<void> SqliteStore::put_migrated_user(const MigratedUser& u) {
    return write("put_migrated_user", Generation::moves, [&]() -> Result<void> {
        Statement s(db_, kPutMigratedUser);
        return step_done(bind_migrated_user(s, u), "put_migrated_user");
    });
}

Result<std::optional<MigratedUser>> SqliteStore::migrated_user(const McServiceId& primary_id) {
    std::lock_guard lock(mutex_);
    Statement s(db_,
                "SELECT local_id, home_system, since_ms FROM migrated_users WHERE primary_id = ?1");
    MCX_STORE_CHECK(s, "migrated_user");
    if (s.bind(1, primary_id.uri()).step() == SQLITE_ROW) {
        return std::optional<MigratedUser>(MigratedUser{primary_id, column_id(s.stmt, 0),
                                                        column_text(s.stmt, 1),
                                                        sqlite3_column_int64(s.stmt, 2)});
    }
    return std::optional<MigratedUser>{};
}

Result<std::vector<MigratedUser>> SqliteStore::migrated_users() {
    std::lock_guard lock(mutex_);
    Statement s(db_,
                "SELECT primary_id, local_id, home_system, since_ms FROM migrated_users ORDER BY "
                "primary_id");
    MCX_STORE_CHECK(s, "migrated_users");
    std::vector<MigratedUser> out;
    while (s.step() == SQLITE_ROW) {
        out.push_back(MigratedUser{column_id(s.stmt, 0), column_id(s.stmt, 1),
                                   column_text(s.stmt, 2), sqlite3_column_int64(s.stmt, 3)});
    }
    return out;
}

Result<void> SqliteStore::put_migrated_profile(const StoredProfile& p, const MigratedUser& u) {
    // One commit (one fsync) on the path of a migration's profile step.
    return write("put_migrated_profile", Generation::moves, [&]() -> Result<void> {
        Statement profile(db_,
                          "INSERT INTO profiles(user_id, idx, xml, etag) VALUES(?1, ?2, ?3, ?4) "
                          "ON CONFLICT(user_id, idx) DO UPDATE SET xml = excluded.xml, "
                          "etag = excluded.etag");
        if (auto r = step_done(profile.bind(1, p.user.uri())
                                   .bind(2, static_cast<std::int64_t>(p.index))
                                   .bind(3, p.xml)
                                   .bind(4, etag_of(p.xml)),
                               "put_migrated_profile: profile");
            !r) {
            return r;
        }
        Statement row(db_, kPutMigratedUser);
        return step_done(bind_migrated_user(row, u), "put_migrated_profile: row");
    });
}

Result<bool> SqliteStore::remove_migrated_user(const McServiceId& primary_id) {
    // One transaction: the row and the profile the partner kept for the user go together.
    return write("remove_migrated_user", Generation::moves, [&]() -> Result<bool> {
        std::string local;
        {
            Statement find(db_, "SELECT local_id FROM migrated_users WHERE primary_id = ?1");
            if (find.rc != SQLITE_OK) return tl::unexpected(failure("remove_migrated_user"));
            if (find.bind(1, primary_id.uri()).step() == SQLITE_ROW) {
                local = column_text(find.stmt, 0);
            }
        }
        if (local.empty()) return false;
        Statement row(db_, "DELETE FROM migrated_users WHERE primary_id = ?1");
        Statement profiles(db_, "DELETE FROM profiles WHERE user_id = ?1");
        for (auto r : {step_done(row.bind(1, primary_id.uri()), "remove_migrated_user: row"),
                       step_done(profiles.bind(1, local), "remove_migrated_user: profile")}) {
            if (!r) return tl::unexpected(r.error());
        }
        return true;
    });
}

Result<void> SqliteStore::put_roaming_user(const RoamingUser& u) {
    return write("put_roaming_user", Generation::moves, [&]() -> Result<void> {
        Statement s(db_,
                    "INSERT INTO roaming_users(primary_id, system, assigned_id, since_ms) "
                    "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(primary_id) DO UPDATE SET "
                    "system = excluded.system, assigned_id = excluded.assigned_id, "
                    "since_ms = excluded.since_ms");
        return step_done(s.bind(1, u.primary_id.uri())
                             .bind(2, u.system)
                             .bind(3, u.assigned_id.uri())
                             .bind(4, u.since_ms),
                         "put_roaming_user");
    });
}

Result<std::optional<RoamingUser>> SqliteStore::roaming_user(const McServiceId& primary_id) {
    std::lock_guard lock(mutex_);
    Statement s(db_,
                "SELECT system, assigned_id, since_ms FROM roaming_users WHERE primary_id = ?1");
    MCX_STORE_CHECK(s, "roaming_user");
    if (s.bind(1, primary_id.uri()).step() == SQLITE_ROW) {
        return std::optional<RoamingUser>(RoamingUser{primary_id, column_text(s.stmt, 0),
                                                      column_id(s.stmt, 1),
                                                      sqlite3_column_int64(s.stmt, 2)});
    }
    return std::optional<RoamingUser>{};
}

Result<std::vector<RoamingUser>> SqliteStore::roaming_users() {
    std::lock_guard lock(mutex_);
    Statement s(db_,
                "SELECT primary_id, system, assigned_id, since_ms FROM roaming_users ORDER BY "
                "primary_id");
    MCX_STORE_CHECK(s, "roaming_users");
    std::vector<RoamingUser> out;
    while (s.step() == SQLITE_ROW) {
        out.push_back(RoamingUser{column_id(s.stmt, 0), column_text(s.stmt, 1),
                                  column_id(s.stmt, 2), sqlite3_column_int64(s.stmt, 3)});
    }
    return out;
}

Result<bool> SqliteStore::remove_roaming_user(const McServiceId& primary_id) {
    return write("remove_roaming_user", Generation::moves, [&]() -> Result<bool> {
        Statement s(db_, "DELETE FROM roaming_users WHERE primary_id = ?1");
        if (auto r = step_done(s.bind(1, primary_id.uri()), "remove_roaming_user"); !r) {
            return tl::unexpected(r.error());
        }
        return sqlite3_changes(db_) > 0;
    });
}

// Tokens are not cached over generation(): their writes leave it (a login must not empty the
// profile caches).
Result<void> SqliteStore::put_current_token(const TokenRow& t, std::int64_t now) {
    return write("put_current_token", Generation::stays, [&]() -> Result<void> {
        Statement prune(db_, "DELETE FROM tokens WHERE expires_at < ?1");
        Statement put(db_,
                      "INSERT INTO tokens(user_id, client_id, jti, issued_at, expires_at) "
                      "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(user_id, client_id) DO UPDATE SET "
                      "jti = excluded.jti, issued_at = excluded.issued_at, "
                      "expires_at = excluded.expires_at");
        // Kept a minute past expiry: tokens are accepted with 30 s of clock skew.
        if (auto r = step_done(prune.bind(1, now - 60), "put_current_token: prune"); !r) return r;
        return step_done(put.bind(1, t.user.uri())
                             .bind(2, t.client_id)
                             .bind(3, t.token_id)
                             .bind(4, t.issued_at)
                             .bind(5, t.expires_at),
                         "put_current_token");
    });
}

Result<bool> SqliteStore::remove_current_token(const McServiceId& user,
                                               const std::string& client_id,
                                               const std::string& token_id) {
    return write("remove_current_token", Generation::stays, [&]() -> Result<bool> {
        Statement s(db_, "DELETE FROM tokens WHERE user_id = ?1 AND client_id = ?2 AND jti = ?3");
        if (auto r = step_done(s.bind(1, user.uri()).bind(2, client_id).bind(3, token_id),
                               "remove_current_token");
            !r) {
            return tl::unexpected(r.error());
        }
        return sqlite3_changes(db_) > 0;
    });
}

Result<std::vector<TokenRow>> SqliteStore::current_tokens() {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT user_id, client_id, jti, issued_at, expires_at FROM tokens");
    MCX_STORE_CHECK(s, "current_tokens");
    std::vector<TokenRow> out;
    while (s.step() == SQLITE_ROW) {
        out.push_back(TokenRow{column_id(s.stmt, 0), column_text(s.stmt, 1), column_text(s.stmt, 2),
                               sqlite3_column_int64(s.stmt, 3), sqlite3_column_int64(s.stmt, 4)});
    }
    return out;
}

Result<bool> SqliteStore::poll_external_changes() {
    std::lock_guard lock(mutex_);
    Statement s(db_, "PRAGMA data_version");
    MCX_STORE_CHECK(s, "data_version");
    if (s.step() != SQLITE_ROW) {
        return fail(Errc::io, std::string("data_version: ") + sqlite3_errmsg(db_));
    }
    const auto version = sqlite3_column_int64(s.stmt, 0);
    if (data_version_ == version) return false;
    const bool first = !data_version_;
    data_version_ = version;
    if (first) return false;
    ++generation_;
    return true;
}

Result<std::optional<std::string>> SqliteStore::meta(const std::string& key) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT value FROM meta WHERE key = ?1");
    MCX_STORE_CHECK(s, "meta");
    if (s.bind(1, key).step() == SQLITE_ROW)
        return std::optional<std::string>(column_text(s.stmt, 0));
    return std::optional<std::string>{};
}

Result<void> SqliteStore::put_meta(const std::string& key, const std::string& value) {
    return write("put_meta", Generation::moves, [&]() -> Result<void> {
        Statement s(db_,
                    "INSERT INTO meta(key, value) VALUES(?1, ?2) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
        return step_done(s.bind(1, key).bind(2, value), "put_meta");
    });
}

Result<std::string> SqliteStore::integrity_check() {
    std::lock_guard lock(mutex_);
    Statement s(db_, "PRAGMA integrity_check");
    MCX_STORE_CHECK(s, "integrity_check");
    std::string out;
    while (s.step() == SQLITE_ROW) {
        if (!out.empty()) out += "; ";
        out += column_text(s.stmt, 0);
    }
    return out;
}

}  // namespace mcx::store
