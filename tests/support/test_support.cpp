#include "test_support.hpp"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cerrno>
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

TcpConnection::TcpConnection(const std::string& source, const net::Endpoint& to) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(to.port);
    if (fd < 0 || inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
        inet_pton(AF_INET, to.host.c_str(), &remote.sin_addr) != 1 ||
        bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
        connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0) {
        if (fd >= 0) ::close(fd);
        return;
    }
    fd_ = fd;
}

TcpConnection::~TcpConnection() {
    close();
}

void TcpConnection::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool TcpConnection::send(std::string_view bytes) {
    while (fd_ >= 0 && !bytes.empty()) {
        const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return fd_ >= 0;
}

std::string TcpConnection::receive_until_closed(std::chrono::milliseconds timeout, bool* closed) {
    std::string received;
    const auto until = std::chrono::steady_clock::now() + timeout;
    if (closed) *closed = false;
    while (fd_ >= 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        pollfd pfd{fd_, POLLIN, 0};
        if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
        char buffer[4096];
        const auto n = recv(fd_, buffer, sizeof(buffer), 0);
        if (n > 0) {
            received.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (closed) *closed = true;  // end of stream, or a reset
        break;
    }
    return received;
}

int http_status_of(const std::string& response) {
    if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) return 0;
    return std::stoi(response.substr(9, 3));
}
}  // namespace mcx::test
