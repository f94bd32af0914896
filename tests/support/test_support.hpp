#pragma once
// Helpers shared by the unit and the integration tests (no mcxd processes here: harness.hpp).

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/endpoint.hpp"

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

// While it lives, no file this process writes may grow beyond `bytes` (RLIMIT_FSIZE): a write
// past it fails with EFBIG, as one on a full disk fails with ENOSPC (SIGXFSZ is ignored
// meanwhile). How the store tests fill the disk without root or a file system of their own.
class FileSizeLimit {
  public:
    explicit FileSizeLimit(std::uint64_t bytes);
    ~FileSizeLimit();
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;

  private:
    rlimit previous_{};
    void (*previous_handler_)(int) = nullptr;
};

// While it lives, file modes bind this thread even when it runs as root (CAP_DAC_OVERRIDE is
// left out of its effective capabilities): a file without write permission is read-only.
class FileModesApply {
  public:
    FileModesApply();
    ~FileModesApply();
    FileModesApply(const FileModesApply&) = delete;
    FileModesApply& operator=(const FileModesApply&) = delete;

  private:
    bool dropped_ = false;
};

// The command prefix that runs a child process the same way (none when not root): setpriv
// leaves CAP_DAC_OVERRIDE out of its bounding set.
std::vector<std::string> file_modes_apply_command();
// A TCP connection from `source` to `to`, closed with the object. Loopback addresses other than
// 127.0.0.1 (127.0.0.2 and up) reach mcxd on 127.0.0.1 and look like other clients to it.
class TcpConnection {
  public:
    TcpConnection(const std::string& source, const net::Endpoint& to);  // !connected() if refused
    ~TcpConnection();
    TcpConnection(const TcpConnection&) = delete;
    TcpConnection& operator=(const TcpConnection&) = delete;
    bool connected() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    // All of `bytes`; false when the peer has closed or reset the connection.
    bool send(std::string_view bytes);
    // What arrives until the peer closes the connection (`closed` set) or `timeout` passes.
    std::string receive_until_closed(std::chrono::milliseconds timeout, bool* closed = nullptr);
    void close();

  private:
    int fd_ = -1;
};

// The status of the raw HTTP/1.1 response `response` begins with; 0 for none.
int http_status_of(const std::string& response);

}  // namespace mcx::test
