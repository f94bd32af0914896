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

// Our call-continuity elements after <mcptt-Params> (F.1: xs:any ##other). [mcx-defined]
TEST(McpttInfo, McxCallElementsRoundTrip) {
    McpttInfo in;
    in.session_type = "private";
    in.mcx.call_ref = "urn:uuid:6f1c0c3e-0000-4000-8000-000000000001";
    in.mcx.primary_id = "sip:alice@a.mcx";
    in.mcx.resumes_previous_id = "sip:alice.a@b.mcx";
    const auto xml = build_mcptt_info(in);
    EXPECT_NE(xml.find(R"(xmlns:mcx="urn:mcx:params:xml:ns:mcptt-call")"), std::string::npos);
    EXPECT_NE(xml.find(R"(<mcx:resumes previous-id="sip:alice.a@b.mcx" />)"), std::string::npos)
        << xml;
    EXPECT_LT(xml.find("</mcptt-Params>"), xml.find("<mcx:call-ref>")) << "after mcptt-Params";
    auto out = parse_mcptt_info(xml);
    ASSERT_TRUE(out) << out.error().reason;
    EXPECT_EQ(*out, in);
}

TEST(McpttInfo, McxElementsOfAnotherPrefixAndForeignElements) {
    const char* xml = R"(<mcpttinfo xmlns="urn:3gpp:ns:mcpttInfo:1.0" xmlns:x="urn:other">)"
                      R"(<mcptt-Params/><x:call-ref>not ours</x:call-ref>)"
                      R"(<q:call-ref xmlns:q="urn:mcx:params:xml:ns:mcptt-call">r1</q:call-ref>)"
                      R"(</mcpttinfo>)";
    auto info = parse_mcptt_info(xml);
    ASSERT_TRUE(info) << info.error().reason;
    EXPECT_EQ(info->mcx.call_ref, "r1") << "only elements in our namespace count";
    EXPECT_FALSE(info->mcx.resumes_previous_id);
}

TEST(McpttInfo, RejectsMalformedMcxElements) {
    const std::string head =
        R"(<mcpttinfo xmlns="urn:3gpp:ns:mcpttInfo:1.0" xmlns:mcx="urn:mcx:params:xml:ns:mcptt-call">)";
    EXPECT_FALSE(parse_mcptt_info(head + "<mcx:resumes/></mcpttinfo>")) << "no previous-id";
    EXPECT_FALSE(parse_mcptt_info(head + "<mcx:call-ref></mcx:call-ref></mcpttinfo>"));
    EXPECT_FALSE(parse_mcptt_info(head + "<mcx:primary-id>" + std::string(300, 'a') +
                                  "</mcx:primary-id></mcpttinfo>"));
}

}  // namespace
}  // namespace mcx::proto
