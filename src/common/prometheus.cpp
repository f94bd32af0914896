#include "common/prometheus.hpp"

#include <charconv>
#include <cmath>
#include <set>

namespace mcx::prometheus {

namespace {

bool letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

bool valid_metric_name(std::string_view name) {
    if (name.empty() || !(letter(name[0]) || name[0] == ':')) return false;
    for (const char c : name) {
        if (!letter(c) && !digit(c) && c != ':') return false;
    }
    return true;
}

bool valid_label_name(std::string_view name) {
    if (name.empty() || !letter(name[0]) || name.starts_with("__")) return false;
    for (const char c : name) {
        if (!letter(c) && !digit(c)) return false;
    }
    return true;
}

std::string escape_help(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string format_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (value == std::trunc(value) && std::fabs(value) <= 9007199254740992.0) {
        return std::to_string(static_cast<std::int64_t>(value));
    }
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

Result<std::string> write_text(const std::vector<Family>& families) {
    std::string out;
    std::set<std::string_view> seen;
    for (const auto& family : families) {
        if (!valid_metric_name(family.name)) {
            return fail(Errc::invalid_argument, "metric name '" + family.name + "' is not valid");
        }
        if (family.type == Type::counter && !family.name.ends_with("_total")) {
            return fail(Errc::invalid_argument,
                        "counter '" + family.name + "' must be named ..._total");
        }
        if (!seen.insert(family.name).second) {
            return fail(Errc::invalid_argument, "metric '" + family.name + "' given twice");
        }
        out += "# HELP " + family.name + " " + escape_help(family.help) + "\n";
        out += "# TYPE " + family.name + " " +
               (family.type == Type::counter ? "counter" : "gauge") + "\n";
        for (const auto& sample : family.samples) {
            out += family.name;
            if (!sample.labels.empty()) {
                out += '{';
                for (std::size_t i = 0; i < sample.labels.size(); ++i) {
                    const auto& [label, value] = sample.labels[i];
                    if (!valid_label_name(label)) {
                        return fail(Errc::invalid_argument, "label name '" + label + "' of " +
                                                                family.name + " is not valid");
                    }
                    out += (i ? "," : "") + label + "=\"" + escape_label_value(value) + "\"";
                }
                out += '}';
            }
            out += " " + format_value(sample.value) + "\n";
        }
    }
    return out;
}

}  // namespace mcx::prometheus
