#include "server/registrar.hpp"

#include <gtest/gtest.h>

#include "idms/keys.hpp"
#include "proto/content_type.hpp"
#include "proto/mcptt_info.hpp"

namespace mcx::server {
namespace {

constexpr std::int64_t kNowMs = 1'800'000'000'000;
constexpr const char* kClient = "urn:uuid:1";  // the mcptt-client-id of request()

struct RegistrarTest : ::testing::Test {
    idms::SigningKey key = *idms::SigningKey::generate();
    idms::TokenIssuer issuer{key, "mcx-idms:A", "mcx:A", 3600};
    idms::TokenVerifier verifier{"mcx:A"};
    Registrar registrar{verifier, 600};
    McServiceId alice = *McServiceId::parse("sip:alice@a.mcx");

    void SetUp() override { verifier.trust("mcx-idms:A", {key.public_pem, "a.mcx", {}}); }

    RegisterRequest request(const std::string& token) {
        proto::McpttInfo info;
        info.access_token = token;
        info.client_id = "urn:uuid:1";
        RegisterRequest r;
        r.to_uri = "sip:alice@a.mcx";
        r.contact = "<sip:alice@127.0.0.1:5070>;+g.3gpp.mcptt";
        r.expires_header = 300;
        r.content_type = std::string(proto::kMimeMcpttInfo);
        r.body = proto::build_mcptt_info(info);
        r.source = net::Endpoint{"127.0.0.1", 5070};
        return r;
    }
};

TEST_F(RegistrarTest, ValidTokenRegisters) {
    auto out = registrar.handle(request(*issuer.issue(alice, kClient, kNowMs / 1000)), kNowMs);
    EXPECT_EQ(out.status, 200);
    EXPECT_EQ(out.expires, 300u);
    const auto* b = registrar.lookup(alice, kNowMs);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->contact_uri, "sip:alice@127.0.0.1:5070");
    EXPECT_EQ(b->client_id, "urn:uuid:1");
    EXPECT_EQ(registrar.lookup(alice, kNowMs + 300'001), nullptr) << "binding expires";
}

TEST_F(RegistrarTest, MissingTokenAsksForOneAndRegistersNothing) {
    auto r = request("");
    r.body.clear();
    auto out = registrar.handle(r, kNowMs);
    EXPECT_EQ(out.status, 401);
    EXPECT_TRUE(out.ask_for_token);
    EXPECT_EQ(registrar.size(kNowMs), 0u);
}

TEST_F(RegistrarTest, BadTokenIsForbiddenWithWarning101) {
    auto out = registrar.handle(request("not.a.token"), kNowMs);
    EXPECT_EQ(out.status, 403);
    EXPECT_EQ(out.warning, proto::McWarning::service_authorisation_failed);
    EXPECT_EQ(registrar.size(kNowMs), 0u);
}

TEST_F(RegistrarTest, TokenOfAnotherUserIsForbidden) {
    auto bob = *McServiceId::parse("sip:bob@a.mcx");
    auto out = registrar.handle(request(*issuer.issue(bob, kClient, kNowMs / 1000)), kNowMs);
    EXPECT_EQ(out.status, 403);
    EXPECT_NE(out.detail.find("sip:bob@a.mcx"), std::string::npos);
    EXPECT_EQ(registrar.lookup(alice, kNowMs), nullptr);
}

TEST_F(RegistrarTest, MalformedMcpttInfoIsBadRequest) {
    auto r = request("x");
    r.body = "<mcpttinfo xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\"><unclosed>";
    auto out = registrar.handle(r, kNowMs);
    EXPECT_EQ(out.status, 400);
    EXPECT_EQ(registrar.size(kNowMs), 0u);
}

TEST_F(RegistrarTest, ExpiresZeroRemovesAndShortIntervalIsRefused) {
    const auto token = *issuer.issue(alice, kClient, kNowMs / 1000);
    ASSERT_EQ(registrar.handle(request(token), kNowMs).status, 200);
    auto brief = request(token);
    brief.expires_header = 5;
    EXPECT_EQ(registrar.handle(brief, kNowMs).status, 423);
    auto remove = request(token);
    remove.expires_header = 0;
    EXPECT_EQ(registrar.handle(remove, kNowMs).status, 200);
    EXPECT_EQ(registrar.lookup(alice, kNowMs), nullptr);
}

// A migrated user (TS 23.280 10.16.5): the identity check names the primary ID behind the AOR,
// the binding and the outcome carry it, and Expires: 0 says the binding went.
TEST_F(RegistrarTest, IdentityCheckMapsAnAssignedIdToItsPrimary) {
    const auto assigned = *McServiceId::parse("sip:alice.b@a.mcx");
    const auto primary = *McServiceId::parse("sip:alice@b.mcx");
    registrar.set_identity_check([&](const idms::AccessTokenClaims& claims,
                                     const McServiceId& aor) -> Result<std::optional<McServiceId>> {
        if (claims.mc_service_id() != aor) return fail(Errc::forbidden, "not yours");
        if (aor == assigned) return std::optional<McServiceId>(primary);
        return std::optional<McServiceId>{};
    });
    auto r = request(*issuer.issue(assigned, kClient, kNowMs / 1000));
    r.to_uri = assigned.uri();
    auto out = registrar.handle(r, kNowMs);
    ASSERT_EQ(out.status, 200) << out.detail;
    EXPECT_EQ(out.primary_id, primary);
    EXPECT_EQ(out.aor, assigned);
    const auto* b = registrar.lookup(assigned, kNowMs);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->primary_id, primary);
    r.expires_header = 0;
    out = registrar.handle(r, kNowMs);
    EXPECT_TRUE(out.removed);
    EXPECT_EQ(out.primary_id, primary);
    auto refused = request(*issuer.issue(alice, kClient, kNowMs / 1000));
    refused.to_uri = assigned.uri();
    out = registrar.handle(refused, kNowMs);
    EXPECT_EQ(out.status, 403);
    EXPECT_EQ(out.detail, "not yours");
}

TEST_F(RegistrarTest, ExpireReturnsTheBindingsThatWent) {
    ASSERT_EQ(
        registrar.handle(request(*issuer.issue(alice, kClient, kNowMs / 1000)), kNowMs).status,
        200);
    EXPECT_TRUE(registrar.expire(kNowMs + 1000).empty());
    auto gone = registrar.expire(kNowMs + 301'000);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].user, alice);
    EXPECT_EQ(registrar.size(kNowMs), 0u);
}

// Issue 16 item 2: a token is bound to the client it was issued to (client_id <->
// <mcptt-client-id>); refusals are 403 with warning 101 and leave the binding as it was.
TEST_F(RegistrarTest, TokenOfAnotherClientIsForbiddenAndTheBindingStays) {
    ASSERT_EQ(
        registrar.handle(request(*issuer.issue(alice, kClient, kNowMs / 1000)), kNowMs).status,
        200);
    auto thief = request(*issuer.issue(alice, kClient, kNowMs / 1000));
    thief.contact = "<sip:alice@127.0.0.1:6666>";
    thief.source = net::Endpoint{"127.0.0.1", 6666};
    proto::McpttInfo info;
    info.access_token = *issuer.issue(alice, kClient, kNowMs / 1000);
    info.client_id = "urn:uuid:2";
    thief.body = proto::build_mcptt_info(info);
    auto out = registrar.handle(thief, kNowMs);
    EXPECT_EQ(out.status, 403);
    EXPECT_EQ(out.warning, proto::McWarning::service_authorisation_failed);
    EXPECT_NE(out.detail.find("issued to client urn:uuid:1, not to client urn:uuid:2"),
              std::string::npos)
        << out.detail;
    const auto* b = registrar.lookup(alice, kNowMs);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->contact_uri, "sip:alice@127.0.0.1:5070");
    EXPECT_EQ(b->source.port, 5070);
}

// The whole mcptt-info copied (token and client ID) and sent from another port: refused while
// the binding it made lives; a newer login registers from anywhere.
TEST_F(RegistrarTest, ALiveBindingsTokenRegistersOnlyFromItsAddress) {
    const auto token = *issuer.issue(alice, kClient, kNowMs / 1000);
    ASSERT_EQ(registrar.handle(request(token), kNowMs).status, 200);
    auto replay = request(token);
    replay.source = net::Endpoint{"127.0.0.1", 6666};
    replay.contact = "<sip:alice@127.0.0.1:6666>";
    auto out = registrar.handle(replay, kNowMs);
    EXPECT_EQ(out.status, 403);
    EXPECT_EQ(out.warning, proto::McWarning::service_authorisation_failed);
    EXPECT_NE(out.detail.find("in use by the registration from 127.0.0.1:5070"), std::string::npos)
        << out.detail;
    replay.expires_header = 0;
    EXPECT_EQ(registrar.handle(replay, kNowMs).status, 403) << "nor removes it";
    EXPECT_EQ(registrar.lookup(alice, kNowMs)->contact_uri, "sip:alice@127.0.0.1:5070");
    EXPECT_EQ(registrar.handle(request(token), kNowMs + 1000).status, 200) << "refresh from there";
    auto fresh = request(*issuer.issue(alice, kClient, kNowMs / 1000));
    fresh.source = replay.source;
    fresh.contact = replay.contact;
    EXPECT_EQ(registrar.handle(fresh, kNowMs).status, 200);
    EXPECT_EQ(registrar.lookup(alice, kNowMs)->contact_uri, "sip:alice@127.0.0.1:6666");
}

TEST_F(RegistrarTest, TokenWithoutClientIdOrRegisterWithoutClientIdIsForbidden) {
    auto out = registrar.handle(request(*issuer.issue(alice, "", kNowMs / 1000)), kNowMs);
    EXPECT_EQ(out.status, 403);
    EXPECT_EQ(out.warning, proto::McWarning::service_authorisation_failed);
    EXPECT_NE(out.detail.find("names no client_id"), std::string::npos) << out.detail;

    auto r = request("");
    proto::McpttInfo info;
    info.access_token = *issuer.issue(alice, kClient, kNowMs / 1000);
    r.body = proto::build_mcptt_info(info);  // no <mcptt-client-id>
    out = registrar.handle(r, kNowMs);
    EXPECT_EQ(out.status, 403);
    EXPECT_NE(out.detail.find("without mcptt-client-id"), std::string::npos) << out.detail;
    EXPECT_EQ(registrar.size(kNowMs), 0u);
}

// The verifier's status check (the TokenLedger in mcxd) refuses a retired token: 403, 101, and
// the binding made with the current token stays.
TEST_F(RegistrarTest, RetiredTokenIsForbiddenAndTheBindingStays) {
    const auto old_token = *issuer.issue(alice, kClient, kNowMs / 1000);
    ASSERT_EQ(registrar.handle(request(old_token), kNowMs).status, 200);
    verifier.set_status_check([](const idms::AccessTokenClaims&) -> Result<void> {
        return fail(Errc::forbidden, "access token was retired by a newer login");
    });
    auto replay = request(old_token);
    replay.contact = "<sip:alice@127.0.0.1:6666>";
    auto out = registrar.handle(replay, kNowMs);
    EXPECT_EQ(out.status, 403);
    EXPECT_EQ(out.warning, proto::McWarning::service_authorisation_failed);
    EXPECT_NE(out.detail.find("retired"), std::string::npos);
    ASSERT_NE(registrar.lookup(alice, kNowMs), nullptr);
    EXPECT_EQ(registrar.lookup(alice, kNowMs)->contact_uri, "sip:alice@127.0.0.1:5070");
    EXPECT_EQ(registrar.lookup(alice, kNowMs)->token_issuer, "mcx-idms:A");
}

TEST_F(RegistrarTest, RemoveIfDropsTheBindingsNamed) {
    const auto bob = *McServiceId::parse("sip:bob@a.mcx");
    ASSERT_EQ(
        registrar.handle(request(*issuer.issue(alice, kClient, kNowMs / 1000)), kNowMs).status,
        200);
    auto r = request(*issuer.issue(bob, kClient, kNowMs / 1000));
    r.to_uri = bob.uri();
    ASSERT_EQ(registrar.handle(r, kNowMs).status, 200);
    auto gone = registrar.remove_if([&](const Binding& b) { return b.user == alice; });
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].user, alice);
    EXPECT_EQ(registrar.lookup(alice, kNowMs), nullptr);
    EXPECT_NE(registrar.lookup(bob, kNowMs), nullptr);
}

TEST(ParseContact, NameAddrAndParams) {
    auto c = parse_contact("<sip:a@1.2.3.4:5>;expires=60;+g.3gpp.mcptt");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->uri, "sip:a@1.2.3.4:5");
    EXPECT_EQ(c->expires, 60u);
    EXPECT_FALSE(parse_contact("<sip:a@b"));
    EXPECT_FALSE(parse_contact("<http://x>"));
    EXPECT_FALSE(parse_contact("<sip:a@b>;expires=soon"));
}

}  // namespace
}  // namespace mcx::server
