#include "proto/user_profile.hpp"

#include <gtest/gtest.h>

namespace mcx::proto {
namespace {

McServiceId id(const char* uri) {
    return *McServiceId::parse(uri);
}

UserProfile sample() {
    UserProfile p;
    p.user = id("sip:alice@a.mcx");
    p.index = 2;
    p.name = "alice in B";
    p.allow_private_call = true;
    p.allow_private_call_to_any_user = false;
    p.private_call_targets = {id("sip:bob@a.mcx"), id("sip:carol@b.mcx")};
    p.allow_private_call_participation = false;
    p.allow_manual_commencement = false;
    p.mcvideo_authorised = true;
    p.partners = {{"B", true, 2}, {"C", false, 0}};
    return p;
}

TEST(UserProfile, RoundTrip) {
    const auto xml = build_user_profile(sample());
    auto parsed = parse_user_profile(xml);
    ASSERT_TRUE(parsed) << parsed.error().reason << "\n" << xml;
    EXPECT_EQ(*parsed, sample());
}

TEST(UserProfile, ReadsTheTs24484LayoutWithAnyPrefix) {
    const char* xml = R"(<?xml version="1.0"?>
<up:mcptt-user-profile xmlns:up="urn:3gpp:mcptt:user-profile:1.0" user-profile-index="0">
  <up:Common index="1">
    <up:MCPTTUserID><up:uri-entry>sip:dave@a.mcx</up:uri-entry></up:MCPTTUserID>
    <up:PrivateCall><up:PrivateCallList>
      <up:PrivateCallURI><up:uri-entry>sip:erin@a.mcx</up:uri-entry></up:PrivateCallURI>
    </up:PrivateCallList></up:PrivateCall>
  </up:Common>
  <up:ruleset><up:rule id="r1"><up:conditions/><up:actions>
    <up:allow-private-call>true</up:allow-private-call>
  </up:actions></up:rule></up:ruleset>
</up:mcptt-user-profile>)";
    auto p = parse_user_profile(xml);
    ASSERT_TRUE(p) << p.error().reason;
    EXPECT_EQ(p->user, id("sip:dave@a.mcx"));
    EXPECT_TRUE(p->may_call(id("sip:erin@a.mcx")));
    EXPECT_FALSE(p->may_call(id("sip:frank@a.mcx")));
    EXPECT_TRUE(p->partners.empty());
}

TEST(UserProfile, ErrorsNameTheLine) {
    struct Case {
        std::string xml;
        std::string expected;
    };
    const std::string head = "<mcptt-user-profile xmlns=\"urn:3gpp:mcptt:user-profile:1.0\">\n";
    const Case cases[] = {
        {head +
             "<Common>\n<MCPTTUserID><uri-entry>sip:a@a.mcx</uri-entry></MCPTTUserID>\n</Comon>\n",
         "line 4"},
        {head + "<Common>\n<MCPTTUserID><uri-entry>bob</uri-entry></MCPTTUserID></Common>\n</"
                "mcptt-user-profile>",
         "line 3"},
        {head + "</mcptt-user-profile>", "MCPTTUserID"},
        {"<mcptt-user-profile/>", "namespace"},
        {head + "<Common><MCPTTUserID><uri-entry>sip:a@a.mcx</uri-entry></MCPTTUserID></Common>\n"
                "<ruleset><rule><actions>\n<allow-private-call>maybe</allow-private-call>\n"
                "</actions></rule></ruleset></mcptt-user-profile>",
         "line 4"},
    };
    for (const auto& c : cases) {
        auto p = parse_user_profile(c.xml);
        ASSERT_FALSE(p) << c.xml;
        EXPECT_NE(p.error().reason.find(c.expected), std::string::npos) << p.error().reason;
    }
}

}  // namespace
}  // namespace mcx::proto
