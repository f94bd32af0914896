#include "proto/mcptt_info.hpp"

#include <gtest/gtest.h>

namespace mcx::proto {
namespace {

TEST(McpttInfo, ParsesContentTypeForm) {
    const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<mcpttinfo xmlns="urn:3gpp:ns:mcpttInfo:1.0">
  <mcptt-Params>
    <mcptt-access-token type="Normal"><mcpttString>tok</mcpttString></mcptt-access-token>
    <session-type>private</session-type>
    <mcptt-calling-user-id type="Normal"><mcpttURI>sip:alice@a.mcx</mcpttURI></mcptt-calling-user-id>
    <emergency-ind type="Normal"><mcpttBoolean>false</mcpttBoolean></emergency-ind>
    <mcptt-client-id type="Normal"><mcpttString>urn:uuid:1234</mcpttString></mcptt-client-id>
  </mcptt-Params>
</mcpttinfo>)";
    auto info = parse_mcptt_info(xml);
    ASSERT_TRUE(info) << info.error().reason;
    EXPECT_EQ(info->access_token, "tok");
    EXPECT_EQ(info->session_type, "private");
    EXPECT_EQ(info->calling_user_id, "sip:alice@a.mcx");
    EXPECT_EQ(info->emergency, false);
    EXPECT_EQ(info->client_id, "urn:uuid:1234");
    EXPECT_FALSE(info->called_party_id);
}

TEST(McpttInfo, ParsesFlatFormAndPrefixedNamespace) {
    const char* xml = R"(<m:mcpttinfo xmlns:m="urn:3gpp:ns:mcpttInfo:1.0"><m:mcptt-Params>)"
                      R"(<m:mcptt-called-party-id>sip:bob@a.mcx</m:mcptt-called-party-id>)"
                      R"(</m:mcptt-Params></m:mcpttinfo>)";
    auto info = parse_mcptt_info(xml);
    ASSERT_TRUE(info) << info.error().reason;
    EXPECT_EQ(info->called_party_id, "sip:bob@a.mcx");
}

TEST(McpttInfo, BuildParseRoundTrip) {
    McpttInfo in;
    in.session_type = "private";
    in.calling_user_id = "sip:alice@a.mcx";
    in.called_party_id = "sip:bob@a.mcx";
    in.emergency = true;
    in.client_id = "urn:uuid:00000000-0000-0000-0000-000000000001";
    in.access_token = "a.b.c";
    auto out = parse_mcptt_info(build_mcptt_info(in));
    ASSERT_TRUE(out) << out.error().reason;
    EXPECT_EQ(*out, in);
}

TEST(McpttInfo, BuildUsesSchemaOrderAndContentType) {
    McpttInfo in;
    in.session_type = "private";
    in.calling_user_id = "sip:alice@a.mcx";
    const auto xml = build_mcptt_info(in);
    EXPECT_NE(xml.find(R"(<mcpttinfo xmlns="urn:3gpp:ns:mcpttInfo:1.0">)"), std::string::npos);
    EXPECT_NE(xml.find(R"(<mcptt-calling-user-id type="Normal">)"), std::string::npos);
    EXPECT_LT(xml.find("session-type"), xml.find("mcptt-calling-user-id"));
}

TEST(McpttInfo, RejectsMalformed) {
    EXPECT_FALSE(parse_mcptt_info(""));
    EXPECT_FALSE(parse_mcptt_info("<mcpttinfo xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\">"));  // unclosed
    EXPECT_FALSE(parse_mcptt_info("<mcpttinfo/>"));  // no namespace
    EXPECT_FALSE(parse_mcptt_info("<other xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\"/>"));
    EXPECT_FALSE(
        parse_mcptt_info(R"(<mcpttinfo xmlns="urn:3gpp:ns:mcpttInfo:1.0"><mcptt-Params>)"
                         R"(<emergency-ind>perhaps</emergency-ind></mcptt-Params></mcpttinfo>)"));
    EXPECT_FALSE(parse_mcptt_info(std::string(40000, ' ')));  // over the size limit
}

}  // namespace
}  // namespace mcx::proto
