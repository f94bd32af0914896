#pragma once
// Keeps a state machine's .dot diagram and its code in sync (STYLE.md "State machines"): the
// edges drawn in the diagram are compared with the edges the code has, found by calling a pure
// next-state function for every state x event or by driving the machine.

#include <gtest/gtest.h>

#include <algorithm>
#include <compare>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

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

// Driving a machine that has no pure next-state function: each input applies itself to a
// `Driven` (the machine and its running timers) and says what the machine did with it.
enum class Outcome {
    not_applicable,  // cannot happen here (e.g. the expiry of a timer that is not running)
    ignored,         // no effect, or counted as unexpected
    handled,         // effects, not counted as unexpected
};

template <class Driven>
struct Input {
    std::string event;
    std::function<Outcome(Driven&)> apply;
};

// A way into a state: a fresh machine from `make`, then the named inputs.
template <class Driven>
struct Recipe {
    std::string reaches;
    std::function<Driven()> make;
    std::vector<std::string> steps;
};

// The edges of a driven machine: from every recipe's state, every input on a fresh machine; an
// edge where the state changes or the input is handled. `state_name(driven)` names the state.
// Fails when a recipe does not reach its state or a state of `states` has no recipe.
template <class Driven, class StateName>
Edges driven_edges(const std::vector<std::string>& states,
                   const std::vector<Recipe<Driven>>& recipes,
                   const std::vector<Input<Driven>>& inputs, StateName state_name) {
    Edges edges;
    auto find = [&](const std::string& event) {
        return std::find_if(inputs.begin(), inputs.end(),
                            [&](const auto& i) { return i.event == event; });
    };
    for (const auto& state : states) {
        const bool covered = std::any_of(recipes.begin(), recipes.end(),
                                         [&](const auto& r) { return r.reaches == state; });
        if (!covered) ADD_FAILURE() << "no recipe reaches " << state;
    }
    for (const auto& recipe : recipes) {
        for (const auto& input : inputs) {
            auto driven = recipe.make();
            for (const auto& step : recipe.steps) {
                const auto it = find(step);
                if (it == inputs.end() || it->apply(driven) == Outcome::not_applicable) {
                    ADD_FAILURE() << "recipe for " << recipe.reaches << ": step " << step
                                  << " cannot be applied";
                    return edges;
                }
            }
            const std::string from = state_name(driven);
            if (from != recipe.reaches) {
                ADD_FAILURE() << "recipe for " << recipe.reaches << " reaches " << from;
                return edges;
            }
            const auto outcome = input.apply(driven);
            if (outcome == Outcome::not_applicable) continue;
            const std::string to = state_name(driven);
            if (to != from || outcome == Outcome::handled) edges.insert({from, to, input.event});
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
