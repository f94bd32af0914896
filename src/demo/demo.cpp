#include "demo/demo.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/mc_client.hpp"
#include "common/process.hpp"
#include "demo/client_set.hpp"
#include "demo/event_queue.hpp"
#include "net/loop_thread.hpp"

namespace mcx::demo {

namespace fs = std::filesystem;
using client::ClientEventType;
using namespace std::chrono_literals;

namespace {

class Timeline {
  public:
    Timeline() : start_(std::chrono::steady_clock::now()) {}
    void say(const std::string& text) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start_)
                            .count();
        std::printf("%7.3f s  %s\n", static_cast<double>(ms) / 1000.0, text.c_str());
        std::fflush(stdout);
    }

  private:
    std::chrono::steady_clock::time_point start_;
};

const char* kSystemConfig = R"([system]
id = "A"
domain = "a.mcx"
host = "127.0.0.1"

[idms]
key_file = "a-idms-key.pem"

[[users]]
id = "sip:alice@a.mcx"
password = "alice-demo"
private_call_targets = ["sip:bob@a.mcx"]

[[users]]
id = "sip:bob@a.mcx"
password = "bob-demo"
private_call_targets = ["*"]
)";

std::optional<TaggedEvent> wait_call(EventQueue& events, const std::string& who,
                                     ClientEventType type, client::CallId call) {
    return events.wait_for(
        [&](const TaggedEvent& e) {
            return e.who == who && e.event.type == type && e.event.call == call;
        },
        5s);
}

}  // namespace

std::string find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const auto end = dirs.find(':', start);
        const auto dir = dirs.substr(start, end == std::string::npos ? end : end - start);
        const auto candidate = fs::path(dir) / name;
        if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return {};
}

std::string find_mcxd() {
    std::error_code ec;
    const auto self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        // Installed side by side; apps/mcx/ and bench/ of the build tree.
        for (const auto& candidate :
             {self.parent_path() / "mcxd", self.parent_path().parent_path() / "mcxd" / "mcxd",
              self.parent_path().parent_path() / "apps" / "mcxd" / "mcxd"}) {
            if (fs::exists(candidate)) return candidate.string();
        }
    }
    return "mcxd";
}

int run_demo(const DemoOptions& options) {
    return options.basic ? run_basic_demo(options) : run_migration_demo(options);
}

int run_basic_demo(const DemoOptions& options) {
    Timeline timeline;
    fs::create_directories(options.out_dir);
    const auto config_path = fs::path(options.out_dir) / "system-a.toml";
    std::ofstream(config_path) << kSystemConfig;
    const auto mcxd = options.mcxd_path.empty() ? find_mcxd() : options.mcxd_path;
    const auto pcap = (fs::path(options.out_dir) / "system-a.pcap").string();
    const auto log = (fs::path(options.out_dir) / "system-a.log").string();
    fs::remove(log);

    timeline.say("starting MC system A: " + mcxd + " --config " + config_path.string());
    auto server =
        ChildProcess::spawn({mcxd, "--config", config_path.string(), "--pcap", pcap}, log);
    if (!server) {
        std::cerr << "demo: " << server.error().reason << "\n";
        return 1;
    }
    auto ready_line = server->read_line(10s);
    auto ready = nlohmann::json::parse(ready_line.value_or(""), nullptr, false);
    if (ready.is_discarded() || ready.value("event", "") != "ready") {
        std::cerr << "demo: mcxd did not start; see " << log << "\n";
        return 1;
    }
    const auto sip = ready["sip"].get<std::string>();
    const auto http = "http://" + ready["http"].get<std::string>();
    timeline.say("MC system A ready: SIP " + sip + ", IdMS " + http);

    EventQueue events;
    net::LoopThread loop;
    ClientSet clients;
    for (const auto& [name, password] :
         {std::pair{"alice", "alice-demo"}, std::pair{"bob", "bob-demo"}}) {
        client::ClientConfig config;
        config.user = *McServiceId::parse(std::string("sip:") + name + "@a.mcx");
        config.password = password;
        config.home = "A";
        auto& home = config.ensure_home_system();
        home.domain = "a.mcx";
        home.sip_server = *client::parse_endpoint(sip);
        home.idms_url = http;
        std::string who = name;
        auto c = loop.call([&loop, config, who, &events] {
            auto client = std::make_unique<client::McClient>(
                loop.loop(), config, [who, &events](const client::ClientEvent& e) {
                    events.push({who, e});
                });
            auto opened = client->open();
            return opened ? std::move(client) : nullptr;
        });
        if (!c) {
            std::cerr << "demo: cannot open client " << name << "\n";
            return 1;
        }
        auto* raw = c.get();
        loop.call([raw] {
            raw->start();
            return true;
        });
        if (!events.wait_for(name, ClientEventType::signed_in, 5s)) {
            std::cerr << "demo: " << name << " could not log in at the IdMS\n";
            return 1;
        }
        timeline.say(std::string(name) + " logged in at the IdMS (OAuth 2.0 password grant)");
        if (!events.wait_for(name, ClientEventType::registered, 5s)) {
            std::cerr << "demo: " << name << " did not register\n";
            return 1;
        }
        timeline.say(std::string(name) +
                     " registered with service authorisation (token in mcptt-info)");
        clients[name] = std::move(c);
    }
    auto* alice = clients["alice"].get();
    auto* bob = clients["bob"].get();
    const auto bob_id = bob->config().user;
    int failures = 0;
    nlohmann::json summary{{"calls", nlohmann::json::array()}};

    // 1. Automatic commencement with floor control and media through the server.
    timeline.say("alice calls bob (automatic commencement, implicit floor request)");
    auto call = loop.call([&] {
        return alice->call(bob_id, client::CallOptions{client::Commencement::automatic, true});
    });
    const auto connected = events.wait_for("alice", ClientEventType::connected, 5s);
    const auto bob_connected = events.wait_for("bob", ClientEventType::connected, 5s);
    const auto granted = events.wait_for("alice", ClientEventType::floor_granted, 5s);
    const auto taken = events.wait_for("bob", ClientEventType::floor_taken, 5s);
    if (!call || !connected || !bob_connected || !granted || !taken) {
        timeline.say("FAILED: the call did not connect with floor control");
        ++failures;
    } else {
        const auto bob_call = bob_connected->event.call;
        timeline.say("connected; alice has the floor (Floor Granted), bob sees Floor Taken by " +
                     taken->event.talker);
        auto rtp_counts = [&] {
            auto a = loop.call([&] { return alice->calls(); });
            auto b = loop.call([&] { return bob->calls(); });
            return std::pair{a.empty() ? 0 : a[0].rtp_received, b.empty() ? 0 : b[0].rtp_received};
        };
        loop.call([&] { return alice->send_rtp(*call, 50).has_value(); });
        std::this_thread::sleep_for(1200ms);
        const auto after_alice = rtp_counts();
        timeline.say("alice talks: bob received " + std::to_string(after_alice.second) +
                     "/50 RTP packets through the MC server");
        loop.call([&] { return alice->release_floor(*call).has_value(); });
        const auto idle = events.wait_for("bob", ClientEventType::floor_idle, 5s);
        loop.call([&] { return bob->press(bob_call).has_value(); });
        const auto bob_granted = events.wait_for("bob", ClientEventType::floor_granted, 5s);
        timeline.say(idle && bob_granted
                         ? "alice released (Floor Idle); bob pressed and was granted"
                         : "FAILED: the floor did not pass to bob");
        if (!idle || !bob_granted) ++failures;
        loop.call([&] { return bob->send_rtp(bob_call, 50).has_value(); });
        std::this_thread::sleep_for(1200ms);
        const auto after_bob = rtp_counts();
        timeline.say("bob talks: alice received " + std::to_string(after_bob.first) + "/50");
        if (after_alice.second < 45 || after_bob.first < 45) ++failures;
        loop.call([&] { return alice->hangup(*call).has_value(); });
        auto released = events.wait_for("bob", ClientEventType::released, 5s);
        timeline.say(released ? "alice hung up; bob released (" + released->event.reason + ")"
                              : "FAILED: bob was not released");
        if (!released) ++failures;
        summary["calls"].push_back(
            {{"mode", "automatic"},
             {"result", "connected"},
             {"floor", "alice then bob"},
             {"rtp_received", {{"alice", after_bob.first}, {"bob", after_alice.second}}}});
    }

    // 2. Manual commencement: bob rejects, then accepts.
    for (const bool accept : {false, true}) {
        timeline.say(std::string("alice calls bob (manual commencement); bob will ") +
                     (accept ? "accept" : "reject"));
        auto id = loop.call([&] {
            return alice->call(bob_id, client::CallOptions{client::Commencement::manual, true});
        });
        auto incoming = events.wait_for("bob", ClientEventType::incoming, 5s);
        auto ringing =
            id ? wait_call(events, "alice", ClientEventType::ringing, *id) : std::nullopt;
        if (!id || !incoming || !ringing) {
            timeline.say("FAILED: no ringing");
            ++failures;
            continue;
        }
        timeline.say("bob's client rings; alice hears ringing (180)");
        const auto bob_call = incoming->event.call;
        if (!accept) {
            loop.call([&] { return bob->reject(bob_call).has_value(); });
            auto released = wait_call(events, "alice", ClientEventType::released, *id);
            timeline.say(released ? "bob rejected; alice is told: " + released->event.reason
                                  : "FAILED: alice not told");
            if (!released || released->event.warning != 110) ++failures;
            summary["calls"].push_back({{"mode", "manual"},
                                        {"result", "rejected"},
                                        {"reason", released ? released->event.reason : ""}});
        } else {
            loop.call([&] { return bob->accept(bob_call).has_value(); });
            auto ok = wait_call(events, "alice", ClientEventType::connected, *id);
            timeline.say(ok ? "bob accepted; connected" : "FAILED: not connected");
            if (!ok) ++failures;
            loop.call([&] { return bob->hangup(bob_call).has_value(); });
            auto released = wait_call(events, "alice", ClientEventType::released, *id);
            timeline.say(released ? "bob hung up; alice released" : "FAILED: alice not released");
            if (!released) ++failures;
            summary["calls"].push_back(
                {{"mode", "manual"}, {"result", ok ? "connected" : "failed"}});
        }
    }

    stop_clients(loop, clients, 200ms);
    loop.stop();
    server->stop();
    summary["failures"] = failures;
    std::ofstream(fs::path(options.out_dir) / "summary.json") << summary.dump(2) << "\n";
    timeline.say("MC system A stopped");
    std::printf(
        "\nOutput in %s/: system-a.pcap (open with Wireshark, or: tshark -r %s -Y sip),\n"
        "system-a.log (server log), summary.json.\n%s\n",
        options.out_dir.c_str(), pcap.c_str(),
        failures == 0 ? "Demo finished: every step worked." : "Demo finished with failures.");
    return failures == 0 ? 0 : 1;
}

}  // namespace mcx::demo
