// The CMS driven directly: two systems in one process, the partner link a function call.
#include "cms/cms.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cms/admin.hpp"
#include "cms/profile_import.hpp"
#include "cms/profiles.hpp"
#include "idms/keys.hpp"
#include "idms/password.hpp"
#include "proto/user_profile.hpp"
#include "store/sqlite_store.hpp"

namespace mcx::cms {
namespace {

namespace fs = std::filesystem;
constexpr std::int64_t kNow = 1'800'000'000;

McServiceId id(const char* uri) {
    return *McServiceId::parse(uri);
}

struct System {
    SystemConfig config;
    idms::SigningKey key = *idms::SigningKey::generate();
    std::unique_ptr<store::SqliteStore> store;
    std::unique_ptr<idms::TokenIssuer> issuer;
    std::unique_ptr<idms::TokenVerifier> verifier;
    std::unique_ptr<ConfigurationManagementServer> cms;

    void start(const fs::path& db, PartnerGet get) {
        store = std::move(*store::SqliteStore::open(db.string()));
        issuer = std::make_unique<idms::TokenIssuer>(key, config.idms_issuer(),
                                                     config.token_audience(), 3600);
        verifier = std::make_unique<idms::TokenVerifier>(config.token_audience());
        verifier->trust(config.idms_issuer(), {key.public_pem, config.domain, {}});
        ASSERT_TRUE(seed_store(*store, config));
        cms = std::make_unique<ConfigurationManagementServer>(config, *store, *verifier, *issuer,
                                                              std::move(get), [] { return kNow; });
    }
    std::string token(const char* user, const std::string& audience = {}) {
        return "Bearer " + *issuer->issue_for(id(user), "c",
                                              audience.empty() ? config.token_audience() : audience,
                                              kNow);
    }
};

struct CmsTest : ::testing::Test {
    fs::path dir = fs::temp_directory_path() /
                   ("mcx-cms-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    System a, b;

    void SetUp() override {
        fs::remove_all(dir);
        fs::create_directories(dir);
        a.config.system_id = "A";
        a.config.domain = "a.mcx";
        UserConfig alice{id("sip:alice@a.mcx"),
                         "pw",
                         true,
                         false,
                         {id("sip:bob@a.mcx"), id("sip:carol@b.mcx")},
                         true,
                         false,
                         {"B"}};
        UserConfig bob{id("sip:bob@a.mcx"), "pw", true, true, {}, true, false, {}};
        a.config.users = {alice, bob};
        a.config.partners = {
            PartnerConfig{"B", "b.mcx", "", "key", "http://b", "", 0, {}, false, 3600}};
        b.config.system_id = "B";
        b.config.domain = "b.mcx";
        b.config.partners = {
            PartnerConfig{"A", "a.mcx", "", "key", "http://a", "", 0, {}, false, 3600}};
        b.config.migration.private_call_to_any_user = false;
        b.config.migration.private_call_targets = {id("sip:carol@b.mcx")};
        a.start(dir / "a.db",
                [](const std::string&, const std::string&) -> Result<PartnerResponse> {
                    return fail(Errc::io, "A never asks");
                });
        // B's partner link reaches A's CMS directly.
        b.start(
            dir / "b.db",
            [this](const std::string& url, const std::string& token) -> Result<PartnerResponse> {
                const auto q = url.find("?user=");
                if (url.rfind("http://a/cms/partner/migration-profile", 0) != 0 ||
                    q == std::string::npos) {
                    return fail(Errc::io, "unreachable " + url);
                }
                // ?user=<primary>&assigned=<ID given here> (the primary learns where it is).
                std::map<std::string, std::string> params;
                for (auto rest = url.substr(q + 1); !rest.empty();) {
                    const auto amp = rest.find('&');
                    const auto pair = rest.substr(0, amp);
                    const auto eq = pair.find('=');
                    params[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
                    rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
                }
                // Over the partner HTTPS listener, B's certificate (CN "B").
                auto reply = a.cms->get_migration_profile(CmsRequest{
                    "/cms/partner/migration-profile", params, "Bearer " + token, "", true, "B"});
                return PartnerResponse{reply.status, reply.body};
            });
        a.verifier->trust("mcx-idms:B", {b.key.public_pem, b.config.domain, {}});
        b.verifier->trust("mcx-idms:A", {a.key.public_pem, a.config.domain, {}});
    }
    void TearDown() override { fs::remove_all(dir); }

    static CmsRequest get(const McServiceId& user, const std::string& auth,
                          std::uint32_t index = 0) {
        return CmsRequest{ConfigurationManagementServer::profile_path(user, index), {}, auth, ""};
    }
};

TEST_F(CmsTest, ProfileNeedsTheUsersOwnToken) {
    auto no_token = a.cms->get_user_profile(get(id("sip:alice@a.mcx"), ""));
    EXPECT_EQ(no_token.status, 401);
    ASSERT_FALSE(no_token.headers.empty());
    EXPECT_EQ(no_token.headers[0].first, "WWW-Authenticate");
    EXPECT_EQ(a.cms->get_user_profile(get(id("sip:alice@a.mcx"), "Bearer junk")).status, 401);
    auto other = a.cms->get_user_profile(get(id("sip:alice@a.mcx"), a.token("sip:bob@a.mcx")));
    EXPECT_EQ(other.status, 403);
    auto ok = a.cms->get_user_profile(get(id("sip:alice@a.mcx"), a.token("sip:alice@a.mcx")));
    ASSERT_EQ(ok.status, 200) << ok.body;
    auto profile = proto::parse_user_profile(ok.body);
    ASSERT_TRUE(profile);
    EXPECT_TRUE(profile->may_call(id("sip:bob@a.mcx")));
    EXPECT_EQ(
        a.cms->get_user_profile(get(id("sip:alice@a.mcx"), a.token("sip:alice@a.mcx"), 7)).status,
        404);
}

TEST_F(CmsTest, UnchangedProfileIsNotResent) {
    auto first = a.cms->get_user_profile(get(id("sip:alice@a.mcx"), a.token("sip:alice@a.mcx")));
    std::string etag;
    for (const auto& [k, v] : first.headers) {
        if (k == "ETag") etag = v;
    }
    ASSERT_FALSE(etag.empty());
    auto request = get(id("sip:alice@a.mcx"), a.token("sip:alice@a.mcx"));
    request.if_none_match = etag;
    auto again = a.cms->get_user_profile(request);
    EXPECT_EQ(again.status, 304);
    EXPECT_TRUE(again.body.empty());
    request.if_none_match = "\"stale\"";
    EXPECT_EQ(a.cms->get_user_profile(request).status, 200);
}

TEST_F(CmsTest, PartnerGetsTheMigrationProfileAndAppliesItsPolicy) {
    // alice (of A) asks B's CMS with a token A issued for B's audience.
    auto reply =
        b.cms->get_user_profile(get(id("sip:alice@a.mcx"), a.token("sip:alice@a.mcx", "mcx:B")));
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto profile = proto::parse_user_profile(reply.body);
    ASSERT_TRUE(profile) << profile.error().reason;
    EXPECT_EQ(profile->user, id("sip:alice.a@b.mcx")) << "the MC service ID B assigns";
    // B allows only carol: bob (allowed at home) is not callable in B.
    EXPECT_TRUE(profile->may_call(id("sip:carol@b.mcx")));
    EXPECT_FALSE(profile->may_call(id("sip:bob@a.mcx")));
    EXPECT_TRUE(profile->partners.empty());
    auto migrated = *b.store->migrated_user(id("sip:alice@a.mcx"));
    ASSERT_TRUE(migrated);
    EXPECT_EQ(migrated->local_id, id("sip:alice.a@b.mcx"));
    EXPECT_EQ(migrated->home_system, "A");
    // The primary now knows where its user is served, and under which ID.
    auto roaming = *a.store->roaming_user(id("sip:alice@a.mcx"));
    ASSERT_TRUE(roaming) << "A does not record that alice is in B";
    EXPECT_EQ(roaming->system, "B");
    EXPECT_EQ(roaming->assigned_id, id("sip:alice.a@b.mcx"));
}

// A partner may only say that the user is served under an ID of its own domain.
TEST_F(CmsTest, PrimaryRefusesAnAssignedIdOutsideThePartnersDomain) {
    auto token = *b.issuer->issue_system("B", "mcx:A", kNow);
    auto reply = a.cms->get_migration_profile(
        CmsRequest{"/cms/partner/migration-profile",
                   {{"user", "sip:alice@a.mcx"}, {"assigned", "sip:alice@a.mcx"}},
                   "Bearer " + token,
                   "",
                   true,
                   "B"});
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_FALSE(*a.store->roaming_user(id("sip:alice@a.mcx")));
}

// docs/security.md, "Partner trust over TLS": the migration profile goes to a partner over
// mutual TLS whose certificate names the partner of the system token; over plain HTTP only to
// a partner configured with plain_http (lab use).
TEST_F(CmsTest, MigrationProfileOnlyOverMutualTlsOfThatPartner) {
    const auto token = "Bearer " + *b.issuer->issue_system("B", "mcx:A", kNow);
    const std::map<std::string, std::string> user{{"user", "sip:alice@a.mcx"}};
    const auto path = "/cms/partner/migration-profile";
    auto plain = a.cms->get_migration_profile(CmsRequest{path, user, token, ""});
    EXPECT_EQ(plain.status, 403);
    EXPECT_NE(plain.body.find("HTTPS with mutual TLS only"), std::string::npos) << plain.body;
    auto other = a.cms->get_migration_profile(CmsRequest{path, user, token, "", true, "C"});
    EXPECT_EQ(other.status, 403);
    EXPECT_NE(other.body.find("names 'C'"), std::string::npos) << other.body;
    EXPECT_EQ(a.cms->get_migration_profile(CmsRequest{path, user, token, "", true, "B"}).status,
              200);
    a.config.partners[0].plain_http = true;
    EXPECT_EQ(a.cms->get_migration_profile(CmsRequest{path, user, token, ""}).status, 200)
        << "plain_http: the lab set-up";
    EXPECT_FALSE(*a.store->roaming_user(id("sip:alice@a.mcx"))) << "no assigned ID was given";
}

// The token B's IdMS exchanged for alice's A token (sub = the ID B assigns, primary_mcptt_id =
// hers in A) gets the profile from A, under the assigned ID, which B knew nothing about before.
TEST_F(CmsTest, ExchangedTokenGetsTheMigrationProfileUnderTheAssignedId) {
    const auto local = id("sip:alice.a@b.mcx");
    const auto exchanged = [&](const McServiceId& assigned, const char* primary) {
        return "Bearer " + *b.issuer->issue_migrated(assigned, id(primary), "c", kNow);
    };
    EXPECT_EQ(b.cms->get_user_profile(get(local, b.token("sip:alice.a@b.mcx"))).status, 404)
        << "without primary_mcptt_id B has no profile for the assigned ID";
    auto reply = b.cms->get_user_profile(get(local, exchanged(local, "sip:alice@a.mcx")));
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto profile = proto::parse_user_profile(reply.body);
    ASSERT_TRUE(profile) << profile.error().reason;
    EXPECT_EQ(profile->user, local);
    EXPECT_TRUE(profile->may_call(id("sip:carol@b.mcx")));
    EXPECT_FALSE(profile->may_call(id("sip:bob@a.mcx"))) << "B's policy applied";
    auto migrated = *b.store->migrated_user(id("sip:alice@a.mcx"));
    ASSERT_TRUE(migrated);
    EXPECT_EQ(migrated->local_id, local);
    auto stored = *b.store->profile(local, 0);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->xml, reply.body);

    // The document asked for must be the assigned ID's.
    EXPECT_EQ(
        b.cms->get_user_profile(get(id("sip:alice@a.mcx"), exchanged(local, "sip:alice@a.mcx")))
            .status,
        403);
    // The primary still decides who may migrate.
    auto bob = b.cms->get_user_profile(
        get(id("sip:bob.a@b.mcx"), exchanged(id("sip:bob.a@b.mcx"), "sip:bob@a.mcx")));
    EXPECT_EQ(bob.status, 403);
    EXPECT_NE(bob.body.find("not allowed to migrate to B"), std::string::npos) << bob.body;
    // A token from before a change of [migration] assigned_id names an ID no longer given.
    b.config.migration.assigned_id = "{home}-{user}@{domain}";
    auto stale = b.cms->get_user_profile(get(local, exchanged(local, "sip:alice@a.mcx")));
    EXPECT_EQ(stale.status, 403);
    EXPECT_NE(stale.body.find("now assigns sip:a-alice@b.mcx"), std::string::npos) << stale.body;
    b.config.migration.assigned_id = MigrationPolicy{}.assigned_id;
    b.config.migration.accept = false;
    auto closed = b.cms->get_user_profile(get(local, exchanged(local, "sip:alice@a.mcx")));
    EXPECT_EQ(closed.status, 403);
    EXPECT_NE(closed.body.find("does not accept migrating users"), std::string::npos);
    // A primary ID of a system that is not a partner.
    b.config.migration.accept = true;
    auto stranger = b.cms->get_user_profile(
        get(id("sip:dave.c@b.mcx"), exchanged(id("sip:dave.c@b.mcx"), "sip:dave@c.mcx")));
    EXPECT_EQ(stranger.status, 403);
    EXPECT_NE(stranger.body.find("users of c.mcx are not served here"), std::string::npos);
}

TEST_F(CmsTest, PrimaryRefusesUsersNotAllowedToMigrate) {
    auto reply =
        b.cms->get_user_profile(get(id("sip:bob@a.mcx"), a.token("sip:bob@a.mcx", "mcx:B")));
    EXPECT_EQ(reply.status, 403);
    EXPECT_NE(reply.body.find("not allowed to migrate to B"), std::string::npos) << reply.body;
    EXPECT_FALSE(*b.store->migrated_user(id("sip:bob@a.mcx")));
}

TEST_F(CmsTest, PrimaryRefusesAnUnconfiguredSystem) {
    idms::SigningKey c_key = *idms::SigningKey::generate();
    idms::TokenIssuer c_issuer(c_key, "mcx-idms:C", "mcx:C", 3600);
    const auto token = *c_issuer.issue_system("C", "mcx:A", kNow);
    auto reply = a.cms->get_migration_profile(CmsRequest{
        "/cms/partner/migration-profile", {{"user", "sip:alice@a.mcx"}}, "Bearer " + token, ""});
    EXPECT_EQ(reply.status, 403);
    EXPECT_NE(reply.body.find("not a trusted partner"), std::string::npos) << reply.body;
    auto user_token = a.cms->get_migration_profile(CmsRequest{"/cms/partner/migration-profile",
                                                              {{"user", "sip:alice@a.mcx"}},
                                                              a.token("sip:bob@a.mcx"),
                                                              ""});
    EXPECT_EQ(user_token.status, 403) << "a user's token is not a system's";
}

TEST_F(CmsTest, MalformedImportNamesFileAndLineAndChangesNothing) {
    const auto before = *a.store->profile_count();
    const auto src = dir / "profiles";
    fs::create_directories(src);
    proto::UserProfile good;
    good.user = id("sip:zoe@a.mcx");
    std::ofstream(src / "a-good.xml") << proto::build_user_profile(good);
    std::ofstream(src / "b-bad.xml")
        << "<?xml version=\"1.0\"?>\n<mcptt-user-profile "
           "xmlns=\"urn:3gpp:mcptt:user-profile:1.0\">\n"
           "<Common>\n<MCPTTUserID><uri-entry>sip:yves@a.mcx</uri-entry>\n</Common>\n";
    auto result = import_profiles(*a.store, src, {});
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().reason.find("b-bad.xml:5"), std::string::npos)
        << result.error().reason;
    EXPECT_EQ(*a.store->profile_count(), before) << "nothing imported";
    fs::remove(src / "b-bad.xml");
    std::vector<std::size_t> progress;
    auto ok = import_profiles(*a.store, src,
                              [&](const ImportProgress& p) { progress.push_back(p.committed); });
    ASSERT_TRUE(ok) << ok.error().reason;
    EXPECT_EQ(progress, std::vector<std::size_t>{1});
    EXPECT_EQ(*a.store->profile_count(), before + 1);
}

TEST_F(CmsTest, SeedingHappensOnTheFirstStartOnly) {
    a.config.users.push_back(
        UserConfig{id("sip:late@a.mcx"), "pw", true, true, {}, true, false, {}});
    auto again = seed_store(*a.store, a.config);
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
    EXPECT_FALSE(*a.store->password_hash(id("sip:late@a.mcx"))) << "the store is authoritative";
}

// [idms] password_hash_iterations: the seeded hashes are made with it.
TEST_F(CmsTest, SeededPasswordHashesHaveTheConfiguredIterations) {
    auto store = std::move(*store::SqliteStore::open((dir / "cheap.db").string()));
    a.config.login.hash_iterations = 1000;
    ASSERT_TRUE(seed_store(*store, a.config));
    const auto hash = *store->password_hash(id("sip:alice@a.mcx"));
    ASSERT_TRUE(hash);
    EXPECT_TRUE(hash->starts_with("pbkdf2-sha256$1000$")) << *hash;
    EXPECT_TRUE(idms::verify_password("pw", *hash));
    const auto before = *a.store->password_hash(id("sip:alice@a.mcx"));
    EXPECT_TRUE(before && before->starts_with("pbkdf2-sha256$20000$")) << "the default";
}

// [[users]] admin = true seeds the administrator role; other users have none.
TEST_F(CmsTest, SeedingGivesTheAdminRoleToUsersMarkedAdmin) {
    System c;
    c.config.system_id = "C";
    c.config.domain = "c.mcx";
    UserConfig root{id("sip:root@c.mcx"), "pw", true, true, {}, true, false, {}};
    root.admin = true;
    c.config.users = {root,
                      UserConfig{id("sip:dave@c.mcx"), "pw", true, true, {}, true, false, {}}};
    c.start(dir / "c.db", [](const std::string&, const std::string&) -> Result<PartnerResponse> {
        return fail(Errc::io, "C never asks");
    });
    EXPECT_TRUE(c.store->is_admin(id("sip:root@c.mcx")).value_or(false));
    EXPECT_FALSE(c.store->is_admin(id("sip:dave@c.mcx")).value_or(true));
    EXPECT_FALSE(a.store->is_admin(id("sip:alice@a.mcx")).value_or(true));
}

// mcx admin: `user add --admin` gives the role, `user add` without it and `user admin ID off`
// take it away, `user list` marks administrators.
TEST_F(CmsTest, AdminCommandsSetTheAdminRole) {
    const auto db = (dir / "admin.db").string();
    auto run = [&](std::vector<std::string> words, const std::string& password = {},
                   bool admin = false) {
        std::ostringstream out, err;
        AdminCommand command{db, std::move(words), password, admin, 0};
        const int rc = run_admin(command, out, err);
        return std::make_pair(rc, out.str() + err.str());
    };
    EXPECT_EQ(run({"user", "add", "sip:root@a.mcx"}, "pw", true),
              std::make_pair(0, std::string("added sip:root@a.mcx (administrator)\n")));
    EXPECT_EQ(run({"user", "add", "sip:alice@a.mcx"}, "pw").first, 0);
    EXPECT_EQ(run({"user", "list"}).second, "sip:alice@a.mcx\nsip:root@a.mcx admin\n");
    EXPECT_EQ(run({"user", "admin", "sip:root@a.mcx", "off"}).second,
              "sip:root@a.mcx is no administrator\n");
    EXPECT_EQ(run({"user", "list"}).second, "sip:alice@a.mcx\nsip:root@a.mcx\n");
    EXPECT_EQ(run({"user", "admin", "sip:alice@a.mcx", "on"}).first, 0);
    EXPECT_EQ(run({"user", "add", "sip:alice@a.mcx"}, "pw2").first, 0);
    EXPECT_EQ(run({"user", "list"}).second, "sip:alice@a.mcx\nsip:root@a.mcx\n")
        << "user add without --admin: no administrator";
    EXPECT_EQ(run({"user", "admin", "sip:nobody@a.mcx", "on"}).first, 1);
    EXPECT_EQ(run({"user", "admin", "sip:alice@a.mcx", "maybe"}).first, 2);

    // With --config, `user add` hashes with [idms] password_hash_iterations.
    std::ostringstream out, err;
    AdminCommand cheap{db, {"user", "add", "sip:bob@a.mcx"}, "pw", false, 0, 1000};
    ASSERT_EQ(run_admin(cheap, out, err), 0) << err.str();
    auto store = std::move(*store::SqliteStore::open(db));
    const auto hash = *store->password_hash(id("sip:bob@a.mcx"));
    EXPECT_TRUE(hash && hash->starts_with("pbkdf2-sha256$1000$"));
    const auto alice = *store->password_hash(id("sip:alice@a.mcx"));
    EXPECT_TRUE(alice && alice->starts_with("pbkdf2-sha256$20000$")) << "without it, the default";
}

TEST(MigrationPolicy, AssignedIdAndRestrictions) {
    MigrationPolicy policy;
    auto local = assigned_id(policy, id("sip:alice@a.mcx"), "A", "b.mcx");
    ASSERT_TRUE(local);
    EXPECT_EQ(local->uri(), "sip:alice.a@b.mcx");
    policy.assigned_id = "not a uri {user}";
    EXPECT_FALSE(assigned_id(policy, id("sip:alice@a.mcx"), "A", "b.mcx"));

    proto::UserProfile home;
    home.user = id("sip:alice@a.mcx");
    home.allow_private_call_to_any_user = true;
    MigrationPolicy open;  // anyone
    auto p = adapt_for_migration(home, open, *local);
    EXPECT_TRUE(p.allow_private_call_to_any_user);
    MigrationPolicy closed;
    closed.private_call = false;
    EXPECT_FALSE(adapt_for_migration(home, closed, *local).allow_private_call);
}

}  // namespace
}  // namespace mcx::cms

namespace mcx::cms {
namespace {

// The call policy's profile cache: stored profiles only (IDs made up by a peer leave no entry),
// reloaded after a write to the store.
TEST_F(CmsTest, ProfileCacheKeepsStoredProfilesOnlyAndFollowsWrites) {
    ProfileCache cache(*a.store);
    auto alice = cache(id("sip:alice@a.mcx"));
    ASSERT_TRUE(alice);
    EXPECT_TRUE(alice->allow_private_call);
    for (int i = 0; i < 100; ++i) {
        const auto made_up = "sip:nobody-" + std::to_string(i) + "@a.mcx";
        EXPECT_FALSE(cache(*McServiceId::parse(made_up)));
    }
    EXPECT_EQ(cache.size(), 1u);

    auto changed = *alice;
    changed.allow_private_call = false;
    ASSERT_TRUE(a.store->put_profiles(
        {{id("sip:alice@a.mcx"), 0, proto::build_user_profile(changed), {}}}));
    auto reloaded = cache(id("sip:alice@a.mcx"));
    ASSERT_TRUE(reloaded);
    EXPECT_FALSE(reloaded->allow_private_call);
}

}  // namespace
}  // namespace mcx::cms
