#include "net/queue_probe.hpp"

#include <charconv>
#include <string>

#include "net/udp_socket.hpp"

namespace mcx::net {
namespace {
constexpr std::string_view kCallIdPrefix = "mcx-queue-probe-";
constexpr std::int64_t kLostAfterMs = 1000;
}  // namespace

Result<std::unique_ptr<QueueProbe>> QueueProbe::start(const Endpoint& sip_udp,
                                                      std::chrono::milliseconds interval,
                                                      DelayHandler on_delay) {
    std::unique_ptr<QueueProbe> self(new QueueProbe());
    auto socket = UdpSocket::bind(sip_udp.host, 0, [](auto&&...) {});  // answers: none
    if (!socket) return tl::unexpected(socket.error());
    self->socket_ = std::move(*socket);
    self->local_ = self->socket_->local();
    self->target_ = sip_udp;
    self->interval_ = interval;
    self->on_delay_ = std::move(on_delay);
    self->send();
    self->due_at_ms_ = static_cast<std::int64_t>(monotonic_ms()) + interval.count();
    self->timer_.start(interval, [p = self.get()] { p->tick(); });
    return self;
}

QueueProbe::~QueueProbe() = default;

void QueueProbe::tick() {
    const auto now = static_cast<std::int64_t>(monotonic_ms());
    // The tick's own lateness: a loop that was blocked or not scheduled at all.
    if (const auto late = now - due_at_ms_; late > 0) on_delay_(now, late);
    if (sent_at_ms_ < 0) {
        send();
    } else {
        on_delay_(now, now - sent_at_ms_);  // still queued: at least this late
        if (now - sent_at_ms_ >= kLostAfterMs) send();
    }
    due_at_ms_ = now + interval_.count();
    timer_.start(interval_, [this] { tick(); });
}

void QueueProbe::send() {
    ++sequence_;
    const auto here = local_.host + ":" + std::to_string(local_.port);
    const auto there = target_.host + ":" + std::to_string(target_.port);
    const auto seq = std::to_string(sequence_);
    // A complete request (RFC 3261 8.1.1), so it passes every check a client's would.
    const std::string request = "OPTIONS sip:" + there + " SIP/2.0\r\n" + "Via: SIP/2.0/UDP " +
                                here + ";branch=z9hG4bK-mcx-probe-" + seq +
                                "\r\nMax-Forwards: 0\r\nTo: <sip:" + there +
                                ">\r\nFrom: <sip:queue-probe@" + here +
                                ">;tag=probe\r\nCall-ID: " + std::string(kCallIdPrefix) + seq +
                                "\r\nCSeq: " + seq + " OPTIONS\r\nContent-Length: 0\r\n\r\n";
    sent_at_ms_ = static_cast<std::int64_t>(monotonic_ms());
    socket_->send_to(
        to_ipv4(target_),
        std::span(reinterpret_cast<const std::uint8_t*>(request.data()), request.size()));
}

bool QueueProbe::consume(const SipMessage& msg) {
    const auto call_id = msg.call_id();
    if (!call_id.starts_with(kCallIdPrefix) || msg.source() != local_) return false;
    const auto digits = call_id.substr(kCallIdPrefix.size());
    std::uint32_t seq = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    if (seq == sequence_ && sent_at_ms_ >= 0) {
        const auto now = static_cast<std::int64_t>(monotonic_ms());
        on_delay_(now, now - sent_at_ms_);
        sent_at_ms_ = -1;
    }
    return true;
}

}  // namespace mcx::net
