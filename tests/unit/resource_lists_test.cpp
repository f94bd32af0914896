#include "proto/resource_lists.hpp"

#include <gtest/gtest.h>

namespace mcx::proto {
namespace {

TEST(ResourceLists, ParsesEntries) {
    const char* xml = R"(<?xml version="1.0"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list><entry uri="sip:bob@a.mcx"/><entry uri="sip:carol@a.mcx"/></list>
</resource-lists>)";
    auto uris = parse_resource_lists(xml);
    ASSERT_TRUE(uris) << uris.error().reason;
    EXPECT_EQ(*uris, (std::vector<std::string>{"sip:bob@a.mcx", "sip:carol@a.mcx"}));
}

TEST(ResourceLists, RoundTrip) {
    auto uris = parse_resource_lists(build_resource_lists({"sip:bob@a.mcx"}));
    ASSERT_TRUE(uris);
    EXPECT_EQ(*uris, std::vector<std::string>{"sip:bob@a.mcx"});
}

TEST(ResourceLists, RejectsMalformed) {
    EXPECT_FALSE(parse_resource_lists("<resource-lists/>"));  // no namespace
    EXPECT_FALSE(parse_resource_lists(
        R"(<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry/></list></resource-lists>)"));
    EXPECT_FALSE(parse_resource_lists("<<<"));
}

}  // namespace
}  // namespace mcx::proto
