// The admin role (issue 16 item 4): the password grant issues a token with the scope mcx-admin
// to an administrator who asks for it and to nobody else, and the admin and monitoring API
// (GET /status, /metrics) takes only such a token of this system's IdMS (RFC 6750 401 / 403).
#include "idms/admin_access.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>

#include "idms/keys.hpp"
#include "idms/password.hpp"
#include "idms/token.hpp"
#include "idms/token_endpoint.hpp"

namespace mcx::idms {
namespace {

using Json = nlohmann::json;
constexpr std::int64_t kNow = 1'800'000'000;

McServiceId id(const char* uri) {
    return *McServiceId::parse(uri);
}

struct Users : CredentialStore {
    std::map<std::string, std::string> hashes;
    std::set<std::string> admins;
    mutable int role_lookups = 0;
    std::string password_hash(const McServiceId& user) const override {
        auto it = hashes.find(user.uri());
        return it == hashes.end() ? std::string{} : it->second;
    }
    bool is_admin(const McServiceId& user) const override {
        ++role_lookups;
        return admins.count(user.uri()) > 0;
    }
};

std::string header(const HttpReply& reply, const std::string& name) {
    for (const auto& [k, v] : reply.headers) {
        if (k == name) return v;
    }
    return {};
}

TEST(Scope, SpaceDelimitedListsMatchWholeTokensOnly) {
    EXPECT_TRUE(has_scope("mcx-admin", "mcx-admin"));
    EXPECT_TRUE(has_scope("openid mcx-admin", "mcx-admin"));
    EXPECT_TRUE(has_scope("openid 3gpp:mc:ptt_service", "3gpp:mc:ptt_service"));
    EXPECT_FALSE(has_scope("openid 3gpp:mc:ptt_service", "mcx-admin"));
    EXPECT_FALSE(has_scope("mcx-administrator", "mcx-admin"));
    EXPECT_FALSE(has_scope("MCX-ADMIN", "mcx-admin")) << "scope tokens are case-sensitive";
    EXPECT_FALSE(has_scope("", "mcx-admin"));
    EXPECT_FALSE(has_scope("mcx-admin", ""));
}

struct AdminScope : ::testing::Test {
    SigningKey key = *SigningKey::generate();
    TokenIssuer issuer{key, "mcx-idms:A", "mcx:A", 3600};
    TokenVerifier verifier{"mcx:A"};
    Users users;
    TokenEndpoint endpoint{users, issuer, "mcx:A",
                           [](const McServiceId&, const std::string& audience) -> Result<void> {
                               if (audience == "mcx:B") return {};
                               return fail(Errc::forbidden, "not a partner");
                           }};

    void SetUp() override {
        users.hashes["sip:root@a.mcx"] = hash_password("pw-root");
        users.hashes["sip:alice@a.mcx"] = hash_password("pw-a");
        users.admins.insert("sip:root@a.mcx");
        verifier.trust("mcx-idms:A", {key.public_pem, "a.mcx", {}});
    }
    HttpReply login(const std::string& user, const std::string& password,
                    std::map<std::string, std::string> more = {}) {
        more["grant_type"] = "password";
        more["username"] = user;
        more["password"] = password;
        return endpoint.handle(more, kNow, "192.0.2.10");
    }
    AccessTokenClaims claims_of(const HttpReply& reply) {
        auto body = Json::parse(reply.body);
        auto claims = verifier.verify(body["access_token"].get<std::string>(), kNow);
        EXPECT_TRUE(claims) << claims.error().reason;
        return claims ? *claims : AccessTokenClaims{};
    }
};

TEST_F(AdminScope, AnAdministratorAskingForItGetsATokenWithTheScopeAlone) {
    const auto reply = login("sip:root@a.mcx", "pw-root", {{"scope", "mcx-admin"}});
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(Json::parse(reply.body)["scope"], "mcx-admin");
    const auto claims = claims_of(reply);
    EXPECT_EQ(claims.scope, "mcx-admin") << "no MCPTT service scope in an admin token";
    EXPECT_EQ(claims.subject, "sip:root@a.mcx");
    EXPECT_EQ(claims.audience, "mcx:A");
}

TEST_F(AdminScope, WithoutAskingEvenAnAdministratorGetsAUserToken) {
    for (const auto* scope : {"", "openid", "openid 3gpp:mc:ptt_service", "something-else"}) {
        const auto reply = login("sip:root@a.mcx", "pw-root", {{"scope", scope}});
        ASSERT_EQ(reply.status, 200) << scope << ": " << reply.body;
        const auto claims = claims_of(reply);
        EXPECT_EQ(claims.scope, kUserScope) << scope;
        EXPECT_FALSE(has_scope(claims.scope, kAdminScope)) << scope;
        EXPECT_FALSE(has_scope(Json::parse(reply.body)["scope"].get<std::string>(), kAdminScope));
    }
}

TEST_F(AdminScope, AUserWhoIsNoAdministratorGetsInvalidScope) {
    const auto reply = login("sip:alice@a.mcx", "pw-a", {{"scope", "mcx-admin"}});
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(Json::parse(reply.body)["error"], "invalid_scope") << reply.body;
    EXPECT_EQ(reply.body.find("access_token"), std::string::npos);
    users.admins.insert("sip:alice@a.mcx");
    EXPECT_EQ(login("sip:alice@a.mcx", "pw-a", {{"scope", "mcx-admin"}}).status, 200)
        << "the role decides, read at each login";
}

TEST_F(AdminScope, BadCredentialsAreRefusedBeforeTheRoleIsLookedAt) {
    for (const auto& [user, password] : std::initializer_list<std::pair<const char*, const char*>>{
             {"sip:root@a.mcx", "wrong"}, {"sip:nobody@a.mcx", "pw-root"}}) {
        const auto reply = login(user, password, {{"scope", "mcx-admin"}});
        EXPECT_EQ(reply.status, 400) << user;
        EXPECT_EQ(Json::parse(reply.body)["error"], "invalid_grant") << user;
    }
    EXPECT_EQ(users.role_lookups, 0) << "a refusal must not tell who is an administrator";
}

TEST_F(AdminScope, TheScopeIsGrantedAloneAndForThisSystemOnly) {
    auto mixed = login("sip:root@a.mcx", "pw-root", {{"scope", "openid mcx-admin"}});
    EXPECT_EQ(mixed.status, 400);
    EXPECT_EQ(Json::parse(mixed.body)["error"], "invalid_scope");
    auto partner =
        login("sip:root@a.mcx", "pw-root", {{"scope", "mcx-admin"}, {"audience", "mcx:B"}});
    EXPECT_EQ(partner.status, 400);
    EXPECT_EQ(Json::parse(partner.body)["error"], "invalid_scope") << partner.body;
}

struct AdminAuthorizerTest : AdminScope {
    AdminAuthorizer authorizer{verifier, "mcx-idms:A", "a.mcx",
                               [this](const McServiceId& user) { return users.is_admin(user); }};
    std::string admin_token() {
        return Json::parse(login("sip:root@a.mcx", "pw-root", {{"scope", "mcx-admin"}}).body)
            .value("access_token", "");
    }
};

TEST_F(AdminAuthorizerTest, NoTokenIs401WithTheRealmOnly) {
    for (const auto* authorization : {"", "Bearer ", "Basic cm9vdDpwdw==", "Bearerxyz"}) {
        const auto access = authorizer.check(authorization, kNow);
        EXPECT_EQ(access.outcome, AdminAccess::Outcome::no_token) << authorization;
        const auto reply = authorizer.refusal(access);
        EXPECT_EQ(reply.status, 401);
        EXPECT_EQ(header(reply, "WWW-Authenticate"), "Bearer realm=\"a.mcx\"");
    }
}

TEST_F(AdminAuthorizerTest, ABadTokenIs401InvalidToken) {
    auto forged = admin_token();
    forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
    TokenIssuer stranger{*SigningKey::generate(), "mcx-idms:A", "mcx:A", 3600};
    for (const auto& token :
         {std::string("garbage"), forged, *stranger.issue_admin(id("sip:root@a.mcx"), "", kNow),
          *issuer.issue_admin(id("sip:root@a.mcx"), "", kNow - 7200)}) {
        const auto access = authorizer.check("Bearer " + token, kNow);
        EXPECT_EQ(access.outcome, AdminAccess::Outcome::invalid_token) << access.reason;
        const auto reply = authorizer.refusal(access);
        EXPECT_EQ(reply.status, 401);
        EXPECT_EQ(header(reply, "WWW-Authenticate"),
                  "Bearer realm=\"a.mcx\", error=\"invalid_token\"");
        EXPECT_EQ(Json::parse(reply.body)["error"], "invalid_token");
    }
}

TEST_F(AdminAuthorizerTest, AValidTokenWithoutTheScopeIs403InsufficientScope) {
    const auto user_token =
        Json::parse(login("sip:root@a.mcx", "pw-root").body)["access_token"].get<std::string>();
    // A partner's IdMS may vouch for its own users here, never for an administrator of ours.
    const auto partner_key = *SigningKey::generate();
    verifier.trust("mcx-idms:B", {partner_key.public_pem, "b.mcx", {}});
    TokenIssuer partner{partner_key, "mcx-idms:B", "mcx:A", 3600};  // B's tokens for A
    const auto partner_admin = *partner.issue_admin(id("sip:carol@b.mcx"), "", kNow);
    for (const auto& token : {user_token, partner_admin}) {
        const auto access = authorizer.check("Bearer " + token, kNow);
        EXPECT_EQ(access.outcome, AdminAccess::Outcome::insufficient_scope) << access.reason;
        const auto reply = authorizer.refusal(access);
        EXPECT_EQ(reply.status, 403);
        EXPECT_EQ(header(reply, "WWW-Authenticate"),
                  "Bearer realm=\"a.mcx\", error=\"insufficient_scope\", scope=\"mcx-admin\"");
    }
}

TEST_F(AdminAuthorizerTest, AnAdministratorsTokenIsAllowedWhileTheRoleLasts) {
    const auto token = admin_token();
    ASSERT_FALSE(token.empty());
    const auto access = authorizer.check("Bearer " + token, kNow);
    EXPECT_TRUE(access.allowed()) << access.reason;
    EXPECT_EQ(access.admin, id("sip:root@a.mcx"));
    EXPECT_TRUE(authorizer.check("bearer " + token, kNow).allowed()) << "the scheme ignores case";
    users.admins.clear();  // mcx admin user admin sip:root@a.mcx off
    const auto revoked = authorizer.check("Bearer " + token, kNow);
    EXPECT_EQ(revoked.outcome, AdminAccess::Outcome::insufficient_scope);
    EXPECT_EQ(authorizer.refusal(revoked).status, 403);
}

}  // namespace
}  // namespace mcx::idms
