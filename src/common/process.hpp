#pragma once
// A child process with its stdout read line by line and its stdin writable; it is killed
// (SIGTERM, then SIGKILL) when the handle goes away and when this process dies.
// Used by `mcx demo` and by the integration tests to run real mcxd and mcx processes.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace mcx {

class ChildProcess {
  public:
    // argv[0] is the program path. stderr goes to `stderr_path` (appended), or is inherited.
    static Result<ChildProcess> spawn(const std::vector<std::string>& argv,
                                      const std::string& stderr_path = {});
    ChildProcess() = default;
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ~ChildProcess();

    pid_t pid() const { return pid_; }
    // Next line of stdout without the newline; nullopt on timeout or end of output.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    bool write_line(const std::string& line);
    void close_stdin();
    // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status (or -signal).
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
    void kill_now();  // SIGKILL
    std::optional<int> wait(std::chrono::milliseconds timeout);

  private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    int stdin_fd_ = -1;
    std::string buffer_;
    bool eof_ = false;
    std::optional<int> exit_status_;
};

}  // namespace mcx
