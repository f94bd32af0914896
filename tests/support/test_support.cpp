#include "test_support.hpp"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace mcx::test {

std::string command_output(const std::string& command) {
    std::string out;
    if (FILE* pipe = popen(command.c_str(), "r")) {
        char buf[4096];
        while (auto n = std::fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
        pclose(pipe);
    }
    return out;
}

bool have_tshark() {
    return std::system("command -v tshark >/dev/null 2>&1") == 0;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (pred()) return true;
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return false;
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(poll, deadline - now));
    }
}

LoopbackListener::LoopbackListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        if (fd_ >= 0) ::close(fd_);
        throw std::runtime_error("no TCP listener on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
}

LoopbackListener::~LoopbackListener() {
    ::close(fd_);
}

FileSizeLimit::FileSizeLimit(std::uint64_t bytes) {
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit limit = previous_;
    limit.rlim_cur = bytes;
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) throw std::runtime_error("setrlimit RLIMIT_FSIZE");
}

FileSizeLimit::~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_handler_);
}

namespace {

// This thread's capabilities (capget/capset on pid 0 name the calling thread).
bool capabilities(__user_cap_data_struct (&data)[2], bool set) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    return syscall(set ? SYS_capset : SYS_capget, &header, data) == 0;
}

}  // namespace

FileModesApply::FileModesApply() {
    __user_cap_data_struct data[2]{};
    if (!capabilities(data, false)) return;
    const auto bit = 1u << CAP_DAC_OVERRIDE;
    if (!(data[0].effective & bit)) return;
    data[0].effective &= ~bit;
    if (!capabilities(data, true)) throw std::runtime_error("capset: cannot drop CAP_DAC_OVERRIDE");
    dropped_ = true;
}

FileModesApply::~FileModesApply() {
    __user_cap_data_struct data[2]{};
    if (!dropped_ || !capabilities(data, false)) return;
    data[0].effective |= 1u << CAP_DAC_OVERRIDE;
    capabilities(data, true);
}

std::vector<std::string> file_modes_apply_command() {
    if (geteuid() != 0) return {};
    return {"/usr/bin/setpriv", "--bounding-set", "-dac_override", "--"};
}

}  // namespace mcx::test
