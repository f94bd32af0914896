#include "common/ids.hpp"

#include <gtest/gtest.h>

namespace mcx {
namespace {

TEST(McServiceId, ParsesUserAndDomain) {
    auto id = McServiceId::parse("sip:alice@A.MCX");
    ASSERT_TRUE(id) << id.error().reason;
    EXPECT_EQ(id->uri(), "sip:alice@a.mcx");  // domain lower-cased (RFC 3261 19.1.4)
    EXPECT_EQ(id->user(), "alice");
    EXPECT_EQ(id->domain(), "a.mcx");
}

TEST(McServiceId, RejectsNonSipAndMissingParts) {
    for (const char* bad : {"", "alice@a.mcx", "tel:+123", "sip:@a.mcx", "sip:alice@", "sip:alice",
                            "sip:al ice@a.mcx", "sip:alice@a.mcx>"}) {
        EXPECT_FALSE(McServiceId::parse(bad)) << bad;
    }
}

}  // namespace
}  // namespace mcx
