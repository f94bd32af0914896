#pragma once
// Helpers shared by the unit and the integration tests (no mcxd processes here: harness.hpp).

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace mcx::test {

// What a shell command prints on stdout ("" when it cannot run).
std::string command_output(const std::string& command);
bool have_tshark();

// Polls `pred` every `poll` until it holds (true) or `timeout` has passed (false); `pred` is
// asked once more at the deadline. For assertions about something that becomes true (counters
// reaching N, calls gone) in place of a fixed sleep: it returns as soon as it can and waits
// longer on a loaded machine. Not for "nothing happens": that needs a sleep.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(20));

// A TCP socket listening on 127.0.0.1 at a port picked by the kernel; closed with the object.
// It accepts nothing by itself: a test reads from it, or leaves peers waiting (a silent server).
class LoopbackListener {
  public:
    LoopbackListener();  // throws std::runtime_error when no socket can be had
    ~LoopbackListener();
    LoopbackListener(const LoopbackListener&) = delete;
    LoopbackListener& operator=(const LoopbackListener&) = delete;
    int fd() const { return fd_; }
    std::uint16_t port() const { return port_; }

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace mcx::test
