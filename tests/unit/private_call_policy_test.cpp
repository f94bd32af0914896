#include "server/private_call_policy.hpp"

#include <gtest/gtest.h>

#include <map>

namespace mcx::server {
namespace {

McServiceId id(const char* uri) {
    return *McServiceId::parse(uri);
}

proto::UserProfile profile(const char* uri, bool may_call, bool any,
                           std::vector<McServiceId> targets, bool may_be_called) {
    proto::UserProfile p;
    p.user = id(uri);
    p.allow_private_call = may_call;
    p.allow_private_call_to_any_user = any;
    p.private_call_targets = std::move(targets);
    p.allow_private_call_participation = may_be_called;
    return p;
}

struct PolicyTest : ::testing::Test {
    std::map<std::string, proto::UserProfile> profiles;
    std::map<std::string, CallPartyState> state;
    PrivateCallPolicy policy{1,
                             [this](const McServiceId& u) -> std::optional<proto::UserProfile> {
                                 auto it = profiles.find(u.uri());
                                 if (it == profiles.end()) return std::nullopt;
                                 return it->second;
                             },
                             [this](const McServiceId& u) { return state[u.uri()]; }};

    void SetUp() override {
        for (const auto& p : {profile("sip:alice@a.mcx", true, false, {id("sip:bob@a.mcx")}, true),
                              profile("sip:bob@a.mcx", true, true, {}, true),
                              profile("sip:carol@a.mcx", false, false, {}, true),
                              profile("sip:dave@a.mcx", true, true, {}, false)}) {
            profiles[p.user.uri()] = p;
            state[p.user.uri()].registered = true;
        }
    }

    Rejection rejected(const char* caller, std::vector<std::string> callees) {
        auto d = policy.authorise({id(caller), std::move(callees)});
        EXPECT_TRUE(std::holds_alternative<Rejection>(d));
        return std::holds_alternative<Rejection>(d) ? std::get<Rejection>(d) : Rejection{};
    }
};

TEST_F(PolicyTest, AllowedCallNamesTheCallee) {
    auto d = policy.authorise({id("sip:alice@a.mcx"), {"sip:bob@a.mcx"}});
    ASSERT_TRUE(std::holds_alternative<McServiceId>(d));
    EXPECT_EQ(std::get<McServiceId>(d).uri(), "sip:bob@a.mcx");
}

TEST_F(PolicyTest, EachRefusalHasItsOwnStatusAndWarning) {
    using W = proto::McWarning;
    auto r = rejected("sip:alice@a.mcx", {});
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.warning, W::unable_to_determine_called_party);
    r = rejected("sip:alice@a.mcx", {"sip:bob@a.mcx", "sip:dave@a.mcx"});
    EXPECT_EQ(r.warning, W::unable_to_determine_called_party);
    r = rejected("sip:carol@a.mcx", {"sip:bob@a.mcx"});
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.warning, W::not_authorised_private_call);
    r = rejected("sip:bob@a.mcx", {"sip:zoe@a.mcx"});
    EXPECT_EQ(r.status, 404);
    r = rejected("sip:alice@a.mcx", {"sip:dave@a.mcx"});
    EXPECT_EQ(r.warning, W::not_authorised_to_call_this_user);
    r = rejected("sip:bob@a.mcx", {"sip:dave@a.mcx"});
    EXPECT_EQ(r.warning, W::not_authorised_to_be_called);
    state["sip:bob@a.mcx"].registered = false;
    r = rejected("sip:alice@a.mcx", {"sip:bob@a.mcx"});
    EXPECT_EQ(r.status, 480);
    EXPECT_EQ(r.warning, W::unable_to_determine_service_settings);
    state["sip:bob@a.mcx"] = {true, 1};
    r = rejected("sip:alice@a.mcx", {"sip:bob@a.mcx"});
    EXPECT_EQ(r.status, 486);
    EXPECT_EQ(r.warning, W::max_private_calls_reached);
}

}  // namespace
}  // namespace mcx::server
