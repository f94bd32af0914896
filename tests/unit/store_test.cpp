#include "store/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

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

}  // namespace
}  // namespace mcx::store
