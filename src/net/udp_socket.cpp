#include "net/udp_socket.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <random>

#include "net/re_include.hpp"

namespace mcx::net {

Ipv4Endpoint to_ipv4(const Endpoint& e) {
    in_addr addr{};
    if (inet_pton(AF_INET, e.host.c_str(), &addr) != 1) return {};
    return Ipv4Endpoint{addr.s_addr, e.port};
}

Endpoint to_endpoint(const Ipv4Endpoint& e) {
    char host[INET_ADDRSTRLEN] = {};
    in_addr addr{};
    addr.s_addr = e.ip;
    inet_ntop(AF_INET, &addr, host, sizeof(host));
    return Endpoint{host, e.port};
}

Result<std::uint16_t> free_tcp_port(const std::string& host) {
    sa addr;
    if (sa_set_str(&addr, host.c_str(), 0) != 0) {
        return fail(Errc::invalid_argument, "not an IP literal: " + host);
    }
    const int fd = ::socket(sa_af(&addr), SOCK_STREAM, 0);
    if (fd < 0) return fail(Errc::io, std::string("socket: ") + strerror(errno));
    std::uint16_t port = 0;
    if (::bind(fd, &addr.u.sa, addr.len) == 0) {
        sa bound;
        bound.len = sizeof(bound.u);
        if (::getsockname(fd, &bound.u.sa, &bound.len) == 0) port = sa_port(&bound);
    }
    ::close(fd);
    if (port == 0) return fail(Errc::io, "no free TCP port on " + host);
    return port;
}

struct UdpSocketCallbacks {
    static void on_receive(const sa* src, mbuf* mb, void* arg) {
        auto* self = static_cast<UdpSocket*>(arg);
        if (!self->handler_ || sa_af(src) != AF_INET) return;
        const Ipv4Endpoint from{src->u.in.sin_addr.s_addr, sa_port(src)};
        self->handler_(from, std::span<const std::uint8_t>(mbuf_buf(mb), mbuf_get_left(mb)));
    }
};

Result<std::unique_ptr<UdpSocket>> UdpSocket::bind(const std::string& host, std::uint16_t port,
                                                   Handler handler) {
    std::unique_ptr<UdpSocket> self(new UdpSocket());
    self->handler_ = std::move(handler);
    sa local;
    if (sa_set_str(&local, host.c_str(), port) != 0) {
        return fail(Errc::invalid_argument, "not an IP literal: " + host);
    }
    if (int err = udp_listen(&self->sock_, &local, &UdpSocketCallbacks::on_receive, self.get());
        err != 0) {
        return fail(Errc::io,
                    "cannot bind UDP " + host + ":" + std::to_string(port) + ": " + strerror(err));
    }
    sa bound;
    udp_local_get(self->sock_, &bound);
    self->local_ = Endpoint{host, sa_port(&bound)};
    self->buffer_ = mbuf_alloc(2048);
    return self;
}

Result<std::pair<std::unique_ptr<UdpSocket>, std::unique_ptr<UdpSocket>>> UdpSocket::bind_pair(
    const std::string& host, Handler rtp_handler, Handler rtcp_handler) {
    static thread_local std::minstd_rand random{std::random_device{}()};
    for (int attempt = 0; attempt < 64; ++attempt) {
        // Even ports in the dynamic range (RFC 6335).
        const auto port = static_cast<std::uint16_t>(49152 + 2 * (random() % 8000));
        auto rtp = bind(host, port, rtp_handler);
        if (!rtp) continue;
        auto rtcp = bind(host, static_cast<std::uint16_t>(port + 1), rtcp_handler);
        if (!rtcp) continue;
        return std::make_pair(std::move(*rtp), std::move(*rtcp));
    }
    return fail(Errc::io, "no free even/odd UDP port pair on " + host);
}

UdpSocket::~UdpSocket() {
    mem_deref(sock_);
    mem_deref(buffer_);
}

void UdpSocket::send_to(const Ipv4Endpoint& to, std::span<const std::uint8_t> data) {
    sa dst;
    sa_init(&dst, AF_INET);
    dst.u.in.sin_addr.s_addr = to.ip;
    sa_set_port(&dst, to.port);
    mbuf_rewind(buffer_);
    mbuf_write_mem(buffer_, data.data(), data.size());
    buffer_->pos = 0;
    (void)udp_send(sock_, &dst, buffer_);
}

}  // namespace mcx::net
