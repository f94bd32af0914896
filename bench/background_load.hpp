#pragma once
// The load under which the floor and migration benches measure again (issue 15 item 5): N other
// private calls through the same mcxd with RTP at 50 packets/s each way, held by
// bench/capacity/hold_calls.py (SIPp + the capacity bench's RTP load) until stopped.
// Its users exist in mcxd's configuration: load_users_toml() writes them.

#include <CLI/CLI.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"
#include "common/process.hpp"

namespace mcx::bench {

// Callers "<prefix>caller<i>" and callees "<prefix>callee<i>", password "pw-<name>" (the
// convention of hold_calls.py), allowed to call anyone, and the administrator "<prefix>admin"
// (password "pw-<prefix>admin") with whose token hold_calls.py reads GET /status.
inline std::string load_users_toml(const std::string& domain, const std::string& prefix,
                                   int calls) {
    std::string toml;
    for (const char* role : {"caller", "callee"}) {
        for (int i = 0; i < calls; ++i) {
            const auto name = prefix + role + std::to_string(i);
            toml += "[[users]]\nid = \"sip:" + name + "@" + domain + "\"\npassword = \"pw-" + name +
                    "\"\nprivate_call_targets = [\"*\"]\n\n";
        }
    }
    // hold_calls.py reads mcxd's GET /status as this administrator (scope mcx-admin).
    toml += "[[users]]\nid = \"sip:" + prefix + "admin@" + domain + "\"\npassword = \"pw-" +
            prefix + "admin\"\nadmin = true\nprivate_call = false\nmay_be_called = false\n\n";
    return toml;
}

struct BackgroundLoadOptions {
    std::string tool;                         // bench/capacity/hold_calls.py
    std::string python = "/usr/bin/python3";  // a path: spawned with execv
    std::string sip;                          // mcxd's SIP address, host:port
    std::string http;                         // mcxd's HTTP address (its IdMS), host:port
    std::string domain;
    std::string prefix = "load";
    int calls = 400;
    std::string out_dir;  // hold_calls.py's logs; its stderr goes to out_dir/hold_calls.log
    std::chrono::seconds ready_timeout{180};
};

// The benches' --load-calls and --load-tool (both benches are built with MCX_SOURCE_DIR and
// MCX_PYTHON, bench/CMakeLists.txt).
struct LoadArgs {
    int calls = 0;  // 0: idle only
    std::string tool = MCX_SOURCE_DIR "/bench/capacity/hold_calls.py";
    std::string prefix = "load";

    std::string users_toml(const std::string& domain) const {
        return load_users_toml(domain, prefix, calls);
    }
    BackgroundLoadOptions options(const std::string& sip, const std::string& http,
                                  const std::string& domain, const std::string& out_dir) const {
        BackgroundLoadOptions o;
        o.tool = tool;
        o.python = MCX_PYTHON;
        o.sip = sip;
        o.http = http;
        o.domain = domain;
        o.prefix = prefix;
        o.calls = calls;
        o.out_dir = out_dir;
        return o;
    }
};

// `then_what`: what the bench does under load, e.g. "then measure again while mcxd".
inline void add_load_options(CLI::App& app, LoadArgs& args, const std::string& then_what) {
    app.add_option("--load-calls", args.calls,
                   then_what + " relays this many other calls with RTP (0: idle only)")
        ->check(CLI::Range(0, 5000));
    app.add_option("--load-tool", args.tool, "the background load (bench/capacity/hold_calls.py)");
}

class BackgroundLoad {
  public:
    // Starts the tool and returns once its calls are up and RTP flows.
    static Result<BackgroundLoad> start(const BackgroundLoadOptions& o) {
        auto child = ChildProcess::spawn(
            {o.python, o.tool, "--sip", o.sip, "--http", o.http, "--domain", o.domain, "--calls",
             std::to_string(o.calls), "--user-prefix", o.prefix, "--out", o.out_dir},
            o.out_dir + "/hold_calls.log");
        if (!child) return tl::unexpected(child.error());
        BackgroundLoad load;
        load.process_ = std::move(*child);
        for (;;) {
            auto line = load.process_.read_line(o.ready_timeout);
            if (!line) {
                return fail(Errc::timeout, "the background load did not start; see " + o.out_dir +
                                               "/hold_calls.log");
            }
            auto event = nlohmann::json::parse(*line, nullptr, false);
            if (event.is_discarded() || !event.is_object()) continue;
            if (event.value("event", "") == "ready") {
                load.calls_ = event.value("calls", 0);
                load.streams_ = event.value("streams", 0);
                return load;
            }
            if (event.value("event", "") == "error") {
                return fail(Errc::io, "background load: " + event.value("message", *line));
            }
        }
    }

    int calls() const { return calls_; }
    int streams() const { return streams_; }

    // Ends the calls; returns the tool's result (sent, received, loss_pct), or an empty object.
    nlohmann::json stop() {
        process_.close_stdin();
        nlohmann::json result = nlohmann::json::object();
        while (auto line = process_.read_line(std::chrono::seconds(30))) {
            auto event = nlohmann::json::parse(*line, nullptr, false);
            if (!event.is_discarded() && event.is_object() && event.value("event", "") == "result")
                result = event;
        }
        process_.stop();
        return result;
    }

  private:
    ChildProcess process_;
    int calls_ = 0;
    int streams_ = 0;
};

}  // namespace mcx::bench
