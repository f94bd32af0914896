// `mcx demo` on 127.0.0.1, as a newcomer runs it: three migrations with every call resumed,
// summary.json of the documented shape, a merged pcap tshark reads without a malformed frame,
// and a ladder that names every SIP request and response of the trace, in order.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "demo/ladder.hpp"
#include "harness.hpp"
#include "test_support.hpp"

namespace mcx::test {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The text of the ladder's SIP arrows, in order ("&lt;" etc. as written).
std::vector<std::string> ladder_sip_labels(const std::string& html) {
    std::vector<std::string> labels;
    const std::regex arrow(R"re(<text class="sip"[^>]*>([^<]*)</text>)re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), arrow);
         it != std::sregex_iterator(); ++it) {
        labels.push_back((*it)[1]);
    }
    return labels;
}

TEST(Demo, ThreeMigrationsTheirTraceAndLadder) {
    if (!have_tshark()) GTEST_SKIP() << "tshark not installed";
    const auto dir = test_output_dir() + "/demo-out";
    // A relative output directory, as `make demo` gives (the systems' paths must still hold).
    const auto relative = fs::relative(dir, fs::current_path()).string();
    auto demo = ChildProcess::spawn({mcx_binary(), "demo", "--out", relative},
                                    test_output_dir() + "/demo.stderr");
    ASSERT_TRUE(demo);
    std::string timeline;
    while (auto line = demo->read_line(60s)) timeline += *line + "\n";
    const auto status = demo->wait(10s);
    ASSERT_TRUE(status);
    EXPECT_EQ(*status, 0) << timeline;
    EXPECT_NE(timeline.find("done: 3 migrations, every call resumed"), std::string::npos)
        << timeline;

    // summary.json: {"migrations": [{user, from, to, trigger, order, result, assigned_id,
    // steps_ms, calls: [{peer, service, result, reason, interruption_ms}]}]}
    auto summary = Json::parse(read_file(fs::path(dir) / "summary.json"), nullptr, false);
    ASSERT_TRUE(summary.is_object());
    const auto& migrations = summary["migrations"];
    ASSERT_EQ(migrations.size(), 3u) << summary.dump(2);
    const char* expected[3][4] = {{"A", "B", "manual", "literal"},
                                  {"B", "C", "manual", "prepared"},
                                  {"C", "A", "automatic", "literal"}};
    const char* assigned[3] = {"sip:alice.a@b.mcx", "sip:alice.a@c.mcx", "sip:alice@a.mcx"};
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& m = migrations[i];
        EXPECT_EQ(m["user"], "sip:alice@a.mcx");
        EXPECT_EQ(m["from"], expected[i][0]);
        EXPECT_EQ(m["to"], expected[i][1]);
        EXPECT_EQ(m["trigger"], expected[i][2]);
        EXPECT_EQ(m["order"], expected[i][3]);
        EXPECT_EQ(m["result"], "ok");
        EXPECT_EQ(m["assigned_id"], assigned[i]);
        EXPECT_TRUE(m["steps_ms"].is_object() && m["steps_ms"].contains("resume")) << m.dump();
        ASSERT_EQ(m["calls"].size(), 2u) << m.dump();
        for (const auto& c : m["calls"]) {
            EXPECT_EQ(c["result"], "resumed") << c.dump();
            EXPECT_EQ(c["service"], "mcptt");
            EXPECT_TRUE(c["interruption_ms"].is_number()) << c.dump();
            EXPECT_TRUE(c.contains("reason"));
        }
    }

    // The merged pcap: SIP and floor control, nothing malformed.
    const auto pcap = dir + "/demo.pcap";
    const auto check = check_sip_pcap(pcap);
    EXPECT_GT(check.sip, 50) << pcap;
    EXPECT_GT(check.floor, 10) << pcap;
    EXPECT_EQ(check.malformed, 0) << pcap;

    // The ladder names every SIP request and response of the trace (keep-alive OPTIONS left
    // out), in the trace's order; a message two systems both recorded is one arrow.
    auto frames = demo::read_trace(pcap);
    ASSERT_TRUE(frames) << frames.error().reason;
    std::vector<std::pair<double, std::size_t>> seen;
    std::vector<std::string> from_trace;
    std::vector<double> trace_times;
    for (const auto& f : *frames) {
        if (f.sip_line.empty() || f.cseq_method == "OPTIONS") continue;
        const auto fp = demo::fingerprint_of(f);
        const bool twice = std::any_of(seen.begin(), seen.end(), [&](const auto& s) {
            return s.second == fp && f.time - s.first < 0.5;
        });
        seen.emplace_back(f.time, fp);
        if (twice) continue;
        auto label = *demo::label_of(f);
        for (auto [from, to] :
             {std::pair{"&", "&amp;"}, std::pair{"<", "&lt;"}, std::pair{">", "&gt;"}}) {
            for (auto at = label.find(from); at != std::string::npos;
                 at = label.find(from, at + std::string(to).size())) {
                label.replace(at, 1, to);
            }
        }
        from_trace.push_back(label);
        trace_times.push_back(f.time);
    }
    const auto ladder = ladder_sip_labels(read_file(fs::path(dir) / "ladder.html"));
    EXPECT_GT(from_trace.size(), 60u);
    // Messages two systems recorded in the same microsecond have no order: the ladder may draw
    // them either way (it reads each system's pcap, the trace is their merge).
    auto ladder_in_trace_order = ladder;
    for (std::size_t i = 0, j = 0; i < from_trace.size() && i < ladder.size(); i = j) {
        for (j = i + 1; j < from_trace.size() && trace_times[j] == trace_times[i]; ++j) {
        }
        if (j - i < 2 || j > ladder.size()) continue;
        std::vector<std::string> in_trace(from_trace.begin() + i, from_trace.begin() + j);
        std::vector<std::string> drawn(ladder.begin() + i, ladder.begin() + j);
        std::sort(in_trace.begin(), in_trace.end());
        std::sort(drawn.begin(), drawn.end());
        if (in_trace == drawn) {
            std::copy(from_trace.begin() + i, from_trace.begin() + j,
                      ladder_in_trace_order.begin() + i);
        }
    }
    EXPECT_EQ(ladder_in_trace_order, from_trace);
    if (ladder_in_trace_order != from_trace) {  // both lists in full, for the diff gtest truncates
        std::ofstream ladder_out(fs::path(dir) / "ladder-labels.txt");
        for (const auto& label : ladder) ladder_out << label << "\n";
        std::ofstream trace_out(fs::path(dir) / "trace-labels.txt");
        for (const auto& label : from_trace) trace_out << label << "\n";
        ADD_FAILURE() << "diff " << dir << "/ladder-labels.txt " << dir << "/trace-labels.txt";
    }
    const auto html = read_file(fs::path(dir) / "ladder.html");
    for (const auto* mark : {"migration A -&gt; B (manual, literal order)",
                             "migration B -&gt; C (manual, prepared order)",
                             "migration C -&gt; A (automatic, literal order)", "C lost"}) {
        EXPECT_NE(html.find(mark), std::string::npos) << "no mark " << mark;
    }
    EXPECT_TRUE(fs::exists(fs::path(dir) / "timeline.txt"));
}

}  // namespace
}  // namespace mcx::test
