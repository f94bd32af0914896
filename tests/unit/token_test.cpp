#include <gtest/gtest.h>

#include "idms/keys.hpp"
#include "idms/password.hpp"
#include "idms/token.hpp"
#include "idms/token_endpoint.hpp"

namespace mcx::idms {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

struct Tokens : ::testing::Test {
    SigningKey key = *SigningKey::generate();
    SigningKey other_key = *SigningKey::generate();
    McServiceId alice = *McServiceId::parse("sip:alice@a.mcx");
    TokenIssuer issuer{key, "mcx-idms:A", "mcx:A", 3600};
    TokenVerifier verifier{"mcx:A"};
    void SetUp() override { verifier.trust("mcx-idms:A", {key.public_pem, "a.mcx", {}}); }
};

TEST_F(Tokens, ValidTokenCarriesTheClaims) {
    auto token = issuer.issue(alice, "client-1", kNow);
    ASSERT_TRUE(token) << token.error().reason;
    auto claims = verifier.verify(*token, kNow + 10);
    ASSERT_TRUE(claims) << claims.error().reason;
    EXPECT_EQ(claims->mc_service_id(), alice);
    EXPECT_EQ(claims->issuer, "mcx-idms:A");
    EXPECT_EQ(claims->audience, "mcx:A");
    EXPECT_EQ(claims->client_id, "client-1");
    EXPECT_EQ(claims->expires_at, kNow + 3600);
}

TEST_F(Tokens, ForgedSignatureIsRefused) {
    TokenIssuer forger{other_key, "mcx-idms:A", "mcx:A", 3600};
    auto token = forger.issue(alice, "c", kNow);
    auto claims = verifier.verify(*token, kNow);
    ASSERT_FALSE(claims);
    EXPECT_EQ(claims.error().code, Errc::unauthorized);
}

TEST_F(Tokens, TamperedPayloadIsRefused) {
    auto token = *issuer.issue(alice, "c", kNow);
    auto bob_token = *issuer.issue(*McServiceId::parse("sip:bob@a.mcx"), "c", kNow);
    // Alice's header and signature around bob's payload.
    const auto d1 = token.find('.'), d2 = token.rfind('.');
    const auto b1 = bob_token.find('.'), b2 = bob_token.rfind('.');
    const auto spliced = token.substr(0, d1) + bob_token.substr(b1, b2 - b1) + token.substr(d2);
    EXPECT_FALSE(verifier.verify(spliced, kNow));
}

TEST_F(Tokens, ExpiredTokenIsRefused) {
    auto token = *issuer.issue(alice, "c", kNow);
    EXPECT_TRUE(verifier.verify(token, kNow + 3600));
    auto late = verifier.verify(token, kNow + 3600 + 31);  // past the 30 s skew allowance
    ASSERT_FALSE(late);
    EXPECT_NE(late.error().reason.find("expired"), std::string::npos);
}

TEST_F(Tokens, WrongAudienceIsRefused) {
    TokenIssuer for_b{key, "mcx-idms:A", "mcx:B", 3600};
    auto claims = verifier.verify(*for_b.issue(alice, "c", kNow), kNow);
    ASSERT_FALSE(claims);
    EXPECT_NE(claims.error().reason.find("mcx:B"), std::string::npos);
}

TEST_F(Tokens, UntrustedIssuerIsRefused) {
    TokenIssuer stranger{key, "mcx-idms:Z", "mcx:A", 3600};
    auto claims = verifier.verify(*stranger.issue(alice, "c", kNow), kNow);
    ASSERT_FALSE(claims);
    EXPECT_EQ(claims.error().code, Errc::forbidden);
}

TEST_F(Tokens, GarbageIsRefused) {
    for (const char* bad :
         {"", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJtY3gtaWRtczpBIn0."}) {
        EXPECT_FALSE(verifier.verify(bad, kNow)) << bad;
    }
}

TEST(Password, HashVerifiesAndIsSalted) {
    const auto h1 = hash_password("secret");
    const auto h2 = hash_password("secret");
    EXPECT_NE(h1, h2);
    EXPECT_EQ(h1.find("secret"), std::string::npos);
    EXPECT_TRUE(verify_password("secret", h1));
    EXPECT_FALSE(verify_password("Secret", h1));
    EXPECT_FALSE(verify_password("secret", "plain"));
    EXPECT_FALSE(verify_password("secret", "pbkdf2-sha256$0$aa$bb"));
}

struct FixedCredentials : CredentialStore {
    std::string hash = hash_password("pw");
    std::string password_hash(const McServiceId& user) const override {
        return user.uri() == "sip:alice@a.mcx" ? hash : std::string{};
    }
};

TEST_F(Tokens, TokenEndpointPasswordGrant) {
    FixedCredentials credentials;
    TokenEndpoint endpoint(credentials, issuer, "mcx:A");
    auto ok = endpoint.handle(
        {{"grant_type", "password"}, {"username", "sip:alice@a.mcx"}, {"password", "pw"}}, kNow);
    EXPECT_EQ(ok.status, 200);
    EXPECT_NE(ok.body.find("\"access_token\""), std::string::npos);
    auto wrong = endpoint.handle(
        {{"grant_type", "password"}, {"username", "sip:alice@a.mcx"}, {"password", "nope"}}, kNow);
    EXPECT_EQ(wrong.status, 400);
    EXPECT_NE(wrong.body.find("invalid_grant"), std::string::npos);
    auto unknown = endpoint.handle(
        {{"grant_type", "password"}, {"username", "sip:eve@a.mcx"}, {"password", "pw"}}, kNow);
    EXPECT_EQ(unknown.body, wrong.body) << "no user enumeration";
    auto grant = endpoint.handle({{"grant_type", "client_credentials"}}, kNow);
    EXPECT_NE(grant.body.find("unsupported_grant_type"), std::string::npos);
}

TEST_F(Tokens, PartnerAudienceNeedsThePolicy) {
    FixedCredentials credentials;
    TokenEndpoint endpoint(credentials, issuer, "mcx:A",
                           [](const McServiceId&, const std::string& audience) -> Result<void> {
                               if (audience == "mcx:B") return {};
                               return fail(Errc::forbidden, "may not migrate to " + audience);
                           });
    std::map<std::string, std::string> form{{"grant_type", "password"},
                                            {"username", "sip:alice@a.mcx"},
                                            {"password", "pw"},
                                            {"audience", "mcx:B"}};
    auto ok = endpoint.handle(form, kNow);
    ASSERT_EQ(ok.status, 200) << ok.body;
    TokenVerifier at_b{"mcx:B"};
    at_b.trust("mcx-idms:A", {key.public_pem, "a.mcx", {}});
    const auto start = ok.body.find("\"access_token\":\"") + 16;
    const auto token = ok.body.substr(start, ok.body.find('"', start) - start);
    auto claims = at_b.verify(token, kNow);
    ASSERT_TRUE(claims) << claims.error().reason;
    EXPECT_EQ(claims->audience, "mcx:B");
    EXPECT_FALSE(verifier.verify(token, kNow)) << "A's own servers refuse a token for B";
    form["audience"] = "mcx:C";
    auto refused = endpoint.handle(form, kNow);
    EXPECT_EQ(refused.status, 400);
    EXPECT_NE(refused.body.find("invalid_target"), std::string::npos);
}

TEST_F(Tokens, SystemTokensNameTheirSystem) {
    auto system_token = issuer.issue_system("A", "mcx:A", kNow);
    ASSERT_TRUE(system_token);
    auto claims = verifier.verify_system(*system_token, kNow);
    ASSERT_TRUE(claims) << claims.error().reason;
    EXPECT_EQ(claims->subject, "mcx-system:A");
    EXPECT_FALSE(verifier.verify(*system_token, kNow)) << "not a user token";
    auto user_token = *issuer.issue(alice, "c", kNow);
    EXPECT_FALSE(verifier.verify_system(user_token, kNow)) << "not a system token";
}

TEST_F(Tokens, KeyResolverTrustsConfiguredPartnersWithTheKeyOfTheMoment) {
    TokenIssuer partner{other_key, "mcx-idms:B", "mcx:A", 3600};
    auto token = *partner.issue(*McServiceId::parse("sip:carol@b.mcx"), "c", kNow);
    EXPECT_FALSE(verifier.verify(token, kNow)) << "unknown issuer";
    int lookups = 0;
    std::string kid_asked;
    std::string published = other_key.public_pem;
    verifier.set_key_resolver([&](const std::string& issuer_name,
                                  const std::string& kid) -> std::optional<TrustedIssuer> {
        ++lookups;
        kid_asked = kid;
        if (issuer_name == "mcx-idms:B") return TrustedIssuer{published, "b.mcx", {}};
        return std::nullopt;
    });
    EXPECT_TRUE(verifier.verify(token, kNow));
    EXPECT_EQ(kid_asked, partner.key_id()) << "the token's kid reaches the resolver";
    EXPECT_TRUE(verifier.verify(token, kNow));
    EXPECT_EQ(lookups, 2) << "asked each time: a published key may change";
    published = key.public_pem;  // B's IdMS now publishes another key
    EXPECT_FALSE(verifier.verify(token, kNow)) << "not remembered from before";
    TokenIssuer stranger{key, "mcx-idms:Z", "mcx:A", 3600};
    EXPECT_FALSE(verifier.verify(*stranger.issue(alice, "c", kNow), kNow));
}

// Every token names its key (kid, RFC 7515 4.1.4: the RFC 7638 thumbprint), so that a verifier
// that knows another key of that issuer refuses it before checking the signature and fetches
// the partner's key again (docs/identity.md, "Tokens for a partner MC system").
TEST_F(Tokens, TokensNameTheirKeyAndAnotherKidIsRefused) {
    const auto kid = *key.key_id();
    EXPECT_EQ(issuer.key_id(), kid);
    EXPECT_EQ(kid.size(), 43u) << "SHA-256, base64url without padding";
    EXPECT_EQ(*SigningKey::public_key_id(key.public_pem), kid) << "from the public key alone";
    EXPECT_NE(*other_key.key_id(), kid);
    EXPECT_FALSE(SigningKey::public_key_id("-----BEGIN PUBLIC KEY-----\ngarbage\n"));
    const auto token = *issuer.issue(alice, "c", kNow);
    TokenVerifier strict{"mcx:A"};
    strict.trust("mcx-idms:A", {key.public_pem, "a.mcx", kid});
    EXPECT_TRUE(strict.verify(token, kNow));
    TokenIssuer rotated{other_key, "mcx-idms:A", "mcx:A", 3600};
    auto refused = strict.verify(*rotated.issue(alice, "c", kNow), kNow);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::forbidden);
    EXPECT_NE(refused.error().reason.find("signed with key " + rotated.key_id()), std::string::npos)
        << refused.error().reason;
}

// A partner's IdMS vouches for the partner's users only: a token it signs for a user of this
// system (or of a third one) is refused, so a partner cannot register or fetch profiles as one.
TEST_F(Tokens, PartnerIssuerMayNotVouchForOtherDomains) {
    verifier.trust("mcx-idms:B", {other_key.public_pem, "b.mcx", {}});
    TokenIssuer partner{other_key, "mcx-idms:B", "mcx:A", 3600};
    EXPECT_TRUE(
        verifier.verify(*partner.issue(*McServiceId::parse("sip:carol@b.mcx"), "c", kNow), kNow));
    for (const auto* user : {"sip:alice@a.mcx", "sip:dave@c.mcx"}) {
        auto claims = verifier.verify(*partner.issue(*McServiceId::parse(user), "c", kNow), kNow);
        ASSERT_FALSE(claims) << user;
        EXPECT_EQ(claims.error().code, Errc::forbidden);
        EXPECT_NE(claims.error().reason.find("may not vouch"), std::string::npos);
    }
    // And the own IdMS only for the own domain.
    EXPECT_FALSE(
        verifier.verify(*issuer.issue(*McServiceId::parse("sip:carol@b.mcx"), "c", kNow), kNow));
}

// verify_subject_token(): a user's token for its issuer's own servers is taken too (the
// primary's token presented to a partner's IdMS), with every other check; verify(): a
// primary_mcptt_id only from this system's own IdMS.
TEST_F(Tokens, SubjectTokensAndPrimaryIds) {
    TokenVerifier at_b{"mcx:B"};
    at_b.trust("mcx-idms:A", {key.public_pem, "a.mcx", {}});
    at_b.trust("mcx-idms:B", {other_key.public_pem, "b.mcx", {}});
    const auto primary = *issuer.issue(alice, "c", kNow);
    EXPECT_FALSE(at_b.verify(primary, kNow)) << "a token for A is not one for B";
    auto subject = at_b.verify_subject_token(primary, kNow);
    ASSERT_TRUE(subject) << subject.error().reason;
    EXPECT_EQ(subject->audience, "mcx:A");
    EXPECT_EQ(subject->mc_service_id(), alice);
    EXPECT_FALSE(subject->primary_id);
    TokenIssuer for_c{key, "mcx-idms:A", "mcx:C", 3600};
    auto third = at_b.verify_subject_token(*for_c.issue(alice, "c", kNow), kNow);
    ASSERT_FALSE(third);
    EXPECT_NE(third.error().reason.find("'mcx:C'"), std::string::npos) << third.error().reason;
    EXPECT_FALSE(at_b.verify_subject_token(primary, kNow + 3600 + 31)) << "expired";
    EXPECT_FALSE(at_b.verify_subject_token(
        *issuer.issue(*McServiceId::parse("sip:carol@b.mcx"), "c", kNow), kNow))
        << "A vouches for a.mcx only";
    EXPECT_FALSE(at_b.verify_subject_token(*issuer.issue_system("A", "mcx:A", kNow), kNow))
        << "a system token is no user's";

    TokenIssuer b_issuer{other_key, "mcx-idms:B", "mcx:B", 3600};
    const auto local = *McServiceId::parse("sip:alice.a@b.mcx");
    const auto exchanged = *b_issuer.issue_migrated(local, alice, "c", kNow);
    auto claims = at_b.verify(exchanged, kNow);
    ASSERT_TRUE(claims) << claims.error().reason;
    EXPECT_EQ(claims->mc_service_id(), local);
    ASSERT_TRUE(claims->primary_id);
    EXPECT_EQ(*claims->primary_id, alice);
    EXPECT_TRUE(at_b.verify_subject_token(exchanged, kNow)->primary_id)
        << "returned for the token endpoint to refuse";
    // B may not tell A whom one of B's IDs stands for.
    verifier.trust("mcx-idms:B", {other_key.public_pem, "b.mcx", {}});
    TokenIssuer b_for_a{other_key, "mcx-idms:B", "mcx:A", 3600};
    auto refused = verifier.verify(
        *b_for_a.issue_migrated(*McServiceId::parse("sip:mallory@b.mcx"), alice, "c", kNow), kNow);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::forbidden);
    EXPECT_NE(refused.error().reason.find("primary MC service ID"), std::string::npos);
}

TEST_F(Tokens, IssueUntilNeverOutlivesTheLimitNorTheLifetime) {
    auto soon = verifier.verify(*issuer.issue_until(alice, "c", kNow, kNow + 60), kNow);
    ASSERT_TRUE(soon) << soon.error().reason;
    EXPECT_EQ(soon->expires_at, kNow + 60);
    auto later = verifier.verify(*issuer.issue_until(alice, "c", kNow, kNow + 99999), kNow);
    ASSERT_TRUE(later);
    EXPECT_EQ(later->expires_at, kNow + 3600);
}

TEST_F(Tokens, SystemTokenIsReusedUntilAMinuteBeforeItExpires) {
    const auto first = *issuer.system_token("A", "mcx:B", kNow);
    EXPECT_EQ(*issuer.system_token("A", "mcx:B", kNow + 200), first);
    EXPECT_NE(*issuer.system_token("A", "mcx:C", kNow + 200), first) << "one per audience";
    const auto renewed = *issuer.system_token("A", "mcx:B", kNow + 240);
    EXPECT_NE(renewed, first) << "60 s before its expiry a new one is signed";
    TokenVerifier at_b{"mcx:B"};
    at_b.trust("mcx-idms:A", {key.public_pem, "a.mcx", {}});
    auto claims = at_b.verify_system(renewed, kNow + 240);
    ASSERT_TRUE(claims) << claims.error().reason;
    EXPECT_EQ(claims->expires_at, kNow + 240 + TokenIssuer::kSystemTokenLifetimeSeconds);
    // A clock that went back does not keep a token issued "later".
    EXPECT_NE(*issuer.system_token("A", "mcx:B", kNow), renewed);
}

TEST_F(Tokens, VerifiedSystemTokenIsCheckedOnceWhileItsKeyAndLifetimeHold) {
    const auto token = *issuer.issue_system("A", "mcx:A", kNow);
    ASSERT_TRUE(verifier.verify_system(token, kNow));
    ASSERT_TRUE(verifier.verify_system(token, kNow + 100));
    EXPECT_EQ(verifier.signature_checks(), 1u) << "the second call used the verified token";
    // Expired: refused, remembered or not.
    auto late = verifier.verify_system(token, kNow + 300 + 31);
    ASSERT_FALSE(late);
    EXPECT_NE(late.error().reason.find("expired"), std::string::npos);
    // The issuer's key changed: the token is checked again, against the new key, and refused.
    const auto again = *issuer.issue_system("A", "mcx:A", kNow + 1);
    ASSERT_TRUE(verifier.verify_system(again, kNow + 1));
    verifier.trust("mcx-idms:A", {other_key.public_pem, "a.mcx", {}});
    EXPECT_FALSE(verifier.verify_system(again, kNow + 2));
    // A forged token is never remembered as verified: it is remembered as refused, so a flood
    // repeating it costs one signature check.
    TokenIssuer forger{other_key, "mcx-idms:A", "mcx:A", 3600};
    verifier.trust("mcx-idms:A", {key.public_pem, "a.mcx", {}});
    const auto forged = *forger.issue_system("A", "mcx:A", kNow);
    EXPECT_FALSE(verifier.verify_system(forged, kNow));
    const auto checks = verifier.signature_checks();
    for (int i = 0; i < 3; ++i) {
        auto refused = verifier.verify_system(forged, kNow + i);
        ASSERT_FALSE(refused);
        EXPECT_NE(refused.error().reason.find("signature is not valid"), std::string::npos);
    }
    EXPECT_EQ(verifier.signature_checks(), checks);
}

TEST_F(Tokens, UserTokenSignatureIsCheckedOnceAndItsClaimsEveryTime) {
    const auto token = *issuer.issue(alice, "client-1", kNow);
    ASSERT_TRUE(verifier.verify(token, kNow));
    const auto checks = verifier.signature_checks();
    ASSERT_TRUE(verifier.verify(token, kNow + 10)) << "a re-REGISTER with the same token";
    EXPECT_EQ(verifier.signature_checks(), checks);
    // The remembered claims are still checked: here, the expiry.
    auto late = verifier.verify(token, kNow + 3600 + 31);
    ASSERT_FALSE(late);
    EXPECT_NE(late.error().reason.find("expired"), std::string::npos);
}

TEST(SignatureVerdicts, ForgetsOldEntriesFirstAndNeverGrowsPastItsCapacity) {
    SignatureVerdicts<int> verdicts(4);
    verdicts.remember("valid", "K", {1, {}}, 100, 1000);
    for (int i = 0; i < 10; ++i) {
        verdicts.remember("forged" + std::to_string(i), "K", {std::nullopt, "bad"}, 100, 0);
        EXPECT_LE(verdicts.size(), 4u);
    }
    auto kept = verdicts.find("valid", "K", 200);
    ASSERT_TRUE(kept) << "invalid verdicts are dropped before valid ones";
    EXPECT_EQ(kept->claims, 1);
    EXPECT_FALSE(verdicts.find("valid", "other key", 200)) << "a verdict holds for its key only";
    EXPECT_FALSE(verdicts.find("valid", "K", 1000)) << "forgotten when the token expires";
    auto forged = verdicts.find("forged9", "K", 100 + 299);
    ASSERT_TRUE(forged);
    EXPECT_FALSE(forged->claims);
    EXPECT_EQ(forged->refusal, "bad");
    EXPECT_FALSE(verdicts.find("forged9", "K", 100 + 300));
}

}  // namespace
}  // namespace mcx::idms
