// Token exchange for migration (RFC 8693, RFC 7523; TS 33.180 5.1.4.2): the IdMS of B takes a
// token of A's IdMS for a user of A and issues one of B for the MC service ID B assigns.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>

#include "cms/profiles.hpp"
#include "idms/keys.hpp"
#include "idms/token.hpp"
#include "idms/token_endpoint.hpp"

namespace mcx::idms {
namespace {

using Json = nlohmann::json;
using Form = std::map<std::string, std::string>;
constexpr std::int64_t kNow = 1'800'000'000;

McServiceId id(const char* uri) {
    return *McServiceId::parse(uri);
}

struct Users : CredentialStore {
    std::set<std::string> known;
    std::string password_hash(const McServiceId& user) const override {
        return known.contains(user.uri()) ? "pbkdf2-sha256$1$00$00" : std::string{};
    }
};

// A system's IdMS: its key, issuer, verifier (trusting its own key and its partners') and
// token endpoint.
struct Idms {
    std::string system;
    std::string domain;
    SigningKey key = *SigningKey::generate();
    TokenIssuer issuer{key, "mcx-idms:" + system, "mcx:" + system, 3600};
    TokenVerifier verifier{"mcx:" + system};
    Users users;
    MigrationPolicy policy;
    TokenEndpoint endpoint{users, issuer, "mcx:" + system};

    Idms(std::string id, std::string dom) : system(std::move(id)), domain(std::move(dom)) {
        verifier.trust(issuer.issuer(), {key.public_pem, domain, {}});
    }
    // Trusts `partner`'s IdMS for its users and takes them in as `policy` says.
    void partner_with(const Idms& partner) {
        verifier.trust(partner.issuer.issuer(), {partner.key.public_pem, partner.domain, {}});
        partners[partner.issuer.issuer()] = partner.system;
    }
    void enable(bool accept = true) {
        policy.accept = accept;
        endpoint.enable_token_exchange(
            verifier, {accept,
                       [this](const std::string& issuer_name) -> std::optional<std::string> {
                           auto it = partners.find(issuer_name);
                           if (it == partners.end()) return std::nullopt;
                           return it->second;
                       },
                       [this](const McServiceId& primary_id, const std::string& home) {
                           return cms::assigned_id(policy, primary_id, home, domain);
                       }});
    }
    std::map<std::string, std::string> partners;  // issuer -> system
};

struct Reply {
    int status = 0;
    Json body;
    std::string error() const { return body.value("error", ""); }
    std::string description() const { return body.value("error_description", ""); }
};

struct TokenExchange : ::testing::Test {
    Idms a{"A", "a.mcx"};
    Idms b{"B", "b.mcx"};
    McServiceId alice = id("sip:alice@a.mcx");

    void SetUp() override {
        a.users.known = {"sip:alice@a.mcx"};
        b.users.known = {"sip:carol@b.mcx"};
        a.partner_with(b);
        b.partner_with(a);
        a.enable();
        b.enable();
    }
    static Form exchange(const std::string& token, const std::string& client_id = "client-1") {
        return {{"grant_type", kGrantTokenExchange},
                {"subject_token", token},
                {"subject_token_type", kTokenTypeAccessToken},
                {"client_id", client_id}};
    }
    static Reply at(const Idms& system, const Form& form, std::int64_t now = kNow) {
        auto reply = system.endpoint.handle(form, now);
        auto body = Json::parse(reply.body, nullptr, false);
        EXPECT_FALSE(body.is_discarded()) << reply.body;
        EXPECT_EQ(reply.content_type, "application/json");
        return {reply.status, body};
    }
    // A's token for alice, for A's own servers (audience mcx:A), as alice's client holds it.
    std::string primary_token(const char* client_id = "client-1") {
        return *a.issuer.issue(alice, client_id, kNow);
    }
    // Expects an RFC 6749 5.2 error naming `code`, with a description containing `says`.
    static void expect_error(const Reply& r, const char* code, const std::string& says) {
        EXPECT_EQ(r.status, 400) << r.body.dump();
        EXPECT_EQ(r.error(), code) << r.body.dump();
        EXPECT_NE(r.description().find(says), std::string::npos) << r.description();
        EXPECT_FALSE(r.body.contains("access_token"));
    }
};

TEST_F(TokenExchange, PrimaryTokenGivesATokenOfThisSystemForTheAssignedId) {
    auto r = at(b, exchange(primary_token()));
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(r.body["issued_token_type"], kTokenTypeAccessToken);
    EXPECT_EQ(r.body["token_type"], "Bearer");
    EXPECT_EQ(r.body["expires_in"], 3600);
    EXPECT_EQ(r.body["mcptt_id"], "sip:alice.a@b.mcx");
    EXPECT_EQ(r.body["primary_mcptt_id"], "sip:alice@a.mcx");
    // B's own servers accept it: B's issuer and audience, the assigned ID, the primary ID.
    auto claims = b.verifier.verify(r.body["access_token"].get<std::string>(), kNow + 10);
    ASSERT_TRUE(claims) << claims.error().reason;
    EXPECT_EQ(claims->issuer, "mcx-idms:B");
    EXPECT_EQ(claims->audience, "mcx:B");
    EXPECT_EQ(claims->subject, "sip:alice.a@b.mcx");
    ASSERT_TRUE(claims->primary_id);
    EXPECT_EQ(*claims->primary_id, alice);
    EXPECT_EQ(claims->client_id, "client-1");
    EXPECT_EQ(claims->expires_at, kNow + 3600);
    // A's servers do not: it is B's.
    EXPECT_FALSE(a.verifier.verify(r.body["access_token"].get<std::string>(), kNow));
}

TEST_F(TokenExchange, AcceptsATokenForThisAudienceAndTheJwtTokenType) {
    auto for_b = *a.issuer.issue_for(alice, "client-1", "mcx:B", kNow);
    auto form = exchange(for_b);
    form["subject_token_type"] = kTokenTypeJwt;
    form["audience"] = "mcx:B";
    auto r = at(b, form);
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(r.body["mcptt_id"], "sip:alice.a@b.mcx");
}

TEST_F(TokenExchange, AssignedIdFollowsThePolicy) {
    b.policy.assigned_id = "{home}-{user}@{domain}";
    auto r = at(b, exchange(primary_token()));
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(r.body["mcptt_id"], "sip:a-alice@b.mcx");
    b.policy.assigned_id = "no uri {user}";
    auto broken = at(b, exchange(primary_token()));
    EXPECT_EQ(broken.status, 500);
    EXPECT_EQ(broken.error(), "server_error");
    EXPECT_NE(broken.description().find("assigned_id"), std::string::npos) << broken.description();
}

TEST_F(TokenExchange, JwtBearerGrantNeedsAnAssertionForThisSystem) {
    Form form{{"grant_type", kGrantJwtBearer},
              {"assertion", *a.issuer.issue_for(alice, "client-1", "mcx:B", kNow)},
              {"client_id", "client-1"}};
    auto r = at(b, form);
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(r.body["mcptt_id"], "sip:alice.a@b.mcx");
    EXPECT_EQ(r.body["primary_mcptt_id"], "sip:alice@a.mcx");
    // RFC 7523 3: the assertion's audience must be this IdMS; A's own is not.
    form["assertion"] = primary_token();
    expect_error(at(b, form), "invalid_grant", "audience=mcx:B");
    form.erase("assertion");
    expect_error(at(b, form), "invalid_request", "assertion is missing");
    form["assertion"] = *a.issuer.issue_for(alice, "client-1", "mcx:B", kNow);
    form["client_id"] = "client-2";
    expect_error(at(b, form), "invalid_grant", "issued to client client-1");
}

TEST_F(TokenExchange, TamperedOrForgedSubjectTokenIsAnInvalidGrant) {
    const auto token = primary_token();
    const auto other = *a.issuer.issue(id("sip:zed@a.mcx"), "client-1", kNow);
    // alice's header and signature around zed's payload.
    const auto spliced = token.substr(0, token.find('.')) +
                         other.substr(other.find('.'), other.rfind('.') - other.find('.')) +
                         token.substr(token.rfind('.'));
    expect_error(at(b, exchange(spliced)), "invalid_grant", "signature is not valid");
    SigningKey forger_key = *SigningKey::generate();
    TokenIssuer forger{forger_key, "mcx-idms:A", "mcx:A", 3600};
    expect_error(at(b, exchange(*forger.issue(alice, "client-1", kNow))), "invalid_grant",
                 "signature is not valid");
    expect_error(at(b, exchange("not.a.jwt")), "invalid_grant", "subject_token refused");
}

TEST_F(TokenExchange, ExpiredSubjectTokenIsAnInvalidGrant) {
    const auto token = primary_token();
    EXPECT_EQ(at(b, exchange(token), kNow + 3600).status, 200);
    expect_error(at(b, exchange(token), kNow + 3600 + 31), "invalid_grant", "expired");
    auto future = *a.issuer.issue(alice, "client-1", kNow + 600);
    expect_error(at(b, exchange(future)), "invalid_grant", "issued in the future");
}

TEST_F(TokenExchange, UnknownOrUntrustedIssuerIsAnInvalidGrant) {
    Idms c{"C", "c.mcx"};
    expect_error(at(b, exchange(*c.issuer.issue(id("sip:dave@c.mcx"), "client-1", kNow))),
                 "invalid_grant", "'mcx-idms:C' is not trusted here");
    // Trusted keys alone are not enough: the issuer must be a partner's IdMS.
    b.verifier.trust(c.issuer.issuer(), {c.key.public_pem, c.domain, {}});
    expect_error(at(b, exchange(*c.issuer.issue(id("sip:dave@c.mcx"), "client-1", kNow))),
                 "invalid_grant", "not the IdMS of a partner");
}

TEST_F(TokenExchange, PartnerMayVouchOnlyForItsOwnUsers) {
    for (const char* user : {"sip:carol@b.mcx", "sip:dave@c.mcx"}) {
        expect_error(at(b, exchange(*a.issuer.issue(id(user), "client-1", kNow))), "invalid_grant",
                     "may not vouch for users of");
    }
}

TEST_F(TokenExchange, SubjectTokenForAThirdSystemIsAnInvalidGrant) {
    auto for_c = *a.issuer.issue_for(alice, "client-1", "mcx:C", kNow);
    expect_error(at(b, exchange(for_c)), "invalid_grant", "'mcx:C'");
}

TEST_F(TokenExchange, ClientMustBeTheOneTheSubjectTokenWasIssuedTo) {
    expect_error(at(b, exchange(primary_token(), "client-2")), "invalid_grant",
                 "issued to client client-1, not client-2");
    expect_error(at(b, exchange(primary_token(""))), "invalid_grant", "names no client_id");
    // Form values echoed in a description are reduced to RFC 6749's character set.
    auto odd = at(b, exchange(primary_token(""), "x\"\\"));
    EXPECT_NE(odd.description().find("client_id=x??"), std::string::npos) << odd.description();
    // A client_id outside RFC 6749 A.1's (%x20-7E) is refused before anything else.
    expect_error(at(b, exchange(primary_token(), "x\xff\n")), "invalid_request", "%x20-7E");
}

TEST_F(TokenExchange, SystemNotAcceptingMigrantsRefusesThem) {
    b.enable(false);
    expect_error(at(b, exchange(primary_token())), "unauthorized_client",
                 "does not accept users of partner systems");
    // Its own users are still served.
    auto own = at(b, exchange(*b.issuer.issue(id("sip:carol@b.mcx"), "client-1", kNow)));
    EXPECT_EQ(own.status, 200) << own.body.dump();
}

TEST_F(TokenExchange, MissingOrUnsupportedParametersAreInvalidRequests) {
    const auto token = primary_token();
    auto without = [&](const char* name) {
        auto form = exchange(token);
        form.erase(name);
        return at(b, form);
    };
    expect_error(without("grant_type"), "invalid_request", "grant_type is missing");
    expect_error(without("subject_token"), "invalid_request", "subject_token is missing");
    expect_error(without("subject_token_type"), "invalid_request", "subject_token_type is missing");
    expect_error(without("client_id"), "invalid_request", "client_id is required");
    auto form = exchange(token);
    form["subject_token_type"] = "urn:ietf:params:oauth:token-type:saml2";
    expect_error(at(b, form), "invalid_request", "is not supported");
    form = exchange(token);
    form["actor_token"] = token;
    expect_error(at(b, form), "invalid_request", "actor_token is not supported");
    form = exchange(token);
    form["requested_token_type"] = "urn:ietf:params:oauth:token-type:id_token";
    expect_error(at(b, form), "invalid_request", "cannot be issued");
    form = exchange(token);
    form["audience"] = "mcx:C";
    expect_error(at(b, form), "invalid_target", "for mcx:B only");
}

TEST_F(TokenExchange, OwnUserBackHomeGetsAnOwnTokenThatRenewsNothing) {
    // alice, back at A from B, presents her A token at A.
    auto r = at(a, exchange(primary_token()), kNow + 3000);
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(r.body["mcptt_id"], "sip:alice@a.mcx");
    EXPECT_FALSE(r.body.contains("primary_mcptt_id"));
    EXPECT_EQ(r.body["expires_in"], 600) << "no later than the token presented";
    auto claims = a.verifier.verify(r.body["access_token"].get<std::string>(), kNow + 3000);
    ASSERT_TRUE(claims) << claims.error().reason;
    EXPECT_EQ(claims->subject, "sip:alice@a.mcx");
    EXPECT_FALSE(claims->primary_id);
    EXPECT_EQ(claims->expires_at, kNow + 3600);
    // A user removed since gets none.
    a.users.known.clear();
    expect_error(at(a, exchange(primary_token())), "invalid_grant", "no longer a user");
}

TEST_F(TokenExchange, ExchangedTokenIsNotExchangedAgain) {
    auto at_b = at(b, exchange(primary_token()));
    ASSERT_EQ(at_b.status, 200);
    const auto b_token = at_b.body["access_token"].get<std::string>();
    // Neither at B nor back at A (where B vouches for b.mcx, so the signature and subject pass).
    expect_error(at(b, exchange(b_token)), "invalid_grant",
                 "present the token of the primary system's IdMS for sip:alice@a.mcx");
    expect_error(at(a, exchange(b_token)), "invalid_grant", "a user migrated to B");
}

TEST_F(TokenExchange, GrantsAreServedOnlyWhenEnabled) {
    Users nobody;
    TokenEndpoint plain(nobody, a.issuer, "mcx:A");
    EXPECT_EQ(plain.grant_types(), std::vector<std::string>{"password"});
    auto r = plain.handle(exchange(primary_token()), kNow);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("unsupported_grant_type"), std::string::npos);
    EXPECT_EQ(b.endpoint.grant_types(),
              (std::vector<std::string>{"password", kGrantTokenExchange, kGrantJwtBearer}));
}

}  // namespace
}  // namespace mcx::idms
