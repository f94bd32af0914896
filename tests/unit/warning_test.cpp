#include "proto/warning.hpp"

#include <gtest/gtest.h>

namespace mcx::proto {
namespace {

TEST(Warning, FormatsPerTs24379) {
    EXPECT_EQ(format_warning("a.mcx", McWarning::not_authorised_private_call),
              "399 a.mcx \"107 user not authorised to make private calls\"");
}

TEST(Warning, ParsesCodeAndText) {
    auto w = parse_warning("399 a.mcx \"110 user declined the call invitation\"");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->warn_code, 399);
    EXPECT_EQ(w->mc_code, 110);
    EXPECT_EQ(w->text, "user declined the call invitation");
    auto plain = parse_warning("399 host \"no code here\"");
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->mc_code);
    EXPECT_FALSE(parse_warning("garbage"));
}

TEST(Warning, DetailCannotBreakTheQuotedString) {
    auto text = format_warning("h", McWarning::function_not_allowed, "bad \"quote\"");
    auto w = parse_warning(text);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->text.find('"'), std::string::npos);
}

}  // namespace
}  // namespace mcx::proto
