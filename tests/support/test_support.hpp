#pragma once
// Helpers shared by the unit and the integration tests (no mcxd processes here: harness.hpp).

#include <cstdint>
#include <string>

namespace mcx::test {

// What a shell command prints on stdout ("" when it cannot run).
std::string command_output(const std::string& command);
bool have_tshark();

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
