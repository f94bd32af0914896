#pragma once
// Keeps a state machine's .dot diagram and its code in sync (STYLE.md "State machines"): the
// edges drawn in the diagram are compared with the edges the code has, found by calling a pure
// next-state function for every state x event.

#include <gtest/gtest.h>

#include <compare>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <string_view>

namespace mcx::test {

struct Edge {
    std::string from;
    std::string to;
    std::string event;
    auto operator<=>(const Edge&) const = default;
};
using Edges = std::set<Edge>;

// A state name as a bare dot identifier ("remote-alerting" -> remote_alerting).
inline std::string dot_id(std::string_view name) {
    std::string id(name);
    for (auto& c : id) {
        if (c == '-') c = '_';
    }
    return id;
}

// The edges of a diagram in the source tree: lines `A -> B [label="event"]` or
// `[label="event / action"]`, A and B bare identifiers or quoted. Only the event is compared;
// the action is for the reader. A line with "->" that is no such edge is a failure.
inline Edges read_dot(const std::string& relative_path) {
    Edges edges;
    std::ifstream dot(std::string(MCX_TEST_SOURCE_DIR) + "/" + relative_path);
    if (!dot) {
        ADD_FAILURE() << relative_path << " missing";
        return edges;
    }
    const std::regex edge(
        R"re(^\s*(?:"([^"]+)"|(\w+))\s*->\s*(?:"([^"]+)"|(\w+))\s*\[label="([^"]+)"\];\s*$)re");
    int number = 0;
    for (std::string line; std::getline(dot, line);) {
        ++number;
        const auto text = line.find_first_not_of(" \t");
        if (line.find("->") == std::string::npos || line.compare(text, 2, "//") == 0) continue;
        std::smatch m;
        if (!std::regex_match(line, m, edge)) {
            ADD_FAILURE() << relative_path << ":" << number << ": not an edge: " << line;
            continue;
        }
        std::string label = m[5];
        if (const auto slash = label.find(" / "); slash != std::string::npos) label.resize(slash);
        edges.insert({m[1].matched ? m[1] : m[2], m[3].matched ? m[3] : m[4], label});
    }
    return edges;
}

// The edges of a pure next-state function `next(state, event) -> optional<state>`.
template <class States, class Events, class Next, class StateName, class EventName>
Edges table_edges(const States& states, const Events& events, Next next, StateName state_name,
                  EventName event_name) {
    Edges edges;
    for (auto s : states) {
        for (auto e : events) {
            if (auto n = next(s, e)) edges.insert({state_name(s), state_name(*n), event_name(e)});
        }
    }
    return edges;
}

// Passes when the diagram draws exactly the coded edges; otherwise lists the differences as
// dot lines.
inline ::testing::AssertionResult dot_matches(const std::string& relative_path,
                                              const Edges& coded) {
    const auto drawn = read_dot(relative_path);
    std::string only_drawn;
    std::string only_coded;
    auto line = [](const Edge& e) {
        return "    \"" + e.from + "\" -> \"" + e.to + "\" [label=\"" + e.event + "\"];\n";
    };
    for (const auto& e : drawn) {
        if (!coded.count(e)) only_drawn += line(e);
    }
    for (const auto& e : coded) {
        if (!drawn.count(e)) only_coded += line(e);
    }
    if (only_drawn.empty() && only_coded.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << relative_path << " and the code differ.\nDrawn, not coded:\n"
           << only_drawn << "Coded, not drawn:\n"
           << only_coded;
}

}  // namespace mcx::test
