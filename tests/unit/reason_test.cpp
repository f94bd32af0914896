// The Reason header (RFC 3326) with our migration causes.
#include "proto/reason.hpp"

#include <gtest/gtest.h>

namespace mcx::proto {
namespace {

TEST(Reason, MigrationReasonOnTheWire) {
    // protocol "MCX", cause 1, text: the BYE of TS 23.280 10.16.3 step 1. [mcx-defined]
    EXPECT_EQ(format_reason(mcx_reason(McxReleaseCause::suspended_for_migration)),
              "MCX ;cause=1 ;text=\"suspended for migration\"");
}

TEST(Reason, ParsesWhatItWritesAndOthersForms) {
    auto r = parse_reason("MCX ;cause=1 ;text=\"suspended for migration\"");
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(mcx_release_cause(*r), McxReleaseCause::suspended_for_migration);
    auto q850 = parse_reason("Q.850;cause=16;text=\"Terminated\", SIP;cause=200");
    ASSERT_TRUE(q850);
    EXPECT_EQ(q850->protocol, "Q.850");
    EXPECT_EQ(q850->cause, 16);
    EXPECT_EQ(q850->text, "Terminated");
    EXPECT_FALSE(mcx_release_cause(*q850));
    auto quoted = parse_reason(R"(SIP ; cause = 480 ; text="a \"quoted\" word")");
    ASSERT_TRUE(quoted);
    EXPECT_EQ(quoted->cause, 480);
    EXPECT_EQ(quoted->text, "a \"quoted\" word");
}

TEST(Reason, UnknownMcxCauseIsNotOurs) {
    auto r = parse_reason("MCX;cause=99");
    ASSERT_TRUE(r);
    EXPECT_FALSE(mcx_release_cause(*r));
}

TEST(Reason, MalformedValuesAreRefusedWithAReason) {
    EXPECT_FALSE(parse_reason(""));
    EXPECT_FALSE(parse_reason(";cause=1"));
    EXPECT_FALSE(parse_reason("MCX;cause=one"));
    EXPECT_FALSE(parse_reason("MCX;text=\"unterminated"));
    EXPECT_FALSE(parse_reason("MCX cause=1"));
    EXPECT_FALSE(parse_reason(std::string(600, 'a')));
    EXPECT_FALSE(parse_reason("MCX;text=unquoted")) << "reason-text is a quoted-string";
    EXPECT_FALSE(parse_reason("MCX;cause=1;x=a\"b")) << "an unquoted value is a token";
}

TEST(Reason, FormatEscapesQuotesAndDropsControlCharacters) {
    EXPECT_EQ(format_reason(ReasonValue{"SIP", 200, "say \"hi\"\r\n"}),
              "SIP ;cause=200 ;text=\"say \\\"hi\\\"\"");
}

}  // namespace
}  // namespace mcx::proto
