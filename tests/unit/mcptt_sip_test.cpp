#include "proto/mcptt_sip.hpp"

#include <gtest/gtest.h>

namespace mcx::proto {
namespace {

// RFC 5373: a value, case-insensitive, optionally with parameters.
TEST(AnswerMode, ManualIsRecognisedWithParametersAndAnyCase) {
    for (const auto* manual : {"Manual", "manual", "MANUAL", " Manual ", "Manual;require",
                               "Manual ; require", "\tmanual;require"}) {
        EXPECT_TRUE(is_manual_answer_mode(manual)) << manual;
    }
    for (const auto* other :
         {"Auto", "Auto;require", "", "Manualx", "Manu", ";Manual", "x;Manual"}) {
        EXPECT_FALSE(is_manual_answer_mode(other)) << other;
    }
}

}  // namespace
}  // namespace mcx::proto
