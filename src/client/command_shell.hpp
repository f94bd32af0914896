#pragma once
// The `mcx client` command language, for people (interactive prompt) and for scripts and
// tests (one JSON event per line). Runs on the event loop thread; feed() it lines.
//
//   call <user> [--manual] [--full-duplex]   accept [id]   reject [id]   hangup [id|all]
//   ptt [id]   release [id]   speak [id]   send-rtp [id] [count]   record <file>
//   migrate <system> [--prepared]            status   logout   wait <event> [seconds]
//   sleep <ms>
//   help                     quit

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "client/mc_client.hpp"
#include "net/timer.hpp"

namespace mcx::client {

class CommandShell {
  public:
    using Output = std::function<void(const std::string& line)>;
    using Quit = std::function<void(int exit_code)>;

    CommandShell(McClient& client, bool json, Output output, Quit quit);

    void feed(const std::string& line);
    void end_of_input();  // quit once every queued command has run
    void on_event(const ClientEvent& event);
    static std::string help_text();

  private:
    void pump();
    void execute(const std::string& line);
    void print_event(const ClientEvent& event);
    void print_result(const std::string& command, const std::string& error, long call = -1);
    void print_status();
    std::optional<CallId> pick_call(const std::string& arg, bool incoming_only) const;
    McServiceId expand_user(const std::string& text) const;

    McClient& client_;
    bool json_;
    Output output_;
    Quit quit_;
    std::deque<std::string> pending_;
    std::optional<std::string> waiting_for_;
    net::Timer wait_timer_;
    bool input_ended_ = false;
    bool quitting_ = false;
};

}  // namespace mcx::client
