#include "store/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <sys/stat.h>

#include <filesystem>
#include <functional>

#include "test_support.hpp"

namespace mcx::store {
namespace {

namespace fs = std::filesystem;

McServiceId id(const char* uri) {
    return *McServiceId::parse(uri);
}

struct StoreTest : ::testing::Test {
    fs::path dir = fs::temp_directory_path() /
                   ("mcx-store-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    void SetUp() override {
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }
    std::unique_ptr<SqliteStore> open() {
        auto s = SqliteStore::open((dir / "t.db").string());
        EXPECT_TRUE(s) << s.error().reason;
        return std::move(*s);
    }
};

TEST_F(StoreTest, UsersProfilesAndMetaSurviveReopening) {
    {
        auto s = open();
        ASSERT_TRUE(s->put_user(id("sip:alice@a.mcx"), "hash-a"));
        ASSERT_TRUE(s->put_profiles(
            {{id("sip:alice@a.mcx"), 0, "<p0/>", {}}, {id("sip:alice@a.mcx"), 1, "<p1/>", {}}}));
        ASSERT_TRUE(s->put_meta("seeded", "1"));
        ASSERT_TRUE(
            s->put_migrated_user({id("sip:carol@b.mcx"), id("sip:carol.b@a.mcx"), "B", 42}));
    }
    auto s = open();
    EXPECT_EQ(**s->password_hash(id("sip:alice@a.mcx")), "hash-a");
    EXPECT_FALSE(*s->password_hash(id("sip:nobody@a.mcx")));
    auto p1 = *s->profile(id("sip:alice@a.mcx"), 1);
    ASSERT_TRUE(p1);
    EXPECT_EQ(p1->xml, "<p1/>");
    EXPECT_EQ(p1->etag, etag_of("<p1/>"));
    EXPECT_EQ(*s->profile_count(), 2u);
    EXPECT_EQ(**s->meta("seeded"), "1");
    auto migrated = *s->migrated_user(id("sip:carol@b.mcx"));
    ASSERT_TRUE(migrated);
    EXPECT_EQ(migrated->local_id, id("sip:carol.b@a.mcx"));
    EXPECT_EQ(*s->integrity_check(), "ok");
}

TEST_F(StoreTest, AdminRoleIsOffForNewUsersAndKeptAcrossReopeningAndPasswordChanges) {
    const auto alice = id("sip:alice@a.mcx");
    {
        auto s = open();
        ASSERT_TRUE(s->put_user(alice, "hash-a"));
        EXPECT_FALSE(s->is_admin(alice).value_or(true));
        EXPECT_TRUE(s->set_admin(alice, true).value_or(false));
        EXPECT_FALSE(s->set_admin(id("sip:nobody@a.mcx"), true).value_or(true)) << "no such user";
        EXPECT_FALSE(s->is_admin(id("sip:nobody@a.mcx")).value_or(true));
    }
    auto s = open();
    EXPECT_TRUE(s->is_admin(alice).value_or(false));
    ASSERT_TRUE(s->put_user(alice, "hash-a2"));  // a new password keeps the role
    EXPECT_TRUE(s->is_admin(alice).value_or(false));
    EXPECT_TRUE(s->set_admin(alice, false).value_or(false));
    EXPECT_FALSE(s->is_admin(alice).value_or(true));
    ASSERT_TRUE(s->set_admin(alice, true).value_or(false));
    ASSERT_TRUE(s->remove_user(alice).value_or(false));
    ASSERT_TRUE(s->put_user(alice, "hash-a3"));
    EXPECT_FALSE(s->is_admin(alice).value_or(true))
        << "a user removed and added again starts without it";
}

// A store written before the admin column existed (the users table of issue 4): opening it adds
// the column, the users keep their hashes and are no administrators.
TEST_F(StoreTest, AnOlderStoreGetsTheAdminColumnWhenOpened) {
    const auto path = (dir / "t.db").string();
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db,
                               "CREATE TABLE users (id TEXT PRIMARY KEY, password_hash TEXT NOT "
                               "NULL); INSERT INTO users VALUES('sip:alice@a.mcx', 'hash-a');",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);
    }
    {
        auto s = open();
        EXPECT_EQ(**s->password_hash(id("sip:alice@a.mcx")), "hash-a");
        const auto admin = s->is_admin(id("sip:alice@a.mcx"));
        ASSERT_TRUE(admin) << admin.error().reason;
        EXPECT_FALSE(*admin);
        const auto set = s->set_admin(id("sip:alice@a.mcx"), true);
        ASSERT_TRUE(set) << set.error().reason;
        EXPECT_TRUE(*set);
    }
    auto s = open();  // the column exists now: opening again adds nothing
    EXPECT_TRUE(*s->is_admin(id("sip:alice@a.mcx")));
    EXPECT_EQ(*s->integrity_check(), "ok");
}

TEST_F(StoreTest, EtagFollowsTheContentAndGenerationCountsWrites) {
    auto s = open();
    const auto g0 = s->generation();
    ASSERT_TRUE(s->put_profiles({{id("sip:a@a.mcx"), 0, "<v1/>", {}}}));
    const auto e1 = (*s->profile(id("sip:a@a.mcx"), 0))->etag;
    ASSERT_TRUE(s->put_profiles({{id("sip:a@a.mcx"), 0, "<v2/>", {}}}));
    const auto e2 = (*s->profile(id("sip:a@a.mcx"), 0))->etag;
    EXPECT_NE(e1, e2);
    EXPECT_EQ(e1.front(), '"') << "ETags are quoted (RFC 7232)";
    EXPECT_EQ(s->generation(), g0 + 2);
}

TEST_F(StoreTest, RemovingAUserRemovesItsProfiles) {
    auto s = open();
    ASSERT_TRUE(s->put_user(id("sip:a@a.mcx"), "h"));
    ASSERT_TRUE(s->put_profiles({{id("sip:a@a.mcx"), 0, "<x/>", {}}}));
    EXPECT_TRUE(*s->remove_user(id("sip:a@a.mcx")));
    EXPECT_FALSE(*s->remove_user(id("sip:a@a.mcx")));
    EXPECT_EQ(*s->profile_count(), 0u);
    EXPECT_TRUE(s->users()->empty());
}

// A user leaving this partner system takes its row and the profile kept for it; the primary's
// record of where its users are survives a reopening.
TEST_F(StoreTest, MigratedUsersLeaveAndRoamingUsersAreKept) {
    {
        auto s = open();
        ASSERT_TRUE(s->put_profiles({{id("sip:carol.b@a.mcx"), 0, "<x/>", {}}}));
        ASSERT_TRUE(
            s->put_migrated_user({id("sip:carol@b.mcx"), id("sip:carol.b@a.mcx"), "B", 42}));
        ASSERT_TRUE(s->put_roaming_user({id("sip:alice@a.mcx"), "C", id("sip:alice.a@c.mcx"), 7}));
        const auto before = s->generation();
        EXPECT_EQ(s->remove_migrated_user(id("sip:carol@b.mcx")), true);
        EXPECT_GT(s->generation(), before);
        EXPECT_FALSE(*s->migrated_user(id("sip:carol@b.mcx")));
        EXPECT_FALSE(*s->profile(id("sip:carol.b@a.mcx"), 0)) << "its profile goes with it";
        EXPECT_EQ(s->remove_migrated_user(id("sip:carol@b.mcx")), false);
    }
    auto s = open();
    auto roaming = *s->roaming_user(id("sip:alice@a.mcx"));
    ASSERT_TRUE(roaming);
    EXPECT_EQ(roaming->system, "C");
    EXPECT_EQ(roaming->assigned_id, id("sip:alice.a@c.mcx"));
    EXPECT_EQ(s->roaming_users()->size(), 1u);
    EXPECT_EQ(s->remove_roaming_user(id("sip:alice@a.mcx")), true);
    EXPECT_FALSE(*s->roaming_user(id("sip:alice@a.mcx")));
}

// The profile a partner keeps for a migrating user and its row commit together.
TEST_F(StoreTest, MigratedProfileAndRowInOneCommit) {
    auto s = open();
    const auto before = s->generation();
    ASSERT_TRUE(s->put_migrated_profile({id("sip:alice.a@b.mcx"), 0, "<p/>", {}},
                                        {id("sip:alice@a.mcx"), id("sip:alice.a@b.mcx"), "A", 9}));
    EXPECT_EQ(s->generation(), before + 1);
    auto stored = *s->profile(id("sip:alice.a@b.mcx"), 0);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->xml, "<p/>");
    EXPECT_FALSE(stored->etag.empty());
    auto row = *s->migrated_user(id("sip:alice@a.mcx"));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->local_id, id("sip:alice.a@b.mcx"));
    // A second user may not take the same local ID: nothing of that attempt is kept.
    EXPECT_FALSE(s->put_migrated_profile({id("sip:bob.x@b.mcx"), 0, "<q/>", {}},
                                         {id("sip:bob@x.mcx"), id("sip:alice.a@b.mcx"), "X", 1}));
    EXPECT_FALSE(*s->profile(id("sip:bob.x@b.mcx"), 0)) << "rolled back";
    EXPECT_FALSE(*s->migrated_user(id("sip:bob@x.mcx")));
}

// The IdMS's current tokens (docs/identity.md): one row per user and client, replaced by the
// next login, removed by a revocation naming it and with the user; expired rows pruned.
TEST_F(StoreTest, CurrentTokensPerUserAndClient) {
    auto s = open();
    const auto alice = id("sip:alice@a.mcx");
    ASSERT_TRUE(s->put_user(alice, "h"));
    ASSERT_TRUE(s->put_current_token({alice, "c1", "j1", 100, 3700}, 100));
    ASSERT_TRUE(s->put_current_token({alice, "c1", "j2", 200, 3800}, 200));
    ASSERT_TRUE(s->put_current_token({alice, "c2", "j3", 200, 250}, 200));
    ASSERT_TRUE(s->put_current_token({id("sip:bob@a.mcx"), "c1", "j4", 300, 3900}, 300));
    auto rows = *s->current_tokens();
    ASSERT_EQ(rows.size(), 3u);
    for (const auto& r : rows) {
        if (r.user == alice && r.client_id == "c1") {
            EXPECT_EQ(r.token_id, "j2");
        }
    }
    // j3 expired at 250: the next write (at 400) drops it.
    ASSERT_TRUE(s->put_current_token({id("sip:carol@a.mcx"), "c1", "j5", 400, 4000}, 400));
    EXPECT_EQ(s->current_tokens()->size(), 3u);
    EXPECT_EQ(s->remove_current_token(alice, "c1", "j1"), false) << "not the current one";
    EXPECT_EQ(s->remove_current_token(alice, "c1", "j2"), true);
    ASSERT_TRUE(s->put_current_token({alice, "c1", "j6", 500, 4100}, 500));
    EXPECT_EQ(s->remove_user(alice), true);
    rows = *s->current_tokens();
    EXPECT_EQ(rows.size(), 2u);
    for (const auto& r : rows) EXPECT_NE(r.user, alice) << "removed with the user";
}

// mcxd learns of changes made by another process (mcx admin) through PRAGMA data_version;
// its own writes do not count.
TEST_F(StoreTest, ChangesOfAnotherConnectionAreNoticed) {
    auto server = open();
    auto admin = open();
    EXPECT_EQ(server->poll_external_changes(), false);
    ASSERT_TRUE(server->put_user(id("sip:bob@a.mcx"), "h"));
    EXPECT_EQ(server->poll_external_changes(), false) << "its own write";
    const auto generation = server->generation();
    ASSERT_TRUE(admin->put_user(id("sip:alice@a.mcx"), "h"));
    EXPECT_EQ(server->poll_external_changes(), true);
    EXPECT_EQ(server->generation(), generation + 1) << "the caches over it reload";
    EXPECT_EQ(server->poll_external_changes(), false);
    ASSERT_TRUE(admin->remove_user(id("sip:alice@a.mcx")));
    EXPECT_EQ(server->poll_external_changes(), true);
}

// Every kind of write of the store, each on the rows `seed` wrote.
struct Write {
    const char* name;
    std::function<bool(SqliteStore&)> run;  // true when it succeeded
};

void seed(SqliteStore& s) {
    const auto alice = id("sip:alice@a.mcx");
    ASSERT_TRUE(s.put_user(alice, "hash-a"));
    ASSERT_TRUE(s.put_profiles({{alice, 0, "<alice/>", {}}, {alice, 1, "<alice1/>", {}}}));
    ASSERT_TRUE(s.put_current_token({alice, "c1", "j1", 100, 3700}, 100));
    ASSERT_TRUE(s.put_migrated_profile({id("sip:carol.b@a.mcx"), 0, "<carol/>", {}},
                                       {id("sip:carol@b.mcx"), id("sip:carol.b@a.mcx"), "B", 1}));
    ASSERT_TRUE(s.put_roaming_user({alice, "C", id("sip:alice.a@c.mcx"), 7}));
    ASSERT_TRUE(s.put_partner({"B", "b.mcx", "mcx-idms:B", "https://b"}));
    ASSERT_TRUE(s.put_meta("seeded", "1"));
}

std::vector<Write> every_write() {
    const auto alice = id("sip:alice@a.mcx");
    return {
        {"put_user", [](SqliteStore& s) { return bool(s.put_user(id("sip:bob@a.mcx"), "h")); }},
        {"set_admin", [alice](SqliteStore& s) { return bool(s.set_admin(alice, true)); }},
        {"remove_user", [alice](SqliteStore& s) { return bool(s.remove_user(alice)); }},
        {"put_profiles",
         [alice](SqliteStore& s) {
             return bool(s.put_profiles({{alice, 0, "<new/>", {}}, {alice, 2, "<two/>", {}}}));
         }},
        {"remove_profile", [alice](SqliteStore& s) { return bool(s.remove_profile(alice, 1)); }},
        {"put_partner",
         [](SqliteStore& s) {
             return bool(s.put_partner({"D", "d.mcx", "mcx-idms:D", ""}));
         }},
        {"put_migrated_user",
         [](SqliteStore& s) {
             return bool(s.put_migrated_user({id("sip:dan@d.mcx"), id("sip:dan.d@a.mcx"), "D", 2}));
         }},
        {"put_migrated_profile",
         [](SqliteStore& s) {
             return bool(
                 s.put_migrated_profile({id("sip:eve.d@a.mcx"), 0, "<eve/>", {}},
                                        {id("sip:eve@d.mcx"), id("sip:eve.d@a.mcx"), "D", 3}));
         }},
        {"remove_migrated_user",
         [](SqliteStore& s) { return bool(s.remove_migrated_user(id("sip:carol@b.mcx"))); }},
        {"put_roaming_user",
         [](SqliteStore& s) {
             return bool(s.put_roaming_user({id("sip:bob@a.mcx"), "C", id("sip:bob.a@c.mcx"), 8}));
         }},
        {"remove_roaming_user",
         [alice](SqliteStore& s) { return bool(s.remove_roaming_user(alice)); }},
        {"put_current_token",
         [alice](SqliteStore& s) {
             return bool(s.put_current_token({alice, "c2", "j2", 200, 3800}, 200));
         }},
        {"remove_current_token",
         [alice](SqliteStore& s) { return bool(s.remove_current_token(alice, "c1", "j1")); }},
        {"put_meta", [](SqliteStore& s) { return bool(s.put_meta("seeded", "2")); }},
    };
}

// What `seed` wrote, unchanged, and nothing else.
void expect_seeded_rows_only(SqliteStore& s) {
    const auto alice = id("sip:alice@a.mcx");
    EXPECT_EQ(*s.users(), std::vector<McServiceId>{alice});
    EXPECT_FALSE(*s.is_admin(alice));
    ASSERT_TRUE(*s.profile(alice, 1));
    EXPECT_EQ((*s.profile(alice, 0))->xml, "<alice/>");
    EXPECT_EQ(*s.profile_count(), 3u);
    ASSERT_EQ(s.current_tokens()->size(), 1u);
    EXPECT_EQ(s.current_tokens()->front().token_id, "j1");
    ASSERT_EQ(s.migrated_users()->size(), 1u);
    EXPECT_EQ(s.roaming_users()->size(), 1u);
    EXPECT_EQ(s.partners()->size(), 1u);
    EXPECT_EQ(**s.meta("seeded"), "1");
    EXPECT_EQ(*s.integrity_check(), "ok");
}

// A COMMIT that fails leaves its transaction open (here: a deferred foreign key that the
// commit finds broken; the same for SQLITE_BUSY): without a ROLLBACK it would keep the write
// lock and every later write of mcxd would fail with "cannot start a transaction within a
// transaction". Each write path must roll back, report and count it.
TEST_F(StoreTest, EveryWriteWhoseCommitFailsIsRolledBackAndTheNextWriteWorks) {
    auto s = open();
    seed(*s);
    const auto path = (dir / "t.db").string();
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
    std::string guards =
        "CREATE TABLE commit_guard_parent(id INTEGER PRIMARY KEY);"
        "CREATE TABLE commit_guard(parent INTEGER REFERENCES commit_guard_parent(id) "
        "DEFERRABLE INITIALLY DEFERRED);";
    for (const char* table :
         {"users", "profiles", "partners", "migrated_users", "roaming_users", "tokens", "meta"}) {
        for (const char* event : {"INSERT", "UPDATE", "DELETE"}) {
            guards += std::string("CREATE TRIGGER guard_") + table + "_" + event + " AFTER " +
                      event + " ON " + table + " BEGIN INSERT INTO commit_guard VALUES(1); END;";
        }
    }
    ASSERT_EQ(sqlite3_exec(other, guards.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    const auto writes = every_write();
    for (const auto& write : writes) {
        EXPECT_FALSE(write.run(*s)) << write.name << " committed past a broken constraint";
        // The write lock is free again: the failed transaction is gone.
        EXPECT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE; ROLLBACK;", nullptr, nullptr, nullptr),
                  SQLITE_OK)
            << write.name << " left its transaction open: " << sqlite3_errmsg(other);
    }
    EXPECT_EQ(s->write_failures(), writes.size());
    ASSERT_EQ(sqlite3_exec(other, "DROP TABLE commit_guard;", nullptr, nullptr, nullptr),
              SQLITE_OK);
    for (const char* table :
         {"users", "profiles", "partners", "migrated_users", "roaming_users", "tokens", "meta"}) {
        for (const char* event : {"INSERT", "UPDATE", "DELETE"}) {
            const auto drop = std::string("DROP TRIGGER guard_") + table + "_" + event;
            ASSERT_EQ(sqlite3_exec(other, drop.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        }
    }
    sqlite3_close(other);
    expect_seeded_rows_only(*s);
    for (const auto& write : writes) EXPECT_TRUE(write.run(*s)) << write.name;
    EXPECT_EQ(s->write_failures(), writes.size()) << "successes are not counted";
}

// A full disk (here: the file size limit, EFBIG where a full disk says ENOSPC): every write
// fails at its COMMIT, when SQLite appends to the WAL, with a message naming the store and the
// cause; nothing of it is kept, the file stays sound, and writes work again once there is room.
TEST_F(StoreTest, OnAFullDiskEveryWriteFailsCleanlyAndWorksAgainOnceThereIsRoom) {
    auto s = open();
    seed(*s);
    const auto path = (dir / "t.db").string();
    const auto writes = every_write();
    {
        const test::FileSizeLimit full(fs::file_size(path + "-wal"));
        for (const auto& write : writes) EXPECT_FALSE(write.run(*s)) << write.name;
        auto checked = s->check_writable("start");
        ASSERT_FALSE(checked) << "a full disk is found at start";
        EXPECT_NE(checked.error().reason.find("store " + path + ": put_meta: commit: "),
                  std::string::npos)
            << checked.error().reason;
        // SQLite's word, and the operating system's or the failed step's.
        const auto& reason = checked.error().reason;
        const bool cause_named =
            reason.find("database or disk is full") != std::string::npos ||
            reason.find("File too large") != std::string::npos ||
            reason.find("disk I/O error (a write failed: is the disk full?)") != std::string::npos;
        EXPECT_TRUE(cause_named) << checked.error().reason;
        EXPECT_EQ(s->write_failures(), writes.size() + 1);
        expect_seeded_rows_only(*s);
    }
    ASSERT_TRUE(s->check_writable("start"));
    for (const auto& write : writes) EXPECT_TRUE(write.run(*s)) << write.name;
    EXPECT_EQ(*s->integrity_check(), "ok");
    s.reset();
    auto reopened = open();
    EXPECT_EQ(*reopened->integrity_check(), "ok");
    EXPECT_EQ(reopened->users()->size(), 1u) << "alice removed, bob added";
    EXPECT_TRUE(**reopened->password_hash(id("sip:bob@a.mcx")) == "h");
}

// SQLite opens a file it may not write for reading only, without a word; the store refuses
// it at open, naming the file (mcxd then stops with exit code 3, not at the first write).
TEST_F(StoreTest, AReadOnlyStoreFileIsRefusedAtOpen) {
    const auto path = (dir / "t.db").string();
    {
        auto s = open();
        seed(*s);
    }
    ASSERT_EQ(::chmod(path.c_str(), 0444), 0);
    const test::FileModesApply modes;
    auto refused = SqliteStore::open(path);
    ASSERT_FALSE(refused) << "a read-only store was opened";
    EXPECT_NE(refused.error().reason.find("store " + path + " is read-only"), std::string::npos)
        << refused.error().reason;
}

TEST_F(StoreTest, AStoreInADirectoryThatCannotBeWrittenIsRefusedAtOpen) {
    const auto path = (dir / "t.db").string();
    {
        auto s = open();
        seed(*s);
    }
    ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);
    std::string reason;
    {
        const test::FileModesApply modes;
        auto refused = SqliteStore::open(path);
        if (!refused) reason = refused.error().reason;
    }
    ::chmod(dir.c_str(), 0755);
    ASSERT_FALSE(reason.empty()) << "opened, though SQLite cannot write " << path << "-wal";
    EXPECT_NE(reason.find("store " + path), std::string::npos) << reason;
    EXPECT_NE(reason.find("its directory must be writable"), std::string::npos) << reason;
}

}  // namespace
}  // namespace mcx::store
