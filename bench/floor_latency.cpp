// Floor control and speech latency of an MCPTT private call through a real mcxd (issue 3):
//   floor grant  = the client's Floor Request (user presses) -> its Floor Granted notice;
//   mouth-to-ear = the first sample of a 20 ms frame entering the sender's "microphone" ->
//                  that frame decoded at the receiver (capture + encode + RTP through mcxd +
//                  decode; no jitter buffer).
// Both clients run in this process (one clock); mcxd is a separate process. Talk bursts
// alternate between the two users. Results: stdout, bench-out/report.json, docs/BENCHMARKS.md.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "background_load.hpp"
#include "bench_report.hpp"
#include "client/mc_client.hpp"
#include "common/process.hpp"
#include "demo/demo.hpp"
#include "demo/event_queue.hpp"
#include "media/amr_wb.hpp"
#include "net/loop_thread.hpp"
#include "net/timer.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using mcx::client::ClientEvent;
using mcx::client::ClientEventType;

namespace {

using mcx::bench::merge_report;
using mcx::bench::percentile;

double now_ms() {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::vector<std::int16_t> synthetic_speech(std::size_t samples) {
    std::vector<std::int16_t> out(samples);
    for (std::size_t i = 0; i < samples; ++i) {
        const double t = static_cast<double>(i) / 16000.0;
        const double envelope = 0.5 + 0.5 * std::sin(2 * M_PI * 3 * t);
        out[i] = static_cast<std::int16_t>(
            6000 * envelope * (std::sin(2 * M_PI * 220 * t) + 0.5 * std::sin(2 * M_PI * 660 * t)));
    }
    return out;
}

// Drives the bursts on the event loop thread.
class Runner {
  public:
    Runner(std::array<mcx::client::McClient*, 2> clients, std::array<mcx::client::CallId, 2> calls,
           int bursts, int frames, std::promise<void> done)
        : clients_(clients),
          calls_(calls),
          bursts_(bursts),
          frames_(frames),
          done_(std::move(done)),
          speech_(synthetic_speech(16000 * 2)) {
        for (int i = 0; i < 2; ++i) {
            encoders_[i] =
                std::make_unique<mcx::media::AmrWbEncoder>(*mcx::media::AmrWbEncoder::create());
            decoders_[i] =
                std::make_unique<mcx::media::AmrWbDecoder>(*mcx::media::AmrWbDecoder::create());
        }
    }

    void start() { next_burst(); }

    void on_event(int who, const ClientEvent& e) {
        if (e.type == ClientEventType::floor_granted && who == talker_ && pressed_at_ > 0) {
            grant_ms.push_back(now_ms() - pressed_at_);
            pressed_at_ = 0;
            watchdog_.cancel();
            talk(0);
        } else if (e.type == ClientEventType::floor_idle && who == 1 - talker_ && releasing_) {
            releasing_ = false;
            ++burst_;
            next_burst();
        } else if (e.type == ClientEventType::floor_denied ||
                   e.type == ClientEventType::floor_request_timeout) {
            ++failures;
            pressed_at_ = 0;
            step_.start(100ms, [this] { next_burst(); });
        }
    }

    void on_rtp(int who, const mcx::net::RtpPacket& packet) {
        auto frame = mcx::media::from_rtp_payload(packet.payload);
        if (!frame) return;
        (void)decoders_[who]->decode(*frame);
        const double ear = now_ms();
        auto it = mouth_.find({1 - who, packet.timestamp});
        if (it == mouth_.end()) return;
        mouth_to_ear_ms.push_back(ear - it->second);
        mouth_.erase(it);
        if (++received_in_burst_ == frames_) release();
    }

    std::vector<double> grant_ms;
    std::vector<double> mouth_to_ear_ms;
    int failures = 0;

  private:
    void next_burst() {
        if (burst_ >= bursts_) {
            done_.set_value();
            return;
        }
        if (burst_ % 100 == 0) std::fprintf(stderr, "  burst %d/%d\n", burst_, bursts_);
        talker_ = burst_ % 2;
        received_in_burst_ = 0;
        pressed_at_ = now_ms();
        if (!clients_[talker_]->press(calls_[talker_])) {
            ++failures;
            ++burst_;
            step_.start(50ms, [this] { next_burst(); });
            return;
        }
        watchdog_.start(2s, [this] {
            ++failures;
            ++burst_;
            next_burst();
        });
    }

    // Frame k is "spoken" from t0 + 20k ms to t0 + 20(k+1) ms, then encoded and sent.
    void talk(int k) {
        if (k == 0) talk_start_ = now_ms();
        const double mouth = talk_start_ + 20.0 * k;
        const double due = mouth + 20.0;
        const double wait = std::max(0.0, due - now_ms());
        frame_timer_.start(
            std::chrono::milliseconds(static_cast<long>(std::lround(wait))), [this, k, mouth] {
                const auto offset = static_cast<std::size_t>((burst_ * frames_ + k) % 90) * 320;
                auto frame = encoders_[talker_]->encode(std::span(speech_).subspan(offset, 320));
                if (!frame) return;
                const auto payload = mcx::media::to_rtp_payload(*frame);
                auto timestamp = clients_[talker_]->send_payload(calls_[talker_], payload, k == 0);
                if (timestamp) mouth_[{talker_, *timestamp}] = mouth;
                if (k + 1 < frames_) talk(k + 1);
                // A lost frame must not stall the run.
                release_guard_.start(500ms, [this] { release(); });
            });
    }

    void release() {
        if (releasing_) return;
        release_guard_.cancel();
        releasing_ = true;
        (void)clients_[talker_]->release_floor(calls_[talker_]);
    }

    std::array<mcx::client::McClient*, 2> clients_;
    std::array<mcx::client::CallId, 2> calls_;
    int bursts_;
    int frames_;
    std::promise<void> done_;
    std::vector<std::int16_t> speech_;
    std::array<std::unique_ptr<mcx::media::AmrWbEncoder>, 2> encoders_;
    std::array<std::unique_ptr<mcx::media::AmrWbDecoder>, 2> decoders_;
    std::map<std::pair<int, std::uint32_t>, double> mouth_;
    int burst_ = 0;
    int talker_ = 0;
    int received_in_burst_ = 0;
    double pressed_at_ = 0;
    double talk_start_ = 0;
    bool releasing_ = false;
    mcx::net::Timer watchdog_, step_, frame_timer_, release_guard_;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Floor grant and mouth-to-ear latency of an MCPTT private call through mcxd"};
    int bursts = 1000;
    int frames = 3;
    std::string out_dir = "bench-out";
    std::string mcxd;
    mcx::bench::LoadArgs load_args;
    app.add_option("--bursts", bursts, "talk bursts (alternating talkers)")
        ->check(CLI::Range(2, 1000000));
    app.add_option("--frames", frames, "20 ms speech frames per burst")->check(CLI::Range(1, 500));
    app.add_option("--out", out_dir, "directory for report.json and logs");
    app.add_option("--mcxd", mcxd, "mcxd binary (default: next to this one)");
    mcx::bench::add_load_options(app, load_args, "then measure again while mcxd");
    CLI11_PARSE(app, argc, argv);
    spdlog::set_level(spdlog::level::warn);

    const fs::path dir = fs::path(out_dir) / "floor";
    // A fresh store: mcxd seeds users from the configuration on its first start only.
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir);
    std::ofstream(dir / "system.toml") << "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n"
                                          "[[users]]\nid = \"sip:alice@a.mcx\"\npassword = \"a\"\n"
                                          "[[users]]\nid = \"sip:bob@a.mcx\"\npassword = \"b\"\n"
                                       << load_args.users_toml("a.mcx");
    if (mcxd.empty()) mcxd = mcx::demo::find_mcxd();
    auto server = mcx::ChildProcess::spawn(
        {mcxd, "--config", (dir / "system.toml").string(), "--log-level", "warn"},
        (dir / "mcxd.log").string());
    if (!server) {
        std::cerr << server.error().reason << "\n";
        return 1;
    }
    auto ready = nlohmann::json::parse(server->read_line(120s).value_or(""), nullptr, false);
    if (ready.is_discarded()) {
        std::cerr << "mcxd did not start; see " << (dir / "mcxd.log") << "\n";
        return 1;
    }

    mcx::demo::EventQueue events;
    mcx::net::LoopThread loop;
    std::unique_ptr<Runner> runner;
    std::array<std::unique_ptr<mcx::client::McClient>, 2> clients;
    // On every return, early ones too: the clients (libre objects of the loop thread) end on
    // that thread before it stops.
    struct AtExit {
        std::function<void()> run;
        ~AtExit() { run(); }
    } end_clients{[&] {
        loop.call([&] {
            runner.reset();
            for (auto& c : clients) c.reset();
            return true;
        });
        loop.stop();
    }};
    const char* names[2] = {"alice", "bob"};
    for (int i = 0; i < 2; ++i) {
        mcx::client::ClientConfig config;
        config.user = *mcx::McServiceId::parse(std::string("sip:") + names[i] + "@a.mcx");
        config.password = i == 0 ? "a" : "b";
        config.home = "A";
        auto& home = config.ensure_home_system();
        home.domain = "a.mcx";
        home.sip_server = *mcx::client::parse_endpoint(ready["sip"].get<std::string>());
        home.idms_url = "http://" + ready["http"].get<std::string>();
        config.implicit_floor_request = false;
        clients[i] = loop.call([&, i, config] {
            auto c = std::make_unique<mcx::client::McClient>(loop.loop(), config,
                                                             [&, i](const ClientEvent& e) {
                                                                 if (runner) runner->on_event(i, e);
                                                                 events.push({names[i], e});
                                                             });
            c->set_media_observer([&, i](mcx::client::CallId, const mcx::net::RtpPacket& p) {
                if (runner) runner->on_rtp(i, p);
            });
            (void)c->open();
            return c;
        });
        auto* raw = clients[i].get();
        loop.call([raw] {
            raw->start();
            return true;
        });
        if (!events.wait_for(names[i], ClientEventType::registered, 5s)) {
            std::cerr << names[i] << " did not register\n";
            return 1;
        }
    }
    auto call = loop.call([&] {
        return clients[0]->call(*mcx::McServiceId::parse("sip:bob@a.mcx"),
                                mcx::client::CallOptions{});
    });
    auto bob_connected = events.wait_for("bob", ClientEventType::connected, 5s);
    if (!call || !events.wait_for("alice", ClientEventType::connected, 5s) || !bob_connected) {
        std::cerr << "the call did not connect\n";
        return 1;
    }
    std::fprintf(stderr, "floor bench: %d bursts of %d frames through mcxd at %s\n", bursts, frames,
                 ready["sip"].get<std::string>().c_str());
    // One series of bursts on the call; returns grant and mouth-to-ear times and failures.
    auto run_bursts = [&] {
        std::promise<void> done;
        auto finished = done.get_future();
        loop.call([&] {
            runner = std::make_unique<Runner>(std::array{clients[0].get(), clients[1].get()},
                                              std::array{*call, bob_connected->event.call}, bursts,
                                              frames, std::move(done));
            runner->start();
            return true;
        });
        finished.wait();
        return loop.call([&] {
            auto r = std::make_tuple(runner->grant_ms, runner->mouth_to_ear_ms, runner->failures);
            runner.reset();
            return r;
        });
    };
    const auto results = run_bursts();
    std::optional<decltype(run_bursts())> loaded;
    nlohmann::json load_result;
    int load_held = 0;
    if (load_args.calls > 0) {
        std::fprintf(stderr, "floor bench: placing %d other calls with RTP through mcxd\n",
                     load_args.calls);
        auto load = mcx::bench::BackgroundLoad::start(
            load_args.options(ready["sip"].get<std::string>(), ready["http"].get<std::string>(),
                              "a.mcx", dir.string()));
        if (!load) {
            std::cerr << "floor bench: " << load.error().reason << "\n";
            return 1;
        }
        load_held = load->calls();
        std::fprintf(stderr, "floor bench: %d calls (%d RTP streams) held; bursts again\n",
                     load->calls(), load->streams());
        loaded = run_bursts();
        load_result = load->stop();
    }
    end_clients.run();
    end_clients.run = [] {};
    server->stop();

    const auto& [grant, m2e, failures] = results;
    nlohmann::json metrics{{"floor_grant_p50_ms", percentile(grant, 50)},
                           {"floor_grant_p99_ms", percentile(grant, 99)},
                           {"mouth_to_ear_p50_ms", percentile(m2e, 50)},
                           {"mouth_to_ear_p99_ms", percentile(m2e, 99)}};
    std::printf("floor bench: %zu grants, %zu frames, %d failed bursts\n", grant.size(), m2e.size(),
                failures);
    std::printf("  %-28s %8s %8s   %s\n", "metric", "p50 ms", "p99 ms", "3GPP KPI (TS 22.179)");
    std::printf("  %-28s %8.3f %8.3f   KPI 1 access time 300 ms: ratio %.4f\n",
                "floor request -> granted", percentile(grant, 50), percentile(grant, 99),
                percentile(grant, 99) / 300.0);
    std::printf("  %-28s %8.3f %8.3f   KPI 3 mouth-to-ear 300 ms: ratio %.4f\n",
                "mouth-to-ear (no jitter buf)", percentile(m2e, 50), percentile(m2e, 99),
                percentile(m2e, 99) / 300.0);
    int failed_bursts = failures;
    if (loaded) {
        const auto& [lgrant, lm2e, lfailures] = *loaded;
        failed_bursts += lfailures;
        metrics["floor_grant_loaded_p50_ms"] = percentile(lgrant, 50);
        metrics["floor_grant_loaded_p99_ms"] = percentile(lgrant, 99);
        metrics["mouth_to_ear_loaded_p50_ms"] = percentile(lm2e, 50);
        metrics["mouth_to_ear_loaded_p99_ms"] = percentile(lm2e, 99);
        metrics["floor_load_args.calls"] = load_held;
        metrics["floor_load_rtp_loss_pct"] = load_result.value("loss_pct", -1.0);
        std::printf(
            "under load: %d other calls held through the same mcxd, RTP 50 packets/s each "
            "way (loss %.3f %%), %zu grants, %zu frames, %d failed bursts\n",
            load_held, load_result.value("loss_pct", -1.0), lgrant.size(), lm2e.size(), lfailures);
        std::printf("  %-28s %8.3f %8.3f   goal p99 <= 0.3 ms\n", "floor request -> granted",
                    percentile(lgrant, 50), percentile(lgrant, 99));
        std::printf("  %-28s %8.3f %8.3f   goal p99 <= 22 ms\n", "mouth-to-ear (no jitter buf)",
                    percentile(lm2e, 50), percentile(lm2e, 99));
    }
    // Raw values, for a look at the tail.
    std::ofstream csv(dir / "latencies.csv");
    csv << "load,metric,ms\n";
    auto dump = [&csv](const char* load, const char* metric, const std::vector<double>& values) {
        for (auto v : values) csv << load << "," << metric << "," << v << "\n";
    };
    dump("idle", "floor_grant", grant);
    dump("idle", "mouth_to_ear", m2e);
    if (loaded) {
        dump("loaded", "floor_grant", std::get<0>(*loaded));
        dump("loaded", "mouth_to_ear", std::get<1>(*loaded));
    }
    merge_report(fs::path(out_dir) / "report.json", metrics);
    return failed_bursts > bursts / 100 * (loaded ? 2 : 1) ? 1 : 0;
}
