#include "client/command_shell.hpp"

#include <charconv>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

namespace mcx::client {

namespace {

std::vector<std::string> split(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

std::optional<long> to_number(const std::string& s) {
    long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::string clock_text() {
    const auto now = std::chrono::system_clock::now();
    const auto t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long>(ms));
    return buf;
}

}  // namespace

CommandShell::CommandShell(McClient& client, bool json, Output output, Quit quit)
    : client_(client), json_(json), output_(std::move(output)), quit_(std::move(quit)) {}

std::string CommandShell::help_text() {
    return "commands:\n"
           "  call <user> [--manual] [--full-duplex]\n"
           "                           private call; --manual: the callee's user accepts;\n"
           "                           --full-duplex: without floor control\n"
           "  ptt [id]                 ask for the floor (push to talk)\n"
           "  release [id]             release the floor (or withdraw the request)\n"
           "  accept [id]              accept an incoming call (manual commencement)\n"
           "  reject [id]              reject an incoming call\n"
           "  hangup [id|all]          end a call (the only one when no id is given)\n"
           "  send-rtp [id] [count]    send count RTP packets (default 50, one per 20 ms);\n"
           "                           with floor control only while holding the floor\n"
           "  speak [id]               send the --speak file now (needs the floor)\n"
           "  migrate <system> [--prepared]\n"
           "                           move to another MC system with the ongoing calls\n"
           "                           (TS 23.280 10.16.3): release, authenticate, register,\n"
           "                           retrieve the profile there, re-initiate each call;\n"
           "                           --prepared: do the middle steps while the calls run\n"
           "  record <file>            write what was heard so far, then record into <file>\n"
           "                           (calls set up or resumed from then on)\n"
           "  logout                   hang up, unregister (Expires: 0) and revoke the\n"
           "                           access tokens at the IdMS (RFC 7009)\n"
           "  status                   serving MC system, MC service ID, calls, RTP counters\n"
           "  wait <event> [seconds]   hold the next commands until the event (scripts)\n"
           "  sleep <ms>               pause the next commands\n"
           "  help                     this text\n"
           "  quit                     hang up, unregister and leave\n"
           "<user> is an MC service ID (sip:bob@a.mcx) or a user name of the primary system "
           "(bob).\n";
}

McServiceId CommandShell::expand_user(const std::string& text) const {
    auto id =
        McServiceId::parse(text.find(':') == std::string::npos
                               ? "sip:" + text + "@" + std::string(client_.config().user.domain())
                               : text);
    return id ? *id : McServiceId{};
}

void CommandShell::feed(const std::string& line) {
    pending_.push_back(line);
    pump();
}

void CommandShell::end_of_input() {
    input_ended_ = true;
    pump();
}

void CommandShell::pump() {
    while (!waiting_for_ && !wait_timer_.running() && !pending_.empty() && !quitting_) {
        auto line = pending_.front();
        pending_.pop_front();
        execute(line);
    }
    if (input_ended_ && pending_.empty() && !waiting_for_ && !wait_timer_.running() && !quitting_) {
        execute("quit");
    }
}

void CommandShell::print_result(const std::string& command, const std::string& error, long call) {
    if (json_) {
        nlohmann::json j{{"event", error.empty() ? "ok" : "error"}, {"command", command}};
        if (call >= 0) j["call"] = call;
        if (!error.empty()) j["reason"] = error;
        output_(j.dump());
    } else if (!error.empty()) {
        output_("error: " + command + ": " + error);
    } else if (call >= 0) {
        output_("call " + std::to_string(call) + " started");
    }
}

std::optional<CallId> CommandShell::pick_call(const std::string& arg, bool incoming_only) const {
    if (!arg.empty()) {
        if (auto n = to_number(arg); n && *n > 0) return static_cast<CallId>(*n);
        return std::nullopt;
    }
    std::optional<CallId> found;
    for (const auto& c : client_.calls()) {
        if (incoming_only && c.state != CallState::incoming) continue;
        if (found) return std::nullopt;  // ambiguous
        found = c.id;
    }
    return found;
}

void CommandShell::execute(const std::string& line) {
    const auto words = split(line);
    if (words.empty() || words[0].starts_with('#')) return;
    const auto& cmd = words[0];
    const std::string arg1 = words.size() > 1 ? words[1] : "";
    if (cmd == "help") {
        output_(json_ ? nlohmann::json{{"event", "help"}, {"text", help_text()}}.dump()
                      : help_text());
    } else if (cmd == "call") {
        if (arg1.empty()) return print_result(cmd, "usage: call <user> [--manual] [--full-duplex]");
        const auto peer = expand_user(arg1);
        if (peer.empty()) return print_result(cmd, "'" + arg1 + "' is not a user or MC service ID");
        CallOptions options;
        for (std::size_t i = 2; i < words.size(); ++i) {
            if (words[i] == "--manual") {
                options.commencement = Commencement::manual;
            } else if (words[i] == "--full-duplex") {
                options.floor_control = false;
            } else {
                return print_result(cmd, "unknown option " + words[i]);
            }
        }
        auto id = client_.call(peer, options);
        if (!id) return print_result(cmd, id.error().reason);
        print_result(cmd, "", static_cast<long>(*id));
    } else if (cmd == "speak") {
        auto id = pick_call(arg1, false);
        if (!id) return print_result(cmd, "which call? give its id");
        auto r = client_.speak(*id);
        print_result(cmd, r ? "" : r.error().reason, static_cast<long>(*id));
    } else if (cmd == "ptt" || cmd == "release") {
        auto id = pick_call(arg1, false);
        if (!id) return print_result(cmd, "which call? give its id");
        auto r = cmd == "ptt" ? client_.press(*id) : client_.release_floor(*id);
        print_result(cmd, r ? "" : r.error().reason, static_cast<long>(*id));
    } else if (cmd == "accept" || cmd == "reject") {
        auto id = pick_call(arg1, true);
        if (!id) return print_result(cmd, "which call? give its id");
        auto r = cmd == "accept" ? client_.accept(*id) : client_.reject(*id);
        print_result(cmd, r ? "" : r.error().reason, static_cast<long>(*id));
    } else if (cmd == "hangup") {
        if (arg1 == "all") {
            for (const auto& c : client_.calls()) (void)client_.hangup(c.id);
            return print_result(cmd, "");
        }
        auto id = pick_call(arg1, false);
        if (!id) return print_result(cmd, "which call? give its id");
        auto r = client_.hangup(*id);
        print_result(cmd, r ? "" : r.error().reason, static_cast<long>(*id));
    } else if (cmd == "send-rtp") {
        std::string id_arg = arg1;
        unsigned count = 50;
        if (words.size() > 2) {
            auto n = to_number(words[2]);
            if (!n || *n <= 0) return print_result(cmd, "count must be a positive number");
            count = static_cast<unsigned>(*n);
        }
        auto id = pick_call(id_arg, false);
        if (!id) return print_result(cmd, "which call? give its id");
        auto r = client_.send_rtp(*id, count);
        print_result(cmd, r ? "" : r.error().reason, static_cast<long>(*id));
    } else if (cmd == "migrate") {
        if (arg1.empty()) return print_result(cmd, "usage: migrate <system> [--prepared]");
        auto order = MigrationOrder::literal;
        for (std::size_t i = 2; i < words.size(); ++i) {
            if (words[i] == "--prepared") {
                order = MigrationOrder::prepared;
            } else {
                return print_result(cmd, "unknown option " + words[i]);
            }
        }
        auto r = client_.migrate(arg1, order);
        if (!r) return print_result(cmd, r.error().reason);
        if (json_) return print_result(cmd, "");
        output_("migrating to " + arg1 + " (" + to_string(order) + " order)...");
    } else if (cmd == "record") {
        auto r = client_.record_to(arg1);
        print_result(cmd, r ? "" : r.error().reason);
    } else if (cmd == "status") {
        print_status();
    } else if (cmd == "logout") {
        client_.logout();
        print_result(cmd, "");
    } else if (cmd == "wait") {
        if (arg1.empty()) return print_result(cmd, "usage: wait <event> [seconds]");
        long seconds = 10;
        if (words.size() > 2) seconds = to_number(words[2]).value_or(10);
        waiting_for_ = arg1;
        wait_timer_.start(std::chrono::seconds(seconds), [this, arg1] {
            waiting_for_.reset();
            print_result("wait", "timed out waiting for " + arg1);
            quit_(3);
        });
    } else if (cmd == "sleep") {
        const auto ms = to_number(arg1).value_or(0);
        wait_timer_.start(std::chrono::milliseconds(ms), [this] { pump(); });
    } else if (cmd == "quit" || cmd == "exit") {
        quitting_ = true;
        client_.stop([this] { quit_(0); });
    } else {
        print_result(cmd, "unknown command (try help)");
    }
}

void CommandShell::print_status() {
    const auto calls = client_.calls();
    const auto* serving = client_.serving();
    const std::string system = serving ? serving->id() : "";
    const std::string id = client_.mc_service_id().uri();
    const std::string migration = to_string(client_.migration_state());
    if (json_) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& c : calls) {
            list.push_back({{"call", c.id},
                            {"peer", c.peer},
                            {"state", to_string(c.state)},
                            {"originated", c.originated},
                            {"system", c.system},
                            {"rtp_sent", c.rtp_sent},
                            {"rtp_received", c.rtp_received},
                            {"floor", c.floor_control ? c.floor_state : "none"}});
        }
        output_(nlohmann::json{
            {"event", "status"},
            {"user", client_.config().user.uri()},
            {"serving_system", system},
            {"mc_service_id", id},
            {"primary", serving && serving->primary()},
            {"registered", client_.registered()},
            {"migration", migration},
            {"calls",
             list}}.dump());
        return;
    }
    std::string text = client_.config().user.uri() + ": served by " +
                       (system.empty() ? "none" : system) +
                       (serving && serving->primary() ? " (primary)" : " (partner)") + " as " + id +
                       (client_.registered() ? ", registered" : ", not registered") +
                       (client_.migration().active() ? ", migrating (" + migration + ")" : "") +
                       ", " + std::to_string(calls.size()) + " call(s)";
    for (const auto& c : calls) {
        text += "\n  call " + std::to_string(c.id) + " " + (c.originated ? "to " : "from ") +
                c.peer + ": " + to_string(c.state) + (c.system.empty() ? "" : " via " + c.system) +
                ", floor " + (c.floor_control ? c.floor_state : "none") + ", RTP sent " +
                std::to_string(c.rtp_sent) + ", received " + std::to_string(c.rtp_received);
    }
    output_(text);
}

void CommandShell::print_event(const ClientEvent& event) {
    if (json_) {
        nlohmann::json j{{"event", to_string(event.type)}};
        if (event.call) j["call"] = event.call;
        if (!event.peer.empty()) j["peer"] = event.peer;
        if (event.status) j["status"] = event.status;
        if (event.warning) j["warning"] = *event.warning;
        if (!event.reason.empty()) j["reason"] = event.reason;
        if (!event.by.empty()) j["by"] = event.by;
        if (!event.talker.empty()) j["talker"] = event.talker;
        if (event.cause) j["cause"] = event.cause;
        if (event.position) j["position"] = event.position;
        if (!event.system.empty()) j["system"] = event.system;
        if (!event.mc_service_id.empty()) j["mc_service_id"] = event.mc_service_id;
        if (!event.step.empty()) j["step"] = event.step;
        if (event.duration_ms >= 0) j["duration_ms"] = event.duration_ms;
        if (event.type == ClientEventType::migrated ||
            event.type == ClientEventType::migration_failed) {
            j["from"] = event.from;
            j["to"] = event.to;
            j["order"] = event.order;
            j["trigger"] = event.trigger;
            auto steps = nlohmann::json::object();
            for (const auto& [name, ms] : event.steps_ms) steps[name] = ms;
            j["steps_ms"] = steps;
            auto calls = nlohmann::json::array();
            for (const auto& c : event.calls) {
                calls.push_back({{"call", c.call},
                                 {"peer", c.peer},
                                 {"service", to_string(c.service)},
                                 {"result", c.resumed ? "resumed" : "failed"},
                                 {"reason", c.reason}});
            }
            j["calls"] = calls;
        }
        output_(j.dump());
        return;
    }
    std::string text = "[" + clock_text() + "] " + to_string(event.type);
    if (event.call) text += ": call " + std::to_string(event.call);
    if (!event.peer.empty() && event.call) text += " with " + event.peer;
    if (!event.talker.empty()) text += ": " + event.talker + " talks";
    if (event.position) text += ": position " + std::to_string(event.position);
    if (event.cause) text += ": cause " + std::to_string(event.cause);
    if (event.type == ClientEventType::registered || event.type == ClientEventType::profile) {
        text +=
            ": " + event.system + (event.mc_service_id.empty() ? "" : " as " + event.mc_service_id);
    }
    if (event.type == ClientEventType::migration_step) {
        text += ": " + event.step + " (" + event.system + ")";
        if (event.duration_ms >= 0) text += " " + std::to_string(event.duration_ms) + " ms";
    }
    if (event.type == ClientEventType::migrated ||
        event.type == ClientEventType::migration_failed) {
        text += ": " + event.from + " -> " + event.to + " (" + event.trigger + ", " + event.order +
                " order, " + std::to_string(event.duration_ms) + " ms), now " + event.mc_service_id;
        for (const auto& c : event.calls) {
            text += "\n    call " + std::to_string(c.call) + " with " + c.peer + ": " +
                    (c.resumed ? "resumed" : "failed") +
                    (c.reason.empty() ? "" : " (" + c.reason + ")");
        }
    }
    if (!event.reason.empty()) text += " (" + event.reason + ")";
    if (event.type == ClientEventType::incoming) text += " — type 'accept' or 'reject'";
    output_(text);
}

void CommandShell::on_event(const ClientEvent& event) {
    print_event(event);
    // Without a first token there is nothing to do: say why and leave (exit status 1).
    if (event.type == ClientEventType::login_failed && !client_.registered() && !quitting_ &&
        !client_.migration().active()) {
        if (!json_) output_("error: " + event.reason);
        quitting_ = true;
        quit_(1);
        return;
    }
    if (waiting_for_ && *waiting_for_ == to_string(event.type)) {
        waiting_for_.reset();
        wait_timer_.cancel();
        pump();
    }
}

}  // namespace mcx::client
