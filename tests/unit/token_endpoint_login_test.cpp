// The password grant's hardening (issue 16 item 5): the same work and the same answer for
// unknown users and wrong passwords, throttled attempts answered before any lookup or hash, and
// 503 when the hash pool is full. Hashes are counted through a recording hasher, never timed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "idms/keys.hpp"
#include "idms/password.hpp"
#include "idms/token.hpp"
#include "idms/token_endpoint.hpp"

namespace mcx::idms {
namespace {

using Json = nlohmann::json;
using Form = std::map<std::string, std::string>;
constexpr std::int64_t kNow = 1'800'000'000;
constexpr const char* kHere = "192.0.2.10";
constexpr const char* kThere = "192.0.2.20";

struct CountedCredentials : CredentialStore {
    std::map<std::string, std::string> hashes;
    mutable int lookups = 0;
    std::string password_hash(const McServiceId& user) const override {
        ++lookups;
        auto it = hashes.find(user.uri());
        return it == hashes.end() ? std::string{} : it->second;
    }
};

// Records the stored hash of every check; computes it (PBKDF2) unless told what to say.
struct RecordingHasher : PasswordHasher {
    std::vector<std::string> checked;
    bool busy = false;
    bool always_match = false;
    std::optional<bool> verify(const std::string& password, const std::string& stored) override {
        checked.push_back(stored);
        if (busy) return std::nullopt;
        if (always_match) return true;
        return verify_password(password, stored);
    }
};

// "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>" without the hash itself.
std::string parameters_of(const std::string& stored) {
    const auto last = stored.rfind('$');
    const auto salt_start = stored.rfind('$', last - 1) + 1;
    return stored.substr(0, salt_start) + std::to_string(last - salt_start) + "-hex-salt$" +
           std::to_string(stored.size() - last - 1) + "-hex-hash";
}

std::string header(const HttpReply& reply, const std::string& name) {
    for (const auto& [k, v] : reply.headers) {
        if (k == name) return v;
    }
    return {};
}

struct TokenEndpointLogin : ::testing::Test {
    SigningKey key = *SigningKey::generate();
    TokenIssuer issuer{key, "mcx-idms:A", "mcx:A", 3600};
    CountedCredentials credentials;
    RecordingHasher hasher;
    TokenEndpoint endpoint{credentials, issuer, "mcx:A"};

    void SetUp() override {
        credentials.hashes["sip:alice@a.mcx"] = hash_password("pw-a");
        credentials.hashes["sip:bob@a.mcx"] = hash_password("pw-b");
        credentials.hashes["sip:carol@a.mcx"] = "plain-text-by-mistake";
        protect({});
    }
    void protect(const LoginThrottleLimits& limits) { endpoint.protect_logins(limits, hasher); }
    HttpReply login(const std::string& user, const std::string& password,
                    const std::string& source = kHere, std::int64_t now = kNow) {
        return endpoint.handle(
            {{"grant_type", "password"}, {"username", user}, {"password", password}}, now, source);
    }
};

TEST_F(TokenEndpointLogin, UnknownUsersCostOneHashAgainstTheDummyAndGetTheSameAnswer) {
    const auto wrong = login("sip:alice@a.mcx", "guess");
    ASSERT_EQ(wrong.status, 400);
    ASSERT_EQ(hasher.checked.size(), 1u);
    EXPECT_EQ(hasher.checked[0], credentials.hashes["sip:alice@a.mcx"]);

    for (const char* unknown : {"sip:eve@a.mcx", "alice", "sip:carol@a.mcx"}) {
        hasher.checked.clear();
        const auto reply = login(unknown, "guess");
        EXPECT_EQ(reply.status, 400) << unknown;
        EXPECT_EQ(reply.body, wrong.body) << unknown << ": no user enumeration by the answer";
        EXPECT_EQ(reply.headers, wrong.headers) << unknown;
        ASSERT_EQ(hasher.checked.size(), 1u) << unknown << ": one hash, as for a known user";
        EXPECT_EQ(hasher.checked[0], endpoint.dummy_hash()) << unknown;
    }
    EXPECT_EQ(Json::parse(wrong.body)["error"], "invalid_grant");
    EXPECT_EQ(parameters_of(endpoint.dummy_hash()),
              parameters_of(credentials.hashes["sip:alice@a.mcx"]))
        << "the dummy costs what a stored hash costs: same scheme, iterations, salt length";
    EXPECT_NE(endpoint.dummy_hash(), credentials.hashes["sip:alice@a.mcx"]);
    EXPECT_EQ(login("sip:alice@a.mcx", "pw-a").status, 200);
}

// [idms] password_hash_iterations: the dummy costs what a stored hash made with it costs.
TEST_F(TokenEndpointLogin, TheDummyHashHasTheIterationsOfTheStoredHashes) {
    EXPECT_TRUE(endpoint.dummy_hash().starts_with("pbkdf2-sha256$20000$")) << endpoint.dummy_hash();
    const TokenEndpoint cheap{credentials, issuer, "mcx:A", {}, 1000};
    EXPECT_TRUE(cheap.dummy_hash().starts_with("pbkdf2-sha256$1000$")) << cheap.dummy_hash();
    EXPECT_TRUE(hash_password("pw", 1000).starts_with("pbkdf2-sha256$1000$"));
}

TEST_F(TokenEndpointLogin, AnUnknownUserIsRefusedEvenWhenTheDummyMatches) {
    hasher.always_match = true;
    const auto reply = login("sip:eve@a.mcx", "whatever");
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(Json::parse(reply.body)["error"], "invalid_grant");
    EXPECT_EQ(reply.body.find("access_token"), std::string::npos);
}

TEST_F(TokenEndpointLogin, HeldAttemptsAreAnsweredBeforeAnyLookupOrHash) {
    protect({.user_failures = 3});
    for (int i = 0; i < 3; ++i) ASSERT_EQ(login("sip:alice@a.mcx", "guess").status, 400);
    const auto lookups = credentials.lookups;
    const auto hashes = hasher.checked.size();

    for (const char* password : {"guess", "pw-a"}) {
        const auto reply = login("sip:alice@a.mcx", password);
        EXPECT_EQ(reply.status, 429) << "held, even with the right password";
        EXPECT_EQ(header(reply, "Retry-After"), "30");
        const auto body = Json::parse(reply.body);
        EXPECT_EQ(body["error"], "slow_down");
        EXPECT_NE(body["error_description"].get<std::string>().find("for this user"),
                  std::string::npos);
    }
    EXPECT_EQ(credentials.lookups, lookups) << "no store lookup for a held attempt";
    EXPECT_EQ(hasher.checked.size(), hashes) << "no hash for a held attempt";
    EXPECT_EQ(header(login("sip:alice@a.mcx", "pw-a", kHere, kNow + 10), "Retry-After"), "20");
    EXPECT_EQ(login("sip:bob@a.mcx", "pw-b").status, 200) << "another user logs in at once";
    EXPECT_EQ(login("sip:alice@a.mcx", "pw-a", kHere, kNow + 30).status, 200) << "after the hold";

    const auto counters = endpoint.login_counters();
    EXPECT_EQ(counters.failed, 3u);
    EXPECT_EQ(counters.held_user, 3u);
    EXPECT_EQ(counters.succeeded, 2u);
}

TEST_F(TokenEndpointLogin, UnknownUsersAreHeldAlike) {
    protect({.user_failures = 3});
    std::vector<HttpReply> known, unknown;
    for (int i = 0; i < 4; ++i) {
        known.push_back(login("sip:alice@a.mcx", "guess"));
        unknown.push_back(login("sip:nobody@a.mcx", "guess"));
    }
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(known[i].status, unknown[i].status) << i;
        EXPECT_EQ(known[i].body, unknown[i].body) << i << ": a hold says nothing about existence";
        EXPECT_EQ(known[i].headers, unknown[i].headers) << i;
    }
    EXPECT_EQ(unknown[3].status, 429);
}

TEST_F(TokenEndpointLogin, SpellingsOfOneUserShareItsCount) {
    protect({.user_failures = 3});
    for (const char* spelling : {"sip:alice@a.mcx", "sip:alice@A.MCX", "sip:alice@a.Mcx"}) {
        EXPECT_EQ(login(spelling, "guess").status, 400) << spelling;
    }
    EXPECT_EQ(login("sip:alice@a.mcx", "pw-a").status, 429);
}

TEST_F(TokenEndpointLogin, ASourceIsHeldAfterItsThresholdForEveryUser) {
    protect({.user_failures = 100, .source_failures = 4});
    for (const char* user : {"sip:u1@a.mcx", "sip:u2@a.mcx", "sip:u3@a.mcx", "sip:alice@a.mcx"}) {
        ASSERT_EQ(login(user, "guess").status, 400) << user;
    }
    const auto held = login("sip:bob@a.mcx", "pw-b");
    EXPECT_EQ(held.status, 429);
    EXPECT_NE(held.body.find("from this address"), std::string::npos) << held.body;
    EXPECT_EQ(login("sip:bob@a.mcx", "pw-b", kThere).status, 200) << "another address";
    EXPECT_EQ(endpoint.login_counters().held_source, 1u);
}

TEST_F(TokenEndpointLogin, SuccessStartsTheUsersCountAgain) {
    protect({.user_failures = 3});
    for (int round = 0; round < 3; ++round) {
        EXPECT_EQ(login("sip:alice@a.mcx", "guess").status, 400);
        EXPECT_EQ(login("sip:alice@a.mcx", "guess").status, 400);
        EXPECT_EQ(login("sip:alice@a.mcx", "pw-a").status, 200) << "round " << round;
    }
}

TEST_F(TokenEndpointLogin, AFullHashPoolAnswers503AndCountsNoFailure) {
    protect({.user_failures = 2});
    hasher.busy = true;
    for (int i = 0; i < 5; ++i) {
        const auto reply = login("sip:alice@a.mcx", "guess");
        EXPECT_EQ(reply.status, 503) << i << ": not 429, nothing was checked";
        EXPECT_EQ(header(reply, "Retry-After"), "1");
        EXPECT_EQ(Json::parse(reply.body)["error"], "temporarily_unavailable");
    }
    hasher.busy = false;
    EXPECT_EQ(login("sip:alice@a.mcx", "pw-a").status, 200);
    EXPECT_EQ(endpoint.login_counters().busy, 5u);
    EXPECT_EQ(endpoint.login_counters().failed, 0u);
}

TEST_F(TokenEndpointLogin, MissingFieldsAreNeitherHashedNorCounted) {
    protect({.user_failures = 1});
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(
            endpoint
                .handle({{"grant_type", "password"}, {"username", "sip:alice@a.mcx"}}, kNow, kHere)
                .status,
            400);
    }
    EXPECT_TRUE(hasher.checked.empty());
    EXPECT_EQ(login("sip:alice@a.mcx", "pw-a").status, 200);
}

// Found by http_handlers_fuzz: a client_id that is not printable ASCII made a correct login
// answer 500 "cannot build token" (libjwt refuses a claim that is not UTF-8; a NUL cut it
// short). RFC 6749 A.1 allows %x20-7E only: 400 invalid_request, before any hash.
TEST_F(TokenEndpointLogin, AClientIdOutsidePrintableAsciiIsAnInvalidRequest) {
    for (const std::string& client_id :
         {std::string("c\x96onsole"), std::string("c1\0evil", 7), std::string("tab\there")}) {
        const auto reply = endpoint.handle({{"grant_type", "password"},
                                            {"username", "sip:alice@a.mcx"},
                                            {"password", "pw-a"},
                                            {"client_id", client_id}},
                                           kNow, kHere);
        EXPECT_EQ(reply.status, 400) << reply.body;
        EXPECT_EQ(Json::parse(reply.body).value("error", ""), "invalid_request") << reply.body;
    }
    EXPECT_TRUE(hasher.checked.empty()) << "refused before the hash";
    const auto exchange = endpoint.handle(
        {{"grant_type", kGrantTokenExchange}, {"subject_token", "x"}, {"client_id", "\xff"}}, kNow,
        kHere);
    EXPECT_EQ(exchange.status, 400) << exchange.body;
    const auto fine = endpoint.handle({{"grant_type", "password"},
                                       {"username", "sip:alice@a.mcx"},
                                       {"password", "pw-a"},
                                       {"client_id", "MC client 1 ~!"}},
                                      kNow, kHere);
    EXPECT_EQ(fine.status, 200) << fine.body;
}

}  // namespace
}  // namespace mcx::idms
