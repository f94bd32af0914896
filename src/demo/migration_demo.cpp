// `mcx demo`: the seed shown. Three MC systems on 127.0.0.1 — A (alice's and bob's primary), B
// (carol's), C — and alice holding two private calls, with bob@A and carol@B, while she talks
// (AMR-WB). She migrates A -> B (manual, the seed's literal order), B -> C (manual, prepared
// order); then C, which serves her but neither peer, dies while she talks and she migrates
// automatically back to A. A timeline on stdout; in the output directory a merged pcap, a
// ladder diagram drawn from it, the timeline and summary.json.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/mc_client.hpp"
#include "common/process.hpp"
#include "demo/client_set.hpp"
#include "demo/cluster.hpp"
#include "demo/demo.hpp"
#include "demo/event_queue.hpp"
#include "demo/ladder.hpp"
#include "demo/voice_log.hpp"
#include "media/wav.hpp"
#include "net/loop_thread.hpp"

namespace mcx::demo {

namespace fs = std::filesystem;
using client::ClientEventType;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The timeline on stdout, kept for timeline.txt too.
class Timeline {
  public:
    explicit Timeline(Clock::time_point start) : start_(start) {}
    void say(const std::string& text) {
        char line[64];
        std::snprintf(line, sizeof(line), "%7.3f s  ", seconds(Clock::now()));
        std::lock_guard lock(mutex_);
        std::cout << line << text << std::endl;
        lines_ += line + text + "\n";
    }
    void detail(const std::string& text) {
        std::lock_guard lock(mutex_);
        std::cout << "           " << text << std::endl;
        lines_ += "           " + text + "\n";
    }
    double seconds(Clock::time_point t) const {
        return std::chrono::duration<double>(t - start_).count();
    }
    const std::string& text() const { return lines_; }

  private:
    Clock::time_point start_;
    std::mutex mutex_;
    std::string lines_;
};

// A phrase to speak: espeak-ng when installed, else a 2-second two-tone signal.
std::string make_speech(const std::string& dir) {
    const auto path = dir + "/phrase.wav";
    const auto espeak = find_program("espeak-ng");
    if (!espeak.empty()) {
        const auto cmd = espeak + " -w " + path +
                         " 'Unit seven on scene at the north gate. Two casualties, requesting "
                         "one more ambulance.' >/dev/null 2>&1";
        if (std::system(cmd.c_str()) == 0) return path;
    }
    std::vector<std::int16_t> pcm(16000 * 2);
    for (std::size_t i = 0; i < pcm.size(); ++i) {
        const double t = static_cast<double>(i) / 16000.0;
        pcm[i] = static_cast<std::int16_t>(6000 * std::sin(2 * M_PI * 440 * t) +
                                           4000 * std::sin(2 * M_PI * 660 * t));
    }
    (void)media::write_wav(path, pcm);
    return path;
}

}  // namespace

int run_migration_demo(const DemoOptions& options) {
    const auto started = Clock::now();
    Timeline timeline(started);
    const auto out = fs::path(options.out_dir);
    const auto work = out / "systems";
    std::error_code ec;
    fs::remove_all(work, ec);
    fs::create_directories(work);
    for (const auto* name : {"demo.pcap", "ladder.html", "timeline.txt", "summary.json"}) {
        fs::remove(out / name, ec);
    }
    ClusterOptions cluster_options;
    cluster_options.dir = work.string();
    cluster_options.mcxd = options.mcxd_path.empty() ? find_mcxd() : options.mcxd_path;
    auto cluster = Cluster::start(cluster_options);
    if (!cluster) {
        std::cerr << "demo: " << cluster.error().reason << "\n";
        return 1;
    }
    auto& systems = (*cluster)->systems();
    timeline.say("MC systems ready on 127.0.0.1: A (primary of alice and bob), B (carol's), C");
    for (const auto& s : systems) {
        timeline.detail(s.id + ": SIP " + s.sip.to_string() + ", users' SIP over TLS " +
                        s.sip_tls.to_string() + ", IdMS/CMS " + s.http_url() + ", interconnect " +
                        s.interconnect.to_string());
    }

    // 2. The clients, in this process.
    const auto speech = make_speech(work.string());
    EventQueue events;
    VoiceLog voice;
    net::LoopThread loop;
    ClientSet clients;
    struct Person {
        std::string name;
        std::string home;
    };
    for (const auto& person : {Person{"alice", "A"}, Person{"bob", "A"}, Person{"carol", "B"}}) {
        auto config = (*cluster)->client_config(person.name, person.home);
        if (person.name == "alice") config.speak_file = speech;
        const auto who = person.name;
        auto c = loop.call([&loop, config, who, &events, &voice] {
            auto client = std::make_unique<client::McClient>(
                loop.loop(), config, [who, &events](const client::ClientEvent& e) {
                    events.push({who, e});
                });
            client->set_media_observer([who, &voice](client::CallId, const net::RtpPacket& p) {
                if (p.payload.size() > 8) voice.add(who, Clock::now());  // speech, not NO_DATA
            });
            if (!client->open()) return std::unique_ptr<client::McClient>();
            client->start();
            return client;
        });
        if (!c) {
            std::cerr << "demo: cannot start the client of " << person.name << "\n";
            return 1;
        }
        clients[person.name] = std::move(c);
    }
    for (const auto* name : {"alice", "bob", "carol"}) {
        auto registered = events.wait_for(name, ClientEventType::registered, 5s);
        if (!registered) {
            std::cerr << "demo: " << name << " did not register\n";
            return 1;
        }
        timeline.say(std::string(name) + " signed in and registered in " +
                     registered->event.system + " as " + registered->event.mc_service_id);
    }
    if (!events.wait_for("alice", ClientEventType::profile, 5s)) {
        std::cerr << "demo: alice's profile was not retrieved\n";
        return 1;
    }
    timeline.say("alice's profile (CMS of A): she may migrate to B and C");
    auto* alice = clients["alice"].get();

    // 3. Two private calls; alice talks in both (implicit floor request, AMR-WB speech).
    int failures = 0;
    for (const auto& peer : {std::string("sip:bob@a.mcx"), std::string("sip:carol@b.mcx")}) {
        loop.call([&] { return alice->call(*McServiceId::parse(peer)).has_value(); });
    }
    for (const auto* who : {"bob", "carol"}) {
        if (!events.wait_for(who, ClientEventType::connected, 5s)) {
            std::cerr << "demo: the call to " << who << " did not connect\n";
            return 1;
        }
    }
    timeline.say(
        "alice holds two private calls: with bob@A (in A) and carol@B (across the "
        "interconnect); she talks (floor granted in both, AMR-WB)");

    nlohmann::json summary{{"migrations", nlohmann::json::array()}};
    std::vector<LadderMark> marks;
    auto wall = [](Clock::time_point t) {
        const auto now_wall = std::chrono::system_clock::now();
        return std::chrono::duration<double>(now_wall.time_since_epoch()).count() -
               std::chrono::duration<double>(Clock::now() - t).count();
    };

    // One migration: trigger it (or not: automatic), follow alice's events, measure each
    // call's interruption at the peer, print the timeline, add to the summary.
    auto migrate = [&](const std::string& from, const std::string& to, const std::string& trigger,
                       const std::string& order, const std::function<void()>& start) {
        const auto t0 = Clock::now();
        marks.push_back({wall(t0), "migration " + from + " -> " + to + " (" + trigger + ", " +
                                       order + " order)"});
        start();
        std::optional<TaggedEvent> done;
        const auto deadline = Clock::now() + 30s;
        while (!done && Clock::now() < deadline) {
            auto e = events.wait_for(
                [](const TaggedEvent& t) {
                    return t.who == "alice" && (t.event.type == ClientEventType::migration_step ||
                                                t.event.type == ClientEventType::migrated ||
                                                t.event.type == ClientEventType::migration_failed ||
                                                t.event.type == ClientEventType::serving_lost);
                },
                deadline - Clock::now() > 0s
                    ? std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
                    : 0ms);
            if (!e) break;
            const auto now = e->at;  // when alice's client said it
            if (e->event.type == ClientEventType::serving_lost) {
                timeline.say("alice's client: " + e->event.system + " lost (" + e->event.reason +
                             ")");
                marks.push_back({wall(now), e->event.system + " lost"});
            } else if (e->event.type == ClientEventType::migration_step) {
                marks.push_back({wall(now), "step done: " + e->event.step + " (" +
                                                std::to_string(e->event.duration_ms) + " ms)"});
            } else {
                done = e;
            }
        }
        nlohmann::json m{{"user", "sip:alice@a.mcx"},
                         {"from", from},
                         {"to", to},
                         {"trigger", trigger},
                         {"order", order}};
        if (!done || done->event.type != ClientEventType::migrated) {
            ++failures;
            m["result"] = "failed";
            m["reason"] = done ? done->event.reason : "no outcome within 30 s";
            timeline.say("migration " + from + " -> " + to +
                         " FAILED: " + m["reason"].get<std::string>());
            summary["migrations"].push_back(m);
            return;
        }
        const auto& ev = done->event;
        m["result"] = "ok";
        m["assigned_id"] = ev.mc_service_id;
        auto steps = nlohmann::json::object();
        std::string step_text;
        for (const auto& [name, ms] : ev.steps_ms) {
            steps[name] = ms;
            step_text += (step_text.empty() ? "" : " · ") + name + " " + std::to_string(ms) + " ms";
        }
        timeline.say("migrated " + from + " -> " + to + " (" + trigger + ", " + order +
                     " order) in " + std::to_string(ev.duration_ms) + " ms; alice is now " +
                     ev.mc_service_id);
        timeline.detail(step_text);
        auto calls = nlohmann::json::array();
        for (const auto& c : ev.calls) {
            nlohmann::json call{{"peer", c.peer},
                                {"service", client::to_string(c.service)},
                                {"result", c.resumed ? "resumed" : "failed"},
                                {"reason", c.reason}};
            const std::string who = c.peer.find("bob") != std::string::npos ? "bob" : "carol";
            // At the peer: the first voice frame after its call-resumed, and the gap before it
            // (back to the last frame before the release).
            std::optional<std::pair<Clock::time_point, double>> gap;
            auto resumed_at =
                c.resumed ? events.wait_for(who, ClientEventType::call_resumed, 5s) : std::nullopt;
            for (int i = 0; i < 150 && resumed_at && !gap; ++i) {
                gap = voice.resume_gap(who, resumed_at->at);
                if (!gap) std::this_thread::sleep_for(20ms);
            }
            if (gap) {
                call["interruption_ms"] = std::round(gap->second * 10) / 10;
                timeline.detail("call with " + c.peer + ": " + call["result"].get<std::string>() +
                                ", " + who + " hears alice again after " +
                                std::to_string(static_cast<long>(gap->second)) + " ms");
            } else {
                call["interruption_ms"] = nullptr;
                timeline.detail("call with " + c.peer + ": " + call["result"].get<std::string>() +
                                (c.reason.empty() ? "" : " (" + c.reason + ")"));
                if (c.resumed) ++failures;
            }
            if (!c.resumed) ++failures;
            calls.push_back(call);
        }
        m["steps_ms"] = steps;
        m["calls"] = calls;
        summary["migrations"].push_back(m);
    };
    auto talk_a_while = [&] {
        // alice speaks again after each resume (floor asked again); let it run.
        std::this_thread::sleep_for(1500ms);
    };

    std::this_thread::sleep_for(1000ms);
    migrate("A", "B", "manual", "literal", [&] {
        timeline.say(
            "alice: migrate B (the seed's literal order: release, then step 2, then "
            "re-initiate)");
        loop.call([&] { return alice->migrate("B").has_value(); });
    });
    talk_a_while();
    migrate("B", "C", "manual", "prepared", [&] {
        timeline.say("alice: migrate C --prepared (step 2 while the calls run)");
        loop.call(
            [&] { return alice->migrate("C", client::MigrationOrder::prepared).has_value(); });
    });
    talk_a_while();
    migrate("C", "A", "automatic", "literal", [&] {
        timeline.say("MC system C dies (SIGKILL) while alice talks; it serves neither peer");
        ::kill(systems[2].process.pid(), SIGKILL);
    });
    talk_a_while();

    // 4. Wind down: hang up, stop the clients and the systems, then build the trace outputs.
    stop_clients(loop, clients, 300ms);
    (*cluster)->stop();
    timeline.say("calls ended, MC systems stopped");

    const auto merged = (out / "demo.pcap").string();
    const auto mergecap = find_program("mergecap");
    // Each system's own trace: one end of each of its frames is that system.
    std::vector<std::pair<std::string, std::vector<TraceFrame>>> traces;
    if (mergecap.empty() || find_program("tshark").empty()) {
        timeline.say(
            "mergecap/tshark not found: no merged pcap or ladder (apt-get install tshark)");
        ++failures;
    } else {
        std::string cmd = mergecap + " -w " + merged;
        for (const auto& s : systems) cmd += " " + s.pcap;
        if (std::system((cmd + " 2>/dev/null").c_str()) != 0) {
            timeline.say("mergecap failed");
            ++failures;
        }
        for (const auto& s : systems) {
            auto read = read_trace(s.pcap);
            if (!read) {
                timeline.say("cannot read " + s.pcap + ": " + read.error().reason);
                ++failures;
                continue;
            }
            traces.emplace_back(s.id, std::move(*read));
        }
    }
    // Who owns which port: systems their SIP (UDP/TCP and TLS), leg and interconnect ports; clients
    // the port their REGISTERs came from; then every port an SDP names (m=) belongs to that
    // message's sender; a port still unknown in system X's trace is X's (relay or TLS connection).
    std::map<std::uint16_t, std::string> owner;
    for (const auto& s : systems) {
        for (const auto& e : {s.sip, s.sip_tls, s.legs, s.interconnect}) {
            if (e.port) owner[e.port] = s.id;
        }
    }
    for (const auto& [id, frames] : traces) {
        for (const auto& f : frames) {
            if (f.sip_line.rfind("REGISTER ", 0) != 0) continue;
            const std::string text(f.payload.begin(), f.payload.end());
            for (const auto* name : {"alice", "bob", "carol"}) {
                if (text.find("To: <sip:" + std::string(name)) != std::string::npos) {
                    owner[f.src.port] = name;
                }
            }
        }
    }
    auto known = [&](std::uint16_t port) -> std::optional<std::string> {
        auto it = owner.find(port);
        if (it == owner.end()) return std::nullopt;
        return it->second;
    };
    // In system X's trace an end nobody owns is X when the other end is someone else (X's
    // side of a TLS connection it opened, or of a relay port); else it is left unknown.
    auto ends = [&](const std::string& x,
                    const TraceFrame& f) -> std::optional<std::pair<std::string, std::string>> {
        auto a = known(f.src.port);
        auto b = known(f.dst.port);
        if (!a && b && *b != x) a = x;
        if (!b && a && *a != x) b = x;
        if (!a || !b) return std::nullopt;
        return std::pair{*a, *b};
    };
    // Every port an SDP names (m=) belongs to the sender of that message; a few passes, since
    // each learnt port may place more messages.
    for (int pass = 0; pass < 3; ++pass) {
        for (const auto& [id, frames] : traces) {
            for (const auto& f : frames) {
                if (f.sip_line.empty()) continue;
                const auto e = ends(id, f);
                if (!e) continue;
                const std::string text(f.payload.begin(), f.payload.end());
                for (std::size_t at = text.find("\nm="); at != std::string::npos;
                     at = text.find("\nm=", at + 1)) {
                    const auto space = text.find(' ', at);
                    if (space == std::string::npos) break;
                    const auto port =
                        static_cast<std::uint16_t>(std::atoi(text.c_str() + space + 1));
                    if (port && !owner.count(port)) owner[port] = e->first;
                }
            }
        }
    }
    std::vector<LadderMessage> messages;
    for (const auto& [id, frames] : traces) {
        for (const auto& f : frames) {
            auto label = label_of(f);
            auto e = ends(id, f);
            if (!label || !e || e->first == e->second) continue;
            messages.push_back(LadderMessage{f.time, e->first, e->second, *label,
                                             !f.sip_line.empty(), fingerprint_of(f)});
        }
    }
    // A message both ends' systems recorded is drawn at its first recording, as the merged
    // trace shows it, also when only a later recording names both ends (the TLS connection
    // port of the interconnect is known in the connecting system's trace only).
    std::vector<std::pair<double, std::size_t>> recorded;
    for (const auto& [id, frames] : traces) {
        for (const auto& f : frames) {
            if (label_of(f)) recorded.emplace_back(f.time, fingerprint_of(f));
        }
    }
    for (auto& m : messages) {
        for (const auto& [time, fingerprint] : recorded) {
            if (fingerprint == m.fingerprint && time < m.time && m.time - time < 0.5) {
                m.time = time;
            }
        }
    }
    messages = collapse_duplicates(std::move(messages));
    const std::vector<std::string> columns{"alice", "bob", "carol", "A", "B", "C"};
    std::ofstream(out / "ladder.html") << render_ladder_html(
        "MCX Core: migration during private calls (TS 23.280 10.16.3)", columns, messages, marks);
    summary["ladder"] = "ladder.html";
    summary["pcap"] = "demo.pcap";
    std::ofstream(out / "summary.json") << summary.dump(2) << "\n";
    timeline.say(std::string(failures ? "done with " + std::to_string(failures) + " failure(s)"
                                      : "done: 3 migrations, every call resumed") +
                 "; " + out.string() + "/: demo.pcap, ladder.html (" +
                 std::to_string(messages.size()) + " messages), timeline.txt, summary.json");
    std::ofstream(out / "timeline.txt") << timeline.text();
    return failures ? 1 : 0;
}

}  // namespace mcx::demo
