// Identity and configuration management with real mcxd processes (issue 4): the CMS over HTTP
// with bearer tokens and ETags, partner retrieval of a migrating user's profile between two
// MC systems (TS 23.280 10.1.4.3.2), refusals with reasons, and a store that survives SIGKILL
// in the middle of a bulk import.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "harness.hpp"
#include "idms/keys.hpp"
#include "idms/token.hpp"
#include "net/http.hpp"
#include "proto/user_profile.hpp"
#include "store/sqlite_store.hpp"
#include "systems.hpp"

namespace mcx::test {
namespace {

namespace fs = std::filesystem;

std::string profile_url(const McSystem& system, const std::string& user_uri) {
    return system.http_url() + "/cms/org.3gpp.mcptt.user-profile/users/" + user_uri +
           "/user-profile-0.xml";
}

std::string header(const net::HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) return v;
    }
    return {};
}

TEST(Cms, ProfileOverHttpNeedsATokenAndHonoursTheEtag) {
    McSystem::Options options;
    options.users = {{"alice", "pw-a", {"bob"}}, {"bob", "pw-b", {"*"}}};
    auto system = McSystem::start(options, test_output_dir());
    const auto url = profile_url(*system, system->uri("alice"));

    auto anonymous = net::http_get(url, {}, 3s);
    ASSERT_TRUE(anonymous);
    EXPECT_EQ(anonymous->status, 401);
    EXPECT_NE(header(*anonymous, "WWW-Authenticate").find("Bearer"), std::string::npos);
    auto as_bob =
        net::http_get(url, {{"Authorization", "Bearer " + system->token("bob", "pw-b")}}, 3s);
    EXPECT_EQ(as_bob->status, 403);

    const auto bearer = "Bearer " + system->token("alice", "pw-a");
    auto first = net::http_get(url, {{"Authorization", bearer}}, 3s);
    ASSERT_EQ(first->status, 200) << first->body;
    EXPECT_EQ(first->content_type, "application/vnd.3gpp.mcptt-user-profile+xml");
    auto profile = proto::parse_user_profile(first->body);
    ASSERT_TRUE(profile) << profile.error().reason;
    EXPECT_TRUE(profile->may_call(*McServiceId::parse(system->uri("bob"))));
    const auto etag = header(*first, "ETag");
    ASSERT_FALSE(etag.empty());
    auto again = net::http_get(url, {{"Authorization", bearer}, {"If-None-Match", etag}}, 3s);
    EXPECT_EQ(again->status, 304);
    EXPECT_TRUE(again->body.empty());
}

TEST(Idms, PublishesDiscoveryAndItsKeySet) {
    McSystem::Options options;
    options.users = {{"alice", "pw-a", {"*"}}};
    auto system = McSystem::start(options, test_output_dir());
    auto discovery =
        net::http_get(system->http_url() + "/.well-known/openid-configuration", {}, 3s);
    ASSERT_TRUE(discovery && discovery->status == 200);
    auto d = Json::parse(discovery->body);
    EXPECT_EQ(d["issuer"], "mcx-idms:A");
    EXPECT_EQ(d["token_endpoint"], system->http_url() + "/idms/token");
    auto jwks = net::http_get(d["jwks_uri"].get<std::string>(), {}, 3s);
    ASSERT_TRUE(jwks && jwks->status == 200);
    auto key = Json::parse(jwks->body)["keys"][0];
    EXPECT_EQ(key["kty"], "EC");
    EXPECT_EQ(key["crv"], "P-256");
    EXPECT_EQ(key["x"].get<std::string>().size(), 43u) << "32 octets in base64url";
    EXPECT_EQ(key["y"].get<std::string>().size(), 43u);
    const auto grants = d["grant_types_supported"];
    EXPECT_NE(
        std::find(grants.begin(), grants.end(), "urn:ietf:params:oauth:grant-type:token-exchange"),
        grants.end())
        << grants.dump();
}

class PartnerRetrieval : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test_output_dir();
        // alice may migrate to B; B lets migrated users call carol only.
        systems_ =
            SystemsBuilder({"A", "B"})
                .users("A", {{"alice", "pw-a", {"*"}, true, true, {"B"}}, {"bob", "pw-b", {"*"}}})
                .users("B", {{"carol", "pw-c", {"*"}}})
                .extra_toml("B", "[migration]\nprivate_call_targets = [\"sip:carol@b.mcx\"]\n")
                .start(dir_);
        a_ = &systems_->system("A");
        b_ = &systems_->system("B");
    }

    std::string token_for(const std::string& user, const std::string& password,
                          const std::string& audience) {
        auto r = net::http_post_form(a_->http_url() + "/idms/token",
                                     {{"grant_type", "password"},
                                      {"username", a_->uri(user)},
                                      {"password", password},
                                      {"audience", audience}},
                                     3s);
        last_token_response_ = r ? r->body : "";
        if (!r || r->status != 200) return {};
        return Json::parse(r->body)["access_token"].get<std::string>();
    }

    // A system token as `system` would sign it, using that system's key file.
    static std::string system_token(const std::string& key_file, const std::string& system,
                                    const std::string& audience) {
        auto key = idms::SigningKey::load_or_create(key_file);
        idms::TokenIssuer issuer(*key, "mcx-idms:" + system, "mcx:" + system, 300);
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        return *issuer.issue_system(system, audience, now);
    }

    // GET A's CMS-to-CMS path as B: over A's partner HTTPS listener with B's certificate
    // (docs/security.md, "Partner trust over TLS").
    Result<net::HttpResponse> get_as_b(const std::string& user, const std::string& token) const {
        const net::HttpTls as_b{systems_->certs_dir() + "/B.pem",
                                systems_->certs_dir() + "/ca.pem"};
        return net::http_get("https://" + a_->https()->to_string() +
                                 "/cms/partner/migration-profile?user=" + a_->uri(user),
                             {{"Authorization", "Bearer " + token}}, 3s, &as_b);
    }

    std::string dir_;
    std::unique_ptr<Systems> systems_;
    McSystem* a_ = nullptr;
    McSystem* b_ = nullptr;
    std::string last_token_response_;
};

TEST_F(PartnerRetrieval, AllowedUserGetsThePartnerAdaptedProfile) {
    const auto token = token_for("alice", "pw-a", "mcx:B");
    ASSERT_FALSE(token.empty()) << last_token_response_;
    // alice's CMC asks B's CMS; B fetches from A's CMS over the system-to-system link.
    auto r = net::http_get(profile_url(*b_, a_->uri("alice")),
                           {{"Authorization", "Bearer " + token}}, 5s);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    auto profile = proto::parse_user_profile(r->body);
    ASSERT_TRUE(profile) << profile.error().reason;
    EXPECT_EQ(profile->user.uri(), "sip:alice.a@b.mcx") << "the MC service ID B assigned";
    EXPECT_FALSE(profile->allow_private_call_to_any_user) << "B's restriction applied";
    EXPECT_TRUE(profile->may_call(*McServiceId::parse("sip:carol@b.mcx")));
    EXPECT_FALSE(profile->may_call(*McServiceId::parse(a_->uri("bob"))));
    // B stored it: the migrated user is known there.
    auto store = store::SqliteStore::open(dir_ + "/b/B.db");
    ASSERT_TRUE(store);
    auto migrated = (*store)->migrated_user(*McServiceId::parse(a_->uri("alice")));
    ASSERT_TRUE(migrated && *migrated);
    EXPECT_EQ((*migrated)->local_id.uri(), "sip:alice.a@b.mcx");
}

TEST_F(PartnerRetrieval, UserNotAllowedToMigrateIsRefusedWithReason) {
    // The IdMS of A gives bob no token for B...
    EXPECT_TRUE(token_for("bob", "pw-b", "mcx:B").empty());
    EXPECT_NE(last_token_response_.find("may not migrate to B"), std::string::npos)
        << last_token_response_;
    // ...and A's CMS refuses B's request for bob's profile.
    auto r = get_as_b("bob", system_token(b_->key_path(), "B", "mcx:A"));
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(r->status, 403);
    EXPECT_NE(r->body.find("is not allowed to migrate to B"), std::string::npos) << r->body;
    // B gets alice's, which is allowed.
    auto ok = get_as_b("alice", system_token(b_->key_path(), "B", "mcx:A"));
    ASSERT_TRUE(ok) << ok.error().reason;
    EXPECT_EQ(ok->status, 200) << ok->body;
    // Not over the users' plain HTTP port: B has no plain_http.
    auto plain = net::http_get(
        a_->http_url() + "/cms/partner/migration-profile?user=" + a_->uri("alice"),
        {{"Authorization", "Bearer " + system_token(b_->key_path(), "B", "mcx:A")}}, 3s);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->status, 403);
    EXPECT_NE(plain->body.find("HTTPS with mutual TLS only"), std::string::npos) << plain->body;
}

TEST_F(PartnerRetrieval, UnconfiguredSystemIsRefused) {
    const auto c_key = dir_ + "/c-key.pem";
    auto r = get_as_b("alice", system_token(c_key, "C", "mcx:A"));
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(r->status, 403);
    EXPECT_NE(r->body.find("not a trusted partner"), std::string::npos) << r->body;
    EXPECT_TRUE(token_for("alice", "pw-a", "mcx:C").empty()) << "no token for a non-partner";
}

// TS 33.180 5.1.4.2: alice's IdM client presents her token of A to B's IdMS (RFC 8693 token
// exchange) and gets one of B for the MC service ID B assigns her; with it, B's CMS serves the
// profile valid in B, which it fetches from A's CMS.
TEST_F(PartnerRetrieval, TokenExchangeAtThePartnerThenTheProfileFromItsCms) {
    const std::string client = "urn:uuid:6f1c2a40-1d3e-4b7a-9c55-0a1b2c3d4e5f";
    auto login = net::http_post_form(a_->http_url() + "/idms/token",
                                     {{"grant_type", "password"},
                                      {"username", a_->uri("alice")},
                                      {"password", "pw-a"},
                                      {"client_id", client}},
                                     3s);
    ASSERT_TRUE(login && login->status == 200) << (login ? login->body : login.error().reason);
    const auto a_token = Json::parse(login->body)["access_token"].get<std::string>();
    const auto exchange = [&](const std::string& client_id) {
        return net::http_post_form(
            b_->http_url() + "/idms/token",
            {{"grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"},
             {"subject_token", a_token},
             {"subject_token_type", "urn:ietf:params:oauth:token-type:access_token"},
             {"client_id", client_id}},
            3s);
    };
    auto r = exchange(client);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(header(*r, "Cache-Control"), "no-store");
    auto body = Json::parse(r->body);
    EXPECT_EQ(body["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    EXPECT_EQ(body["token_type"], "Bearer");
    EXPECT_EQ(body["mcptt_id"], "sip:alice.a@b.mcx");
    EXPECT_EQ(body["primary_mcptt_id"], a_->uri("alice"));
    const auto b_token = body["access_token"].get<std::string>();

    auto profile_reply = net::http_get(profile_url(*b_, "sip:alice.a@b.mcx"),
                                       {{"Authorization", "Bearer " + b_token}}, 5s);
    ASSERT_TRUE(profile_reply);
    ASSERT_EQ(profile_reply->status, 200) << profile_reply->body;
    auto profile = proto::parse_user_profile(profile_reply->body);
    ASSERT_TRUE(profile) << profile.error().reason;
    EXPECT_EQ(profile->user.uri(), "sip:alice.a@b.mcx");
    EXPECT_FALSE(profile->allow_private_call_to_any_user) << "B's restriction applied";
    EXPECT_TRUE(profile->may_call(*McServiceId::parse("sip:carol@b.mcx")));
    // A's servers take no token of B, and another client cannot spend alice's token.
    EXPECT_EQ(net::http_get(profile_url(*a_, a_->uri("alice")),
                            {{"Authorization", "Bearer " + b_token}}, 3s)
                  ->status,
              401);
    auto other = exchange("urn:uuid:00000000-0000-4000-8000-000000000000");
    ASSERT_TRUE(other);
    EXPECT_EQ(other->status, 400);
    EXPECT_EQ(Json::parse(other->body)["error"], "invalid_grant") << other->body;
}

TEST(StoreDurability, SigkillDuringBulkImportKeepsEveryCommittedProfile) {
    const auto dir = test_output_dir();
    const auto profiles = fs::path(dir) / "profiles";
    fs::create_directories(profiles);
    constexpr int kProfiles = 10000;
    std::vector<fs::path> files;
    for (int i = 0; i < kProfiles; ++i) {
        proto::UserProfile p;
        p.user = *McServiceId::parse("sip:user" + std::to_string(100000 + i) + "@a.mcx");
        p.name = "bulk " + std::to_string(i);
        p.private_call_targets = {*McServiceId::parse(
            "sip:user" + std::to_string(100000 + (i + 1) % kProfiles) + "@a.mcx")};
        char name[32];
        std::snprintf(name, sizeof(name), "p%05d.xml", i);
        files.push_back(profiles / name);
        std::ofstream(files.back()) << proto::build_user_profile(p);
    }
    const auto config = fs::path(dir) / "system.toml";
    std::ofstream(config) << "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n";
    auto mcxd = ChildProcess::spawn(
        {mcxd_binary(), "--config", config.string(), "--import", profiles.string()},
        dir + "/mcxd.log");
    ASSERT_TRUE(mcxd);
    std::size_t committed = 0;
    while (auto line = mcxd->read_line(20s)) {
        auto event = Json::parse(*line, nullptr, false);
        if (event.value("event", "") != "import-progress") continue;
        committed = event["committed"].get<std::size_t>();
        if (committed >= 3000) break;
    }
    mcxd->kill_now();  // SIGKILL in the middle of the import
    ASSERT_GE(committed, 3000u);
    RecordProperty("committed_before_kill", static_cast<int>(committed));

    // Every profile reported committed is there, byte for byte, and the file is sound.
    {
        auto store = store::SqliteStore::open(dir + "/A.db");
        ASSERT_TRUE(store) << store.error().reason;
        EXPECT_EQ(*(*store)->integrity_check(), "ok");
        EXPECT_GE(*(*store)->profile_count(), committed);
        for (std::size_t i = 0; i < committed; ++i) {
            std::ifstream in(files[i]);
            std::stringstream text;
            text << in.rdbuf();
            auto p = proto::parse_user_profile(text.str());
            auto stored = (*store)->profile(p->user, 0);
            ASSERT_TRUE(stored && *stored) << files[i];
            ASSERT_EQ((*stored)->xml, text.str()) << files[i];
        }
    }
    // mcxd starts again on that store.
    auto again =
        ChildProcess::spawn({mcxd_binary(), "--config", config.string()}, dir + "/mcxd.log");
    ASSERT_TRUE(again);
    auto ready = Json::parse(again->read_line(30s).value_or(""), nullptr, false);  // WAL recovery
    EXPECT_EQ(ready.value("event", ""), "ready");
    EXPECT_EQ(again->stop(std::chrono::seconds(30)), 0)
        << "closing checkpoints the WAL: slow under load";
}

TEST(AdminImport, MalformedFileIsNamedWithItsLineAndNothingIsWritten) {
    const auto dir = test_output_dir();
    fs::create_directories(dir + "/in");
    proto::UserProfile p;
    p.user = *McServiceId::parse("sip:zoe@a.mcx");
    std::ofstream(dir + "/in/1-good.xml") << proto::build_user_profile(p);
    std::ofstream(dir + "/in/2-broken.xml")
        << "<?xml version=\"1.0\"?>\n"
           "<mcptt-user-profile xmlns=\"urn:3gpp:mcptt:user-profile:1.0\">\n"
           "  <Common><MCPTTUserID><uri-entry>sip:yan@a.mcx</uri-entry>\n"
           "  </MCPTTUserID></Common>\n"
           "  <ruleset><rule><actions><allow-private-call>yes</allow-private-call>\n"
           "  </actions></rule></ruleset>\n</mcptt-user-profile>\n";
    const auto store = dir + "/admin.db";
    const auto run = [&](const std::string& args) {
        const auto cmd = mcx_binary() + " admin --store " + store + " " + args + " > " + dir +
                         "/out.txt 2> " + dir + "/err.txt";
        const int rc = std::system(cmd.c_str());
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    };
    EXPECT_EQ(run("import " + dir + "/in"), 2);
    std::ifstream err(dir + "/err.txt");
    std::stringstream text;
    text << err.rdbuf();
    EXPECT_NE(text.str().find("2-broken.xml:5"), std::string::npos) << text.str();
    EXPECT_EQ(run("profile list"), 0);
    std::ifstream out(dir + "/out.txt");
    std::stringstream listed;
    listed << out.rdbuf();
    EXPECT_NE(listed.str().find("0 profiles in the store"), std::string::npos) << listed.str();
    EXPECT_EQ(run("check"), 0);
}

}  // namespace
}  // namespace mcx::test
