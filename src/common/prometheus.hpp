#pragma once
// The Prometheus text exposition format, version 0.0.4 (GET /metrics): "# HELP" and "# TYPE"
// before each metric family, then one line per sample, `name{label="value",...} value`. Names
// are checked ([a-zA-Z_:][a-zA-Z0-9_:]*, labels [a-zA-Z_][a-zA-Z0-9_]* and not "__..."), a
// counter's name must end in _total (the convention that OpenMetrics makes a rule), each
// family appears once; HELP text and label values are escaped as the format says.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace mcx::prometheus {

inline constexpr const char* kContentType = "text/plain; version=0.0.4";

enum class Type { counter, gauge };

struct Sample {
    std::vector<std::pair<std::string, std::string>> labels;  // in this order
    double value = 0;
};

struct Family {
    std::string name;  // e.g. "mcx_register_rejected_total"
    Type type = Type::gauge;
    std::string help;
    std::vector<Sample> samples;  // none: only the HELP and TYPE lines
};

bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
// HELP text: '\' → "\\", newline → "\n".
std::string escape_help(std::string_view text);
// Label values: '\' → "\\", '"' → "\"", newline → "\n".
std::string escape_label_value(std::string_view value);
// Integers as integers (up to 2^53), else the shortest text that reads back the same double;
// NaN, +Inf, -Inf as the format spells them.
std::string format_value(double value);

// The exposition of every family, in the order given; an error names the first bad name,
// a counter without _total, or a family given twice.
Result<std::string> write_text(const std::vector<Family>& families);

}  // namespace mcx::prometheus
