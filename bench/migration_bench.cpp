// Migration bench (issue 15): a user holding two private calls with speech in progress
// migrates again and again around A -> B -> C -> A (three real mcxd processes on 127.0.0.1),
// alternating the seed's literal order and our prepared order. The interruption of each call
// is taken on the voice stream at the peer: the last voice frame before the release to the
// first voice frame after the resume. Also the step durations, and private-call setup times
// over UDP, TCP and across two systems. Results: stdout, OUT/report.json (merged),
// OUT/migration/interruptions.csv and OUT/migration_interruption.svg.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "background_load.hpp"
#include "bench_report.hpp"
#include "client/mc_client.hpp"
#include "demo/client_set.hpp"
#include "demo/cluster.hpp"
#include "demo/demo.hpp"
#include "demo/event_queue.hpp"
#include "demo/voice_log.hpp"
#include "media/wav.hpp"
#include "net/loop_thread.hpp"

namespace {

using mcx::bench::merge_report;
using mcx::bench::percentile;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using mcx::client::ClientEventType;
using Clock = std::chrono::steady_clock;

double round2(double x) {
    return std::round(x * 100.0) / 100.0;
}

// A histogram of the interruptions (one bar series per order) as a self-contained SVG.
std::string histogram_svg(const std::vector<double>& literal, const std::vector<double>& prepared) {
    double top = 0;
    for (const auto* v : {&literal, &prepared}) {
        for (auto x : *v) top = std::max(top, x);
    }
    const double bin = top > 200 ? 20 : top > 60 ? 5 : 2;
    const auto bins = static_cast<std::size_t>(std::ceil((top + 1e-9) / bin)) + 1;
    auto count = [&](const std::vector<double>& v) {
        std::vector<int> c(bins, 0);
        for (auto x : v) ++c[std::min(bins - 1, static_cast<std::size_t>(x / bin))];
        return c;
    };
    const auto lc = count(literal);
    const auto pc = count(prepared);
    int most = 1;
    for (std::size_t i = 0; i < bins; ++i) most = std::max({most, lc[i], pc[i]});
    constexpr int kW = 760, kH = 360, kLeft = 50, kBottom = 40, kTop = 40;
    const double bw = static_cast<double>(kW - kLeft - 20) / static_cast<double>(bins);
    std::ostringstream s;
    s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW << "\" height=\"" << kH
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
      << "<text x=\"" << kW / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">"
      << "Migration interruption at the peer (ms): literal " << literal.size() << ", prepared "
      << prepared.size() << " calls</text>\n";
    const int plot_h = kH - kTop - kBottom;
    for (std::size_t i = 0; i < bins; ++i) {
        const double x = kLeft + static_cast<double>(i) * bw;
        const auto bar = [&](int n, double offset, const char* colour) {
            const double h = static_cast<double>(plot_h) * n / most;
            s << "<rect x=\"" << x + offset << "\" y=\"" << kTop + plot_h - h << "\" width=\""
              << bw / 2 - 1 << "\" height=\"" << h << "\" fill=\"" << colour << "\"/>\n";
        };
        bar(lc[i], 0, "#1f4e9e");
        bar(pc[i], bw / 2, "#2e7d32");
        if (i % std::max<std::size_t>(1, bins / 12) == 0) {
            s << "<text x=\"" << x << "\" y=\"" << kH - kBottom + 15 << "\">"
              << static_cast<int>(static_cast<double>(i) * bin) << "</text>\n";
        }
    }
    s << "<line x1=\"" << kLeft << "\" y1=\"" << kTop + plot_h << "\" x2=\"" << kW - 20
      << "\" y2=\"" << kTop + plot_h << "\" stroke=\"black\"/>\n"
      << "<text x=\"" << kLeft << "\" y=\"" << kTop - 5 << "\">calls (max " << most
      << " per bin of " << bin << " ms)</text>\n"
      << "<rect x=\"" << kW - 220 << "\" y=\"" << kTop << "\" width=\"10\" height=\"10\" "
      << "fill=\"#1f4e9e\"/><text x=\"" << kW - 205 << "\" y=\"" << kTop + 9
      << "\">literal order (the seed's)</text>\n"
      << "<rect x=\"" << kW - 220 << "\" y=\"" << kTop + 16 << "\" width=\"10\" height=\"10\" "
      << "fill=\"#2e7d32\"/><text x=\"" << kW - 205 << "\" y=\"" << kTop + 25
      << "\">prepared order</text>\n</svg>\n";
    return s.str();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "mcx_bench_migration: interruption of private calls when their user migrates between "
        "three MC systems (TS 23.280 10.16.3), and private-call setup times"};
    int migrations = 200;
    int setups = 200;
    std::string out_dir = "bench-out";
    std::string mcxd;
    mcx::bench::LoadArgs load_args;
    app.add_option("--migrations", migrations, "migrations to make (alternating the orders)")
        ->check(CLI::Range(2, 100000));
    app.add_option("--calls", setups, "private calls set up for each setup-time figure")
        ->check(CLI::Range(1, 100000));
    app.add_option("--out", out_dir, "directory for report.json and the raw results");
    app.add_option("--mcxd", mcxd, "mcxd binary (default: next to this program)");
    mcx::bench::add_load_options(app, load_args, "then migrate as many times again while system A");
    CLI11_PARSE(app, argc, argv);
    spdlog::set_level(spdlog::level::warn);
    if (mcxd.empty()) mcxd = mcx::demo::find_mcxd();
    const auto work = fs::path(out_dir) / "migration";
    std::error_code ec;
    fs::remove_all(work, ec);
    fs::create_directories(work);

    mcx::demo::ClusterOptions cluster_options;
    cluster_options.dir = work.string();
    cluster_options.mcxd = mcxd;
    cluster_options.pcap = false;
    cluster_options.log_level = "warn";
    // The interruption figures of docs/BENCHMARKS.md are over UDP, the SIPp load is UDP too.
    cluster_options.client_transport = mcx::net::Transport::udp;
    if (load_args.calls > 0) {
        cluster_options.extra_toml["A"] = load_args.users_toml("a.mcx");
        cluster_options.start_timeout = 120s;  // the load users' passwords are hashed at start
    }
    auto cluster = mcx::demo::Cluster::start(cluster_options);
    if (!cluster) {
        std::cerr << "bench: " << cluster.error().reason << "\n";
        return 1;
    }
    // A minute of a two-tone signal: the speech never ends during a migration.
    const auto speech = (work / "tone.wav").string();
    {
        std::vector<std::int16_t> pcm(16000 * 60);
        for (std::size_t i = 0; i < pcm.size(); ++i) {
            const double t = static_cast<double>(i) / 16000.0;
            pcm[i] = static_cast<std::int16_t>(6000 * std::sin(2 * M_PI * 440 * t) +
                                               4000 * std::sin(2 * M_PI * 660 * t));
        }
        if (!mcx::media::write_wav(speech, pcm)) {
            std::cerr << "bench: cannot write " << speech << "\n";
            return 1;
        }
    }

    mcx::demo::EventQueue events;
    mcx::demo::VoiceLog voice;
    mcx::net::LoopThread loop;
    mcx::demo::ClientSet clients;
    auto start_client = [&](const std::string& name, const std::string& home,
                            mcx::net::Transport transport, bool speaks) {
        auto config = (*cluster)->client_config(name, home);
        config.transport = transport;
        if (speaks) config.speak_file = speech;
        config.migration.keepalive_interval = std::chrono::milliseconds(0);
        auto c = loop.call([&loop, config, name, &events, &voice] {
            auto client = std::make_unique<mcx::client::McClient>(
                loop.loop(), config, [name, &events](const mcx::client::ClientEvent& e) {
                    events.push({name, e});
                });
            client->set_media_observer(
                [name, &voice](mcx::client::CallId, const mcx::net::RtpPacket& p) {
                    if (p.payload.size() > 8) voice.add(name, Clock::now());
                });
            if (!client->open()) return std::unique_ptr<mcx::client::McClient>();
            client->start();
            return client;
        });
        if (!c || !events.wait_for(name, ClientEventType::registered, 5s)) return false;
        clients[name] = std::move(c);
        return true;
    };
    if (!start_client("alice", "A", mcx::net::Transport::udp, true) ||
        !start_client("bob", "A", mcx::net::Transport::udp, false) ||
        !start_client("carol", "B", mcx::net::Transport::udp, false) ||
        !events.wait_for("alice", ClientEventType::profile, 5s)) {
        std::cerr << "bench: clients did not register\n";
        return 1;
    }
    auto* alice = clients["alice"].get();
    for (const auto* peer : {"sip:bob@a.mcx", "sip:carol@b.mcx"}) {
        loop.call([&] { return alice->call(*mcx::McServiceId::parse(peer)).has_value(); });
    }
    if (!events.wait_for("bob", ClientEventType::connected, 5s) ||
        !events.wait_for("carol", ClientEventType::connected, 5s)) {
        std::cerr << "bench: the calls did not connect\n";
        return 1;
    }
    std::this_thread::sleep_for(500ms);

    // 1. Migrations around A -> B -> C -> A, the order alternating; idle, then under load.
    struct MigrationSeries {
        std::map<std::string, std::vector<double>> interruption;  // by order
        std::map<std::string, std::vector<double>> steps;
        std::vector<double> durations;
        int failed = 0;
    };
    std::ofstream csv(work / "interruptions.csv");
    csv << "migration,load,from,to,order,peer,interruption_ms\n";
    auto run_migrations = [&](const std::string& load_label) {
        std::printf(
            "migration bench: %d migrations of alice with 2 private calls, speech in "
            "progress (%s)\n",
            migrations, load_label.c_str());
        MigrationSeries r;
        for (int i = 0; i < migrations; ++i) {
            // From where alice is (after a failure too) to the next system of the cycle.
            const std::string from = loop.call(
                [&] { return alice->serving() ? alice->serving()->id() : std::string("A"); });
            const std::string to = from == "A" ? "B" : from == "B" ? "C" : "A";
            const auto order = i % 2 == 0 ? mcx::client::MigrationOrder::literal
                                          : mcx::client::MigrationOrder::prepared;
            const std::string order_name = mcx::client::to_string(order);
            loop.call([&] { return alice->migrate(to, order).has_value(); });
            auto done = events.wait_for(
                [](const mcx::demo::TaggedEvent& e) {
                    return e.who == "alice" && (e.event.type == ClientEventType::migrated ||
                                                e.event.type == ClientEventType::migration_failed);
                },
                15s);
            bool ok = done && done->event.type == ClientEventType::migrated &&
                      done->event.calls.size() == 2;
            for (const auto& c :
                 ok ? done->event.calls : std::vector<mcx::client::MigratedCall>{}) {
                ok = ok && c.resumed;
            }
            if (ok) {
                r.durations.push_back(static_cast<double>(done->event.duration_ms));
                for (const auto& [name, ms] : done->event.steps_ms) {
                    r.steps[name].push_back(static_cast<double>(ms));
                }
                for (const auto* who : {"bob", "carol"}) {
                    auto resumed = events.wait_for(who, ClientEventType::call_resumed, 3s);
                    std::optional<std::pair<Clock::time_point, double>> gap;
                    for (int k = 0; k < 100 && resumed && !gap; ++k) {
                        gap = voice.resume_gap(who, resumed->at);
                        if (!gap) std::this_thread::sleep_for(10ms);
                    }
                    if (!gap) {
                        ok = false;
                        continue;
                    }
                    r.interruption[order_name].push_back(gap->second);
                    if (gap->second > 60) {
                        std::string steps_text;
                        for (const auto& [name, ms] : done->event.steps_ms) {
                            steps_text += " " + name + "=" + std::to_string(ms);
                        }
                        std::fprintf(stderr, "slow: migration %d %s -> %s (%s, %s) %s %.1f ms:%s\n",
                                     i, from.c_str(), to.c_str(), order_name.c_str(),
                                     load_label.c_str(), who, gap->second, steps_text.c_str());
                    }
                    csv << i << "," << load_label << "," << from << "," << to << "," << order_name
                        << "," << who << "," << round2(gap->second) << "\n";
                }
            }
            if (!ok) {
                ++r.failed;
                std::fprintf(stderr, "migration %d %s -> %s (%s, %s) failed%s\n", i, from.c_str(),
                             to.c_str(), order_name.c_str(), load_label.c_str(),
                             done ? (": " + done->event.reason).c_str() : ": no outcome");
            }
            if ((i + 1) % 50 == 0) std::printf("  %d/%d migrations\n", i + 1, migrations);
            std::this_thread::sleep_for(100ms);  // speech flows again before the next hop
        }
        return r;
    };
    const auto idle = run_migrations("idle");
    int failed = idle.failed;
    std::optional<MigrationSeries> loaded;
    nlohmann::json load_result;
    int load_held = 0;
    if (load_args.calls > 0) {
        auto& a = (*cluster)->system("A");
        std::fprintf(stderr, "migration bench: placing %d other calls with RTP through system A\n",
                     load_args.calls);
        auto load = mcx::bench::BackgroundLoad::start(load_args.options(
            a.sip.to_string(), "127.0.0.1:" + std::to_string(a.http_port), "a.mcx", work.string()));
        if (!load) {
            std::cerr << "bench: " << load.error().reason << "\n";
            return 1;
        }
        load_held = load->calls();
        loaded = run_migrations("loaded");
        failed += loaded->failed;
        load_result = load->stop();
    }
    auto interruption = idle.interruption;
    const auto& steps = idle.steps;
    const auto& durations = idle.durations;

    // 2. Private-call setup times: UDP in one system, TCP in one system, across two systems.
    mcx::demo::stop_clients(loop, clients, 300ms);
    events.clear();
    std::map<std::string, std::vector<double>> setup;
    auto measure = [&](const std::string& label, const std::string& caller, const std::string& home,
                       mcx::net::Transport transport, const std::string& callee,
                       const std::string& callee_home, const std::string& callee_uri) {
        if (!start_client(caller, home, transport, false) ||
            !start_client(callee, callee_home, transport, false)) {
            std::fprintf(stderr, "setup %s: clients did not register\n", label.c_str());
            return;
        }
        auto* c = clients[caller].get();
        for (int n = 0; n < setups; ++n) {
            const auto t0 = Clock::now();
            auto id = loop.call([&] { return c->call(*mcx::McServiceId::parse(callee_uri)); });
            auto connected = events.wait_for(caller, ClientEventType::connected, 5s);
            if (!id || !connected) {
                ++failed;
                continue;
            }
            setup[label].push_back(
                std::chrono::duration<double, std::milli>(connected->at - t0).count());
            loop.call([&] { return c->hangup(*id).has_value(); });
            events.wait_for(callee, ClientEventType::released, 2s);
            events.wait_for(callee, ClientEventType::connected, 0ms);
        }
        mcx::demo::stop_clients(loop, clients, 300ms, {caller, callee});
        events.clear();
    };
    measure("udp", "bob", "A", mcx::net::Transport::udp, "alice", "A", "sip:alice@a.mcx");
    measure("tcp", "bob", "A", mcx::net::Transport::tcp, "alice", "A", "sip:alice@a.mcx");
    measure("cross_system", "bob", "A", mcx::net::Transport::udp, "carol", "B", "sip:carol@b.mcx");
    (*cluster)->stop();

    nlohmann::json metrics{
        {"migration_count", migrations},
        {"migration_failed", failed},
        {"migration_interruption_p50_ms", round2(percentile(interruption["literal"], 50))},
        {"migration_interruption_p99_ms", round2(percentile(interruption["literal"], 99))},
        {"migration_prepared_interruption_p50_ms",
         round2(percentile(interruption["prepared"], 50))},
        {"migration_prepared_interruption_p99_ms",
         round2(percentile(interruption["prepared"], 99))},
        {"migration_duration_p50_ms", round2(percentile(durations, 50))},
        {"private_call_setup_udp_p99_ms", round2(percentile(setup["udp"], 99))},
        {"private_call_setup_tcp_p99_ms", round2(percentile(setup["tcp"], 99))},
        {"private_call_setup_cross_system_p99_ms", round2(percentile(setup["cross_system"], 99))},
        {"private_call_setup_udp_p50_ms", round2(percentile(setup["udp"], 50))},
        {"private_call_setup_tcp_p50_ms", round2(percentile(setup["tcp"], 50))},
        {"private_call_setup_cross_system_p50_ms", round2(percentile(setup["cross_system"], 50))}};
    for (const auto& [name, values] : steps) {
        metrics["migration_step_" + name + "_p50_ms"] = round2(percentile(values, 50));
    }
    if (loaded) {
        auto& li = loaded->interruption;
        metrics["migration_interruption_loaded_p50_ms"] = round2(percentile(li["literal"], 50));
        metrics["migration_interruption_loaded_p99_ms"] = round2(percentile(li["literal"], 99));
        metrics["migration_prepared_interruption_loaded_p50_ms"] =
            round2(percentile(li["prepared"], 50));
        metrics["migration_prepared_interruption_loaded_p99_ms"] =
            round2(percentile(li["prepared"], 99));
        metrics["migration_load_args.calls"] = load_held;
        metrics["migration_load_rtp_loss_pct"] = load_result.value("loss_pct", -1.0);
    }
    std::printf("\n%-44s %10s %10s\n", "", "p50 ms", "p99 ms");
    auto row = [](const char* what, const std::vector<double>& v) {
        std::printf("%-44s %10.2f %10.2f   (%zu)\n", what, percentile(v, 50), percentile(v, 99),
                    v.size());
    };
    row("interruption, literal order (seed)", interruption["literal"]);
    row("interruption, prepared order", interruption["prepared"]);
    row("migration, first release to last resume", durations);
    for (const auto& [name, values] : steps) row(("  step " + name).c_str(), values);
    if (loaded) {
        const auto title = "under load (" + std::to_string(load_held) + " calls in system A)";
        std::printf("%s\n", title.c_str());
        row("  interruption, literal order (seed)", loaded->interruption["literal"]);
        row("  interruption, prepared order", loaded->interruption["prepared"]);
        row("  migration, first release to last resume", loaded->durations);
        for (const auto& [name, values] : loaded->steps) row(("    step " + name).c_str(), values);
    }
    row("private call setup, UDP", setup["udp"]);
    row("private call setup, TCP", setup["tcp"]);
    row("private call setup, across two systems", setup["cross_system"]);
    std::printf("failed: %d\n", failed);

    fs::create_directories(out_dir);
    std::ofstream(fs::path(out_dir) / "migration_interruption.svg")
        << histogram_svg(interruption["literal"], interruption["prepared"]);
    merge_report(fs::path(out_dir) / "report.json", metrics);
    std::printf("metrics merged into %s/report.json; histogram %s/migration_interruption.svg\n",
                out_dir.c_str(), out_dir.c_str());
    return failed ? 1 : 0;
}
