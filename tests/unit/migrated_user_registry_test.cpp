// The registry of migrated and roaming users sees what the CMS writes into the store and
// forgets a user who leaves (TS 23.280 10.16.3 / 10.16.5).
#include "server/migrated_user_registry.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/sqlite_store.hpp"

namespace mcx::server {
namespace {

namespace fs = std::filesystem;

McServiceId id(const char* uri) {
    return *McServiceId::parse(uri);
}

struct RegistryTest : ::testing::Test {
    fs::path dir = fs::temp_directory_path() / ("mcx-registry-" + std::to_string(::getpid()));
    std::unique_ptr<store::SqliteStore> store;
    void SetUp() override {
        fs::remove_all(dir);
        fs::create_directories(dir);
        store = std::move(*store::SqliteStore::open((dir / "r.db").string()));
    }
    void TearDown() override {
        store.reset();
        fs::remove_all(dir);
    }
};

TEST_F(RegistryTest, SeesRowsWrittenByOthersAndForgetsUsersWhoLeave) {
    MigratedUserRegistry registry(*store);
    EXPECT_FALSE(registry.by_local_id(id("sip:alice.a@b.mcx")));
    // The CMS (another user of the same store) records the migrated user.
    ASSERT_TRUE(store->put_profiles({{id("sip:alice.a@b.mcx"), 0, "<p/>", {}}}));
    ASSERT_TRUE(
        store->put_migrated_user({id("sip:alice@a.mcx"), id("sip:alice.a@b.mcx"), "A", 1000}));
    auto known = registry.by_local_id(id("sip:alice.a@b.mcx"));
    ASSERT_TRUE(known) << "the registry reloads when the store changed";
    EXPECT_EQ(known->primary_id, id("sip:alice@a.mcx"));
    EXPECT_EQ(registry.by_primary_id(id("sip:alice@a.mcx"))->home_system, "A");
    EXPECT_EQ(registry.migrated().size(), 1u);

    EXPECT_EQ(registry.remove(id("sip:alice.a@b.mcx")), true);
    EXPECT_FALSE(registry.by_local_id(id("sip:alice.a@b.mcx")));
    EXPECT_FALSE(*store->profile(id("sip:alice.a@b.mcx"), 0)) << "B forgets the user";
    EXPECT_EQ(registry.remove(id("sip:alice.a@b.mcx")), false);
}

TEST_F(RegistryTest, AddIsIdempotentAndRoamingClearsWhenHome) {
    MigratedUserRegistry registry(*store);
    const store::MigratedUser carol{id("sip:carol@c.mcx"), id("sip:carol.c@b.mcx"), "C", 5};
    ASSERT_TRUE(registry.add(carol));
    const auto generation = store->generation();
    ASSERT_TRUE(registry.add(carol));
    EXPECT_EQ(store->generation(), generation) << "a known user is not written again";

    ASSERT_TRUE(store->put_roaming_user({id("sip:bob@b.mcx"), "C", id("sip:bob.b@c.mcx"), 9}));
    auto away = registry.roaming(id("sip:bob@b.mcx"));
    ASSERT_TRUE(away);
    EXPECT_EQ(away->system, "C");
    EXPECT_EQ(registry.returned_home(id("sip:bob@b.mcx")), true);
    EXPECT_FALSE(registry.roaming(id("sip:bob@b.mcx")));
    EXPECT_EQ(registry.returned_home(id("sip:bob@b.mcx")), false);
}

}  // namespace
}  // namespace mcx::server
