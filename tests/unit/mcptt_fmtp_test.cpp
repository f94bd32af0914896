#include "proto/mcptt_fmtp.hpp"

#include <gtest/gtest.h>

namespace mcx::proto {
namespace {

TEST(McpttFmtp, ParsesAllParameters) {
    auto p = parse_floor_control_params("mc_queueing;mc_priority=5;mc_implicit_request");
    ASSERT_TRUE(p) << p.error().reason;
    EXPECT_TRUE(p->queueing);
    EXPECT_EQ(p->priority, 5);
    EXPECT_TRUE(p->implicit_request);
    EXPECT_FALSE(p->granted);
    auto empty = parse_floor_control_params("");
    ASSERT_TRUE(empty);
    EXPECT_EQ(*empty, FloorControlParams{});
    auto unknown = parse_floor_control_params("mc_something_new; mc_granted");
    ASSERT_TRUE(unknown);
    EXPECT_TRUE(unknown->granted);
}

TEST(McpttFmtp, RejectsBadPriority) {
    EXPECT_FALSE(parse_floor_control_params("mc_priority=0"));
    EXPECT_FALSE(parse_floor_control_params("mc_priority=256"));
    EXPECT_FALSE(parse_floor_control_params("mc_priority=high"));
    EXPECT_FALSE(parse_floor_control_params("mc_priority"));
}

TEST(McpttFmtp, FormatRoundTrips) {
    FloorControlParams p{true, 7, false, true};
    EXPECT_EQ(format_floor_control_params(p), "mc_queueing;mc_priority=7;mc_implicit_request");
    EXPECT_EQ(*parse_floor_control_params(format_floor_control_params(p)), p);
}

TEST(McpttFmtp, AnswerNegotiatesDown) {
    FloorControlParams offer{true, 9, false, true};
    auto answer = answer_floor_control(offer, true, 5);
    EXPECT_TRUE(answer.queueing);
    EXPECT_EQ(answer.priority, 5);
    EXPECT_FALSE(answer.implicit_request) << "never in an answer";
    EXPECT_FALSE(answer_floor_control(offer, false, 5).queueing);
    EXPECT_FALSE(answer_floor_control(FloorControlParams{}, true, 5).queueing);
}

}  // namespace
}  // namespace mcx::proto
