// The Prometheus text exposition format 0.0.4 of GET /metrics (issue 16 item 4): names checked,
// HELP and TYPE lines before each family, HELP text and label values escaped.
#include "common/prometheus.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace mcx::prometheus {
namespace {

TEST(Prometheus, FamiliesWithHelpTypeAndSamples) {
    const auto text = write_text({
        {"mcx_registrations", Type::gauge, "Registrations now.", {{{}, 2}}},
        {"mcx_logins_total",
         Type::counter,
         "Password grant attempts by result.",
         {{{{"result", "succeeded"}}, 3}, {{{"result", "failed"}}, 0}}},
        {"mcx_partners", Type::gauge, "None yet.", {}},
    });
    ASSERT_TRUE(text) << text.error().reason;
    EXPECT_EQ(*text,
              "# HELP mcx_registrations Registrations now.\n"
              "# TYPE mcx_registrations gauge\n"
              "mcx_registrations 2\n"
              "# HELP mcx_logins_total Password grant attempts by result.\n"
              "# TYPE mcx_logins_total counter\n"
              "mcx_logins_total{result=\"succeeded\"} 3\n"
              "mcx_logins_total{result=\"failed\"} 0\n"
              "# HELP mcx_partners None yet.\n"
              "# TYPE mcx_partners gauge\n");
}

TEST(Prometheus, HelpAndLabelValuesAreEscaped) {
    EXPECT_EQ(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
    EXPECT_EQ(escape_label_value("a\\b\nc \"q\""), "a\\\\b\\nc \\\"q\\\"");
    const auto text = write_text(
        {{"mcx_info", Type::gauge, "line one\nline \\two", {{{{"domain", "x\"}\n"}}, 1}}}});
    ASSERT_TRUE(text) << text.error().reason;
    EXPECT_EQ(*text,
              "# HELP mcx_info line one\\nline \\\\two\n"
              "# TYPE mcx_info gauge\n"
              "mcx_info{domain=\"x\\\"}\\n\"} 1\n");
}

TEST(Prometheus, NamesAreChecked) {
    EXPECT_TRUE(valid_metric_name("mcx_calls_active"));
    EXPECT_TRUE(valid_metric_name("mcx:rule_total"));
    EXPECT_TRUE(valid_metric_name("_x9"));
    EXPECT_FALSE(valid_metric_name(""));
    EXPECT_FALSE(valid_metric_name("9mcx"));
    EXPECT_FALSE(valid_metric_name("mcx-calls"));
    EXPECT_FALSE(valid_metric_name("mcx calls"));
    EXPECT_TRUE(valid_label_name("result"));
    EXPECT_FALSE(valid_label_name("__name__")) << "reserved for Prometheus";
    EXPECT_FALSE(valid_label_name("a:b"));
    EXPECT_FALSE(valid_label_name("1a"));

    for (const auto& [family, why] : std::initializer_list<std::pair<Family, const char*>>{
             {{"mcx-bad", Type::gauge, "", {}}, "metric name 'mcx-bad' is not valid"},
             {{"mcx_register_rejected", Type::counter, "", {}},
              "counter 'mcx_register_rejected' must be named ..._total"},
             {{"mcx_x", Type::gauge, "", {{{{"bad-label", "v"}}, 1}}},
              "label name 'bad-label' of mcx_x is not valid"}}) {
        const auto text = write_text({family});
        ASSERT_FALSE(text) << family.name;
        EXPECT_EQ(text.error().reason, why);
    }
    const auto twice = write_text({{"mcx_a", Type::gauge, "", {}}, {"mcx_a", Type::gauge, "", {}}});
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().reason, "metric 'mcx_a' given twice");
}

TEST(Prometheus, ValuesAsTheFormatSpellsThem) {
    EXPECT_EQ(format_value(0), "0");
    EXPECT_EQ(format_value(18446744073.0), "18446744073");
    EXPECT_EQ(format_value(-3), "-3");
    EXPECT_EQ(format_value(0.25), "0.25");
    EXPECT_EQ(format_value(1e300), "1e+300");
    EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
    EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
}

}  // namespace
}  // namespace mcx::prometheus
