// Tokens bound and retired (issue 16 item 2): the TokenLedger's bookkeeping, the token
// endpoint's tracking of what it issues and its RFC 7009 revocation endpoint.
#include "idms/token_ledger.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>

#include "idms/keys.hpp"
#include "idms/password.hpp"
#include "idms/token_endpoint.hpp"

namespace mcx::idms {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;  // the fake clock, seconds

McServiceId id(const char* uri) {
    return *McServiceId::parse(uri);
}

// The store's rows, in memory; `broken` makes every write fail.
struct FakeRecords : TokenRecords {
    std::map<std::pair<std::string, std::string>, CurrentToken> rows;
    bool broken = false;
    Result<void> put_current_token(const CurrentToken& token, std::int64_t now) override {
        if (broken) return fail(Errc::io, "disk full");
        std::erase_if(rows, [now](const auto& r) { return r.second.expires_at < now - 60; });
        rows[{token.subject.uri(), token.client_id}] = token;
        return {};
    }
    Result<bool> remove_current_token(const McServiceId& subject, const std::string& client_id,
                                      const std::string& token_id) override {
        if (broken) return fail(Errc::io, "disk full");
        auto it = rows.find({subject.uri(), client_id});
        if (it == rows.end() || it->second.token_id != token_id) return false;
        rows.erase(it);
        return true;
    }
    Result<std::vector<CurrentToken>> current_tokens() override {
        std::vector<CurrentToken> out;
        for (const auto& [key, row] : rows) out.push_back(row);
        return out;
    }
};

AccessTokenClaims claims(const std::string& subject, const std::string& client,
                         const std::string& jti, const std::string& issuer = "mcx-idms:A") {
    AccessTokenClaims c;
    c.issuer = issuer;
    c.subject = subject;
    c.client_id = client;
    c.token_id = jti;
    return c;
}

IssuedToken issued(const std::string& jti, std::int64_t now = kNow, std::int64_t lifetime = 3600) {
    return IssuedToken{jti, now, now + lifetime};
}

struct TokenLedgerTest : ::testing::Test {
    FakeRecords records;
    TokenLedger ledger{"mcx-idms:A", records};
    McServiceId alice = id("sip:alice@a.mcx");
};

TEST_F(TokenLedgerTest, NewestLoginOfAUserAndClientIsTheOnlyValidToken) {
    ASSERT_TRUE(ledger.issued(alice, "c1", issued("j1"), kNow));
    EXPECT_TRUE(ledger.check(claims(alice.uri(), "c1", "j1")));
    ASSERT_TRUE(ledger.issued(alice, "c1", issued("j2", kNow + 1), kNow + 1));
    auto old = ledger.check(claims(alice.uri(), "c1", "j1"));
    ASSERT_FALSE(old);
    EXPECT_NE(old.error().reason.find("retired by a newer login of client c1"), std::string::npos);
    EXPECT_TRUE(ledger.check(claims(alice.uri(), "c1", "j2")));
    // Another client of alice, and bob, are not touched.
    ASSERT_TRUE(ledger.issued(alice, "c2", issued("j3"), kNow + 2));
    EXPECT_TRUE(ledger.check(claims(alice.uri(), "c1", "j2")));
    EXPECT_TRUE(ledger.check(claims(alice.uri(), "c2", "j3")));
    EXPECT_FALSE(ledger.check(claims("sip:bob@a.mcx", "c1", "j2"))) << "a jti names one token";
    // The rows are written through.
    EXPECT_EQ(records.rows.at({alice.uri(), "c1"}).token_id, "j2");
    EXPECT_EQ(ledger.size(), 2u);
}

TEST_F(TokenLedgerTest, RevokeRetiresOnlyTheCurrentToken) {
    ASSERT_TRUE(ledger.issued(alice, "c1", issued("j1"), kNow));
    ASSERT_TRUE(ledger.issued(alice, "c1", issued("j2"), kNow));
    EXPECT_EQ(ledger.revoke(claims(alice.uri(), "c1", "j1")), false) << "already retired";
    EXPECT_TRUE(ledger.check(claims(alice.uri(), "c1", "j2")));
    EXPECT_EQ(ledger.revoke(claims(alice.uri(), "c1", "j2")), true);
    auto gone = ledger.check(claims(alice.uri(), "c1", "j2"));
    ASSERT_FALSE(gone);
    EXPECT_NE(gone.error().reason.find("logged out, or the user was removed"), std::string::npos);
    EXPECT_FALSE(ledger.has_current(alice, "c1"));
    EXPECT_TRUE(records.rows.empty());
    EXPECT_EQ(ledger.revoke(claims(alice.uri(), "c1", "j2", "mcx-idms:B")), false)
        << "not ours to revoke";
}

TEST_F(TokenLedgerTest, TokensOfOtherIssuersPassAndOwnTokensWithoutJtiDoNot) {
    EXPECT_TRUE(ledger.check(claims("sip:carol@b.mcx", "c1", "", "mcx-idms:B")));
    auto no_jti = ledger.check(claims(alice.uri(), "c1", ""));
    ASSERT_FALSE(no_jti);
    EXPECT_NE(no_jti.error().reason.find("no jti"), std::string::npos);
    EXPECT_FALSE(ledger.check(claims(alice.uri(), "c1", "never-issued")));
}

// Another process (mcx admin user remove) deleted alice's rows: the next load() sees it.
TEST_F(TokenLedgerTest, LoadTakesTheStoreAsItIsNow) {
    ASSERT_TRUE(ledger.issued(alice, "c1", issued("j1"), kNow));
    ASSERT_TRUE(ledger.issued(id("sip:bob@a.mcx"), "c9", issued("j9"), kNow));
    records.rows.erase({alice.uri(), "c1"});
    EXPECT_TRUE(ledger.check(claims(alice.uri(), "c1", "j1"))) << "not reloaded yet";
    ASSERT_EQ(ledger.load(), 1u);
    EXPECT_FALSE(ledger.check(claims(alice.uri(), "c1", "j1")));
    EXPECT_TRUE(ledger.check(claims("sip:bob@a.mcx", "c9", "j9")));
    // A restart: a new ledger over the same rows knows bob's token.
    TokenLedger restarted{"mcx-idms:A", records};
    ASSERT_EQ(restarted.load(), 1u);
    EXPECT_TRUE(restarted.check(claims("sip:bob@a.mcx", "c9", "j9")));
}

TEST_F(TokenLedgerTest, AFailedWriteChangesNothing) {
    ASSERT_TRUE(ledger.issued(alice, "c1", issued("j1"), kNow));
    records.broken = true;
    EXPECT_FALSE(ledger.issued(alice, "c1", issued("j2"), kNow));
    EXPECT_TRUE(ledger.check(claims(alice.uri(), "c1", "j1")));
    EXPECT_FALSE(ledger.revoke(claims(alice.uri(), "c1", "j1")));
    EXPECT_TRUE(ledger.check(claims(alice.uri(), "c1", "j1")));
}

// Entries of expired tokens are forgotten (a minute past expiry), so the table holds the
// tokens that could still be used, not every login ever made.
TEST_F(TokenLedgerTest, ExpiredEntriesArePruned) {
    ASSERT_TRUE(ledger.issued(alice, "old", issued("j0", kNow, 60), kNow));
    auto later = kNow + 200;
    for (int i = 0; i < 70; ++i) {
        ASSERT_TRUE(ledger.issued(alice, "c" + std::to_string(i), issued("j", later), later));
    }
    EXPECT_FALSE(ledger.has_current(alice, "old"));
    EXPECT_TRUE(ledger.has_current(alice, "c0"));
    EXPECT_EQ(ledger.size(), 70u);
    EXPECT_FALSE(records.rows.contains({alice.uri(), "old"}));
}

// The token endpoint with a ledger: what it issues is tracked, the revocation endpoint.
struct Credentials : CredentialStore {
    std::string hash = hash_password("pw");
    std::string password_hash(const McServiceId& user) const override {
        return user.uri() == "sip:alice@a.mcx" ? hash : std::string{};
    }
};

struct TrackedEndpoint : ::testing::Test {
    SigningKey key = *SigningKey::generate();
    TokenIssuer issuer{key, "mcx-idms:A", "mcx:A", 3600};
    TokenVerifier verifier{"mcx:A"};
    Credentials credentials;
    FakeRecords records;
    TokenLedger ledger{"mcx-idms:A", records};
    TokenEndpoint endpoint{credentials, issuer, "mcx:A",
                           [](const McServiceId&, const std::string& audience) -> Result<void> {
                               if (audience == "mcx:B") return {};
                               return fail(Errc::forbidden, "no");
                           }};
    std::vector<AccessTokenClaims> revoked;

    void SetUp() override {
        verifier.trust("mcx-idms:A", {key.public_pem, "a.mcx", {}});
        verifier.set_status_check(
            [this](const AccessTokenClaims& claims) { return ledger.check(claims); });
        endpoint.track_tokens(ledger);
        endpoint.enable_revocation(verifier,
                                   [this](const AccessTokenClaims& c) { revoked.push_back(c); });
        endpoint.enable_token_exchange(verifier, {false, {}, {}});
    }
    std::string login(const std::string& client, const std::string& audience = "") {
        std::map<std::string, std::string> form{{"grant_type", "password"},
                                                {"username", "sip:alice@a.mcx"},
                                                {"password", "pw"},
                                                {"client_id", client}};
        if (!audience.empty()) form["audience"] = audience;
        auto reply = endpoint.handle(form, kNow);
        EXPECT_EQ(reply.status, 200) << reply.body;
        return nlohmann::json::parse(reply.body)["access_token"].get<std::string>();
    }
    HttpReply revoke(std::map<std::string, std::string> form) {
        return endpoint.revoke(form, kNow);
    }
};

TEST_F(TrackedEndpoint, ANewLoginRetiresTheTokenOfTheSameClient) {
    const auto first = login("c1");
    const auto other_client = login("c2");
    ASSERT_TRUE(verifier.verify(first, kNow));
    const auto second = login("c1");
    auto old = verifier.verify(first, kNow);
    ASSERT_FALSE(old);
    EXPECT_NE(old.error().reason.find("retired by a newer login"), std::string::npos);
    EXPECT_TRUE(verifier.verify(second, kNow));
    EXPECT_TRUE(verifier.verify(other_client, kNow));
    // Every user token carries its jti.
    EXPECT_FALSE(verifier.verify(second, kNow)->token_id.empty());
}

// A token for a partner's audience is checked there: it does not retire the one for here.
TEST_F(TrackedEndpoint, ALoginForAPartnersAudienceRetiresNothingHere) {
    const auto here = login("c1");
    (void)login("c1", "mcx:B");
    EXPECT_TRUE(verifier.verify(here, kNow));
}

// Back home with a token of this IdMS (token exchange): the new token replaces the one shown,
// and a retired token cannot be exchanged for a fresh one.
TEST_F(TrackedEndpoint, ExchangingAnOwnTokenRetiresItAndARetiredOneIsRefused) {
    const auto first = login("c1");
    std::map<std::string, std::string> form{{"grant_type", kGrantTokenExchange},
                                            {"subject_token", first},
                                            {"subject_token_type", kTokenTypeAccessToken},
                                            {"client_id", "c1"}};
    auto reply = endpoint.handle(form, kNow);
    ASSERT_EQ(reply.status, 200) << reply.body;
    const auto exchanged = nlohmann::json::parse(reply.body)["access_token"].get<std::string>();
    EXPECT_TRUE(verifier.verify(exchanged, kNow));
    EXPECT_FALSE(verifier.verify(first, kNow));
    reply = endpoint.handle(form, kNow);
    EXPECT_EQ(reply.status, 400);
    EXPECT_NE(reply.body.find("retired"), std::string::npos) << reply.body;
}

TEST_F(TrackedEndpoint, RevocationRetiresTheTokenItself) {
    const auto token = login("c1");
    auto reply = revoke({{"token", token}, {"token_type_hint", "access_token"}});
    EXPECT_EQ(reply.status, 200);
    EXPECT_TRUE(reply.body.empty());
    EXPECT_FALSE(verifier.verify(token, kNow));
    ASSERT_EQ(revoked.size(), 1u);
    EXPECT_EQ(revoked[0].client_id, "c1");
    // Again: nothing left to do, still 200 (RFC 7009 2.2), no second notice.
    EXPECT_EQ(revoke({{"token", token}}).status, 200);
    EXPECT_EQ(revoked.size(), 1u);
}

TEST_F(TrackedEndpoint, RevocationAnswers200ForGarbageAndForeignTokens) {
    EXPECT_EQ(revoke({{"token", "garbage"}}).status, 200);
    EXPECT_EQ(revoke({{"token", "a.b.c"}, {"token_type_hint", "refresh_token"}}).status, 200);
    SigningKey other = *SigningKey::generate();
    TokenIssuer stranger{other, "mcx-idms:Z", "mcx:A", 3600};
    EXPECT_EQ(revoke({{"token", *stranger.issue(id("sip:alice@a.mcx"), "c1", kNow)}}).status, 200);
    // An expired token of ours: dead already.
    const auto token = login("c1");
    EXPECT_EQ(endpoint.revoke({{"token", token}}, kNow + 7200).status, 200);
    EXPECT_TRUE(revoked.empty());
    EXPECT_TRUE(verifier.verify(token, kNow));
}

TEST_F(TrackedEndpoint, RevocationNeedsATokenAndTheRightClient) {
    auto reply = revoke({{"token_type_hint", "access_token"}});
    EXPECT_EQ(reply.status, 400);
    EXPECT_NE(reply.body.find("invalid_request"), std::string::npos);
    const auto token = login("c1");
    reply = revoke({{"token", token}, {"client_id", "c2"}});
    EXPECT_EQ(reply.status, 400);
    EXPECT_NE(reply.body.find("invalid_client"), std::string::npos);
    EXPECT_TRUE(verifier.verify(token, kNow)) << "not revoked for another client";
    EXPECT_EQ(revoke({{"token", token}, {"client_id", "c1"}}).status, 200);
    EXPECT_FALSE(verifier.verify(token, kNow));
}

}  // namespace
}  // namespace mcx::idms
