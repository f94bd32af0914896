#include "proto/mcptt_fmtp.hpp"

#include <algorithm>
#include <charconv>

namespace mcx::proto {

Result<FloorControlParams> parse_floor_control_params(std::string_view fmtp) {
    FloorControlParams params;
    while (!fmtp.empty()) {
        const auto semi = fmtp.find(';');
        auto item = fmtp.substr(0, semi);
        fmtp = semi == std::string_view::npos ? std::string_view{} : fmtp.substr(semi + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item.empty()) continue;
        const auto eq = item.find('=');
        const auto name = item.substr(0, eq);
        if (name == "mc_queueing") {
            params.queueing = true;
        } else if (name == "mc_granted") {
            params.granted = true;
        } else if (name == "mc_implicit_request") {
            params.implicit_request = true;
        } else if (name == "mc_priority") {
            if (eq == std::string_view::npos)
                return fail(Errc::malformed, "mc_priority without value");
            const auto value = item.substr(eq + 1);
            unsigned priority = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), priority);
            if (ec != std::errc() || p != value.data() + value.size() || priority < 1 ||
                priority > 255) {
                return fail(Errc::malformed, "mc_priority must be 1..255");
            }
            params.priority = static_cast<std::uint8_t>(priority);
        }
    }
    return params;
}

std::string format_floor_control_params(const FloorControlParams& params) {
    std::string out;
    auto add = [&out](const std::string& item) {
        if (!out.empty()) out += ';';
        out += item;
    };
    if (params.queueing) add("mc_queueing");
    if (params.priority) add("mc_priority=" + std::to_string(*params.priority));
    if (params.granted) add("mc_granted");
    if (params.implicit_request) add("mc_implicit_request");
    return out;
}

FloorControlParams answer_floor_control(const FloorControlParams& offer, bool answerer_queueing,
                                        std::uint8_t answerer_max_priority) {
    FloorControlParams answer;
    answer.queueing = offer.queueing && answerer_queueing;
    if (answerer_max_priority > 0) {
        answer.priority = offer.priority ? std::min(*offer.priority, answerer_max_priority)
                                         : answerer_max_priority;
    }
    return answer;
}

}  // namespace mcx::proto
