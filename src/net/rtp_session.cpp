#include "net/rtp_session.hpp"

#include <netinet/in.h>

#include "net/re_include.hpp"

namespace mcx::net {

namespace {

struct Deref {
    void operator()(void* p) const { mem_deref(p); }
};

Ipv4Endpoint from_sa(const sa* src) {
    if (sa_af(src) != AF_INET) return {};
    return Ipv4Endpoint{src->u.in.sin_addr.s_addr, sa_port(src)};
}

}  // namespace

struct RtpSessionCallbacks {
    static void on_rtp(const sa* src, const rtp_header* hdr, mbuf* mb, void* arg) {
        auto* self = static_cast<RtpSession*>(arg);
        if (!self->on_rtp_) return;
        RtpPacket packet;
        packet.payload_type = hdr->pt;
        packet.marker = hdr->m;
        packet.sequence = hdr->seq;
        packet.timestamp = hdr->ts;
        packet.ssrc = hdr->ssrc;
        packet.payload = std::span<const std::uint8_t>(mbuf_buf(mb), mbuf_get_left(mb));
        self->on_rtp_(from_sa(src), packet);
    }
    static void on_rtcp(const sa* src, rtcp_msg*, void* arg) {
        auto* self = static_cast<RtpSession*>(arg);
        if (self->on_rtcp_) self->on_rtcp_(from_sa(src));
    }
};

Result<std::unique_ptr<RtpSession>> RtpSession::open(const std::string& host, Handler on_rtp,
                                                     RtcpHandler on_rtcp) {
    std::unique_ptr<RtpSession> self(new RtpSession());
    self->on_rtp_ = std::move(on_rtp);
    self->on_rtcp_ = std::move(on_rtcp);
    sa ip;
    if (sa_set_str(&ip, host.c_str(), 0) != 0) {
        return fail(Errc::invalid_argument, "RTP host is not an IP literal: " + host);
    }
    // Dynamic port range (RFC 6335); libre picks an even RTP port with RTCP on the next one.
    if (int err =
            rtp_listen(&self->sock_, IPPROTO_UDP, &ip, 49152, 65534, true,
                       &RtpSessionCallbacks::on_rtp, &RtpSessionCallbacks::on_rtcp, self.get());
        err != 0) {
        return fail(Errc::io, "cannot open RTP session on " + host + ": " + strerror(err));
    }
    self->rtp_port_ = sa_port(rtp_local(self->sock_));
    return self;
}

RtpSession::~RtpSession() {
    mem_deref(sock_);
}

std::uint32_t RtpSession::ssrc() const {
    return rtp_sess_ssrc(sock_);
}

Result<void> RtpSession::send(const Ipv4Endpoint& to, std::uint8_t payload_type, bool marker,
                              std::uint32_t timestamp, std::span<const std::uint8_t> payload) {
    std::unique_ptr<mbuf, Deref> mb(mbuf_alloc(RTP_HEADER_SIZE + payload.size()));
    if (!mb) return fail(Errc::internal, "out of memory");
    mb->pos = RTP_HEADER_SIZE;
    mbuf_write_mem(mb.get(), payload.data(), payload.size());
    mb->pos = RTP_HEADER_SIZE;
    sa dst;
    sa_init(&dst, AF_INET);
    dst.u.in.sin_addr.s_addr = to.ip;
    sa_set_port(&dst, to.port);
    if (int err = rtp_send(sock_, &dst, false, marker, payload_type, timestamp, mb.get());
        err != 0) {
        return fail(Errc::io, "RTP send failed: " + std::string(strerror(err)));
    }
    return {};
}

}  // namespace mcx::net
