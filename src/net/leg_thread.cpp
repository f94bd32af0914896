#include "net/leg_thread.hpp"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <future>

#include "common/log_throttle.hpp"
#include "net/leg_port_share.hpp"
#include "net/re_include.hpp"
#include "net/timer.hpp"

namespace mcx::net {

// The shared port's addresses. `leg_*` are set before the leg thread starts sharing, `main_*`
// once by share_port() before LegThread::main_fd_ is published.
struct LegThread::Share {
    sa leg_address{};
    std::string leg_host_port;
    sa main_address{};
    Endpoint main;
    std::string main_host_port;
    ::udp_helper* main_helper = nullptr;  // on the main socket (home thread)
    ::udp_helper* leg_helper = nullptr;   // on the leg socket, owned by it (leg thread)
    std::atomic<std::uint64_t> refused{0};
    LogThrottle refusals;  // leg thread
};

namespace {

constexpr auto kProbeTimeout = std::chrono::seconds(2);
// A datagram forwarded by the main port carries a frame line on top of up to libre's 8 KiB.
constexpr std::size_t kLegReceiveSize = 8192 + 128;

sa to_sa(const Endpoint& endpoint) {
    sa address{};
    (void)sa_set_str(&address, endpoint.host.c_str(), endpoint.port);
    return address;
}

std::string_view bytes_of(const mbuf* mb) {
    return {reinterpret_cast<const char*>(mbuf_buf(mb)), mbuf_get_left(mb)};
}

// An OPTIONS to the leg stack from a throwaway socket: libre names a SIP transport's UDP socket
// only in the messages received on it.
Result<void> send_probe(const Endpoint& to) {
    const sa destination = to_sa(to);
    const int fd = socket(sa_af(&destination), SOCK_DGRAM, 0);
    if (fd < 0) return fail(Errc::io, std::string("probe socket: ") + strerror(errno));
    const auto hp = port_share::host_port(to);
    const std::string probe = "OPTIONS sip:" + hp +
                              " SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP " +
                              hp +
                              ";branch=z9hG4bK-mcx-leg-probe\r\n"
                              "Max-Forwards: 70\r\n"
                              "From: <sip:probe@" +
                              hp +
                              ">;tag=probe\r\n"
                              "To: <sip:probe@" +
                              hp +
                              ">\r\n"
                              "Call-ID: mcx-leg-probe\r\n"
                              "CSeq: 1 OPTIONS\r\n"
                              "Content-Length: 0\r\n\r\n";
    const auto sent = sendto(fd, probe.data(), probe.size(), 0, &destination.u.sa, destination.len);
    const int err = errno;
    close(fd);
    if (sent < 0) return fail(Errc::io, std::string("probe: ") + strerror(err));
    return {};
}

}  // namespace

struct LegPortCallbacks {
    // Leg socket, leg thread: once shared, every datagram leaves from the main socket, requests
    // with the main port in Via and Contact.
    static bool leg_send(int* err, sa* dst, mbuf* mb, void* arg) {
        auto* self = static_cast<LegThread*>(arg);
        const int fd = self->main_fd_.load(std::memory_order_acquire);
        if (fd < 0) return false;
        const auto bytes = bytes_of(mb);
        const auto rewritten = port_share::to_main_port(bytes, self->share_->leg_host_port,
                                                        self->share_->main_host_port);
        const std::string_view out = rewritten ? std::string_view(*rewritten) : bytes;
        *err = sendto(fd, out.data(), out.size(), 0, &dst->u.sa, dst->len) < 0 ? errno : 0;
        return true;
    }
    // Leg socket, leg thread: once shared, only frames from the main socket come in; the frame
    // gives the datagram's real source.
    static bool leg_receive(sa* src, mbuf* mb, void* arg) {
        auto* self = static_cast<LegThread*>(arg);
        if (self->main_fd_.load(std::memory_order_acquire) < 0) return false;
        auto& share = *self->share_;
        std::optional<port_share::Unframed> unframed;
        if (sa_cmp(src, &share.main_address, SA_ALL)) unframed = port_share::unframe(bytes_of(mb));
        sa source{};
        if (!unframed ||
            sa_set_str(&source, unframed->source.host.c_str(), unframed->source.port) != 0) {
            const auto refused = ++share.refused;
            const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now().time_since_epoch())
                                    .count();
            if (auto suppressed = share.refusals.allow(now_ms)) {
                spdlog::warn(
                    "SIP leg port: datagram from {} dropped (only the main port {} "
                    "hands datagrams to it; {} dropped in all, {} not logged)",
                    to_endpoint(src).to_string(), share.main.to_string(), refused, *suppressed);
            }
            return true;
        }
        *src = source;
        // The datagram moves to the buffer's start: libre's trace reads from there.
        const std::size_t left = mbuf_get_left(mb) - unframed->offset;
        std::memmove(mbuf_buf(mb), mbuf_buf(mb) + unframed->offset, left);
        mb->end = mb->pos + left;
        return false;
    }
    // Main socket, home thread: responses and in-dialog requests of the leg stack go on to the
    // leg socket, framed with their source.
    static bool main_receive(sa* src, mbuf* mb, void* arg) {
        auto* self = static_cast<LegThread*>(arg);
        const auto bytes = bytes_of(mb);
        if (!port_share::for_leg(bytes)) return false;
        const auto framed = port_share::frame(to_endpoint(src), bytes);
        const auto& leg = self->share_->leg_address;
        if (sendto(self->main_fd_.load(std::memory_order_relaxed), framed.data(), framed.size(), 0,
                   &leg.u.sa, leg.len) < 0) {
            spdlog::warn("SIP leg port: datagram from {} not handed on: {}",
                         to_endpoint(src).to_string(), strerror(errno));
        }
        return true;
    }
};

Result<std::unique_ptr<LegThread>> LegThread::start(const SipStackOptions& opts,
                                                    SipStack::TraceHandler trace) {
    std::unique_ptr<LegThread> legs(new LegThread());
    legs->share_ = std::make_unique<Share>();
    std::promise<Result<void>> started;
    auto result = started.get_future();
    legs->thread_ = std::thread([self = legs.get(), opts, trace = std::move(trace), &started] {
        // Stop signals belong to the main loop's thread.
        sigset_t stop_signals;
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGINT);
        sigaddset(&stop_signals, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
        // A libre context of this thread's own: timer list, poll set, descriptor table.
        if (int err = re_thread_init(); err != 0) {
            started.set_value(
                fail(Errc::internal, "re_thread_init failed: " + std::to_string(err)));
            return;
        }
        {
            EventLoop loop;
            auto stack = SipStack::create(loop, opts);
            if (!stack) {
                started.set_value(tl::unexpected(stack.error()));
            } else {
                self->loop_ = &loop;
                self->stack_ = stack->get();
                self->local_ = (*stack)->local_endpoint();
                self->share_->leg_address = to_sa(self->local_);
                self->share_->leg_host_port = port_share::host_port(self->local_);
                bool reported = false;
                auto report = [&](Result<void> outcome) {
                    if (reported) return;
                    reported = true;
                    if (!outcome) loop.stop();
                    started.set_value(std::move(outcome));
                };
                // The probe is swallowed; then requests outside a dialog belong to the main SIP
                // port: 405/481.
                (*stack)->set_request_handler([](const SipMessage&) { return true; });
                (*stack)->on_udp_socket([&, self](::udp_sock* socket) {
                    udp_rxsz_set(socket, kLegReceiveSize);
                    if (int err = udp_register_helper(&self->share_->leg_helper, socket, 0,
                                                      &LegPortCallbacks::leg_send,
                                                      &LegPortCallbacks::leg_receive, self);
                        err != 0) {
                        return report(fail(Errc::internal,
                                           std::string("leg socket helper: ") + strerror(err)));
                    }
                    // After the probe's own dispatch (which this runs inside of).
                    loop.post([self] {
                        self->stack_->set_request_handler([](const SipMessage&) { return false; });
                    });
                    if (trace) self->stack_->set_trace_handler(wire_trace(self, trace));
                    report({});
                });
                Timer give_up;
                give_up.start(kProbeTimeout, [&] {
                    report(fail(Errc::io, "the SIP leg stack did not receive its own probe"));
                });
                if (auto sent = send_probe(self->local_); !sent) report(std::move(sent));
                loop.run();
                // The dialogs deleted by posts queued before the stop are gone; drop the stack
                // before the loop.
                self->stack_ = nullptr;
                stack->reset();
            }
        }
        re_thread_close();
    });
    auto outcome = result.get();
    if (!outcome) {
        legs->thread_.join();
        return tl::unexpected(outcome.error());
    }
    return legs;
}

SipStack::TraceHandler LegThread::wire_trace(LegThread* self, SipStack::TraceHandler trace) {
    // What the wire shows once shared: the main port as the leg's address, its requests as
    // rewritten.
    return [self, trace = std::move(trace)](bool tx, Transport transport, const Endpoint& src,
                                            const Endpoint& dst, std::string_view data) {
        if (transport != Transport::udp || !self->port_shared()) {
            return trace(tx, transport, src, dst, data);
        }
        const auto& share = *self->share_;
        if (!tx) return trace(tx, transport, src, share.main, data);
        const auto rewritten =
            port_share::to_main_port(data, share.leg_host_port, share.main_host_port);
        trace(tx, transport, share.main, dst, rewritten ? std::string_view(*rewritten) : data);
    };
}

void LegThread::share_port(SipStack& main) {
    main.on_udp_socket([this, &main](::udp_sock* socket) {
        if (main_fd_.load() >= 0) return;
        const auto local = main.local_endpoint();
        share_->main = local;
        share_->main_address = to_sa(local);
        share_->main_host_port = port_share::host_port(local);
        const int fd = udp_sock_fd(socket, sa_af(&share_->main_address));
        if (fd < 0) {
            spdlog::error(
                "SIP leg thread: the main UDP socket has no descriptor; callee legs "
                "stay on the main stack");
            return;
        }
        if (int err = udp_register_helper(&share_->main_helper, socket, 0, nullptr,
                                          &LegPortCallbacks::main_receive, this);
            err != 0) {
            spdlog::error(
                "SIP leg thread: cannot watch the main UDP socket ({}); callee legs "
                "stay on the main stack",
                strerror(err));
            return;
        }
        main_fd_.store(fd, std::memory_order_release);
        spdlog::debug("SIP leg thread {} speaks through the main port {}", local_.to_string(),
                      local.to_string());
    });
}

LegThread::~LegThread() {
    if (!thread_.joinable()) return;
    if (loop_) loop_->stop();
    thread_.join();
    // The main socket's helper points here; the main SipStack still lives (see the header).
    if (share_ && share_->main_helper) mem_deref(share_->main_helper);
}

// Shared by the home thread and the leg thread. `closed` and `handler` are used on the home
// thread only, `dialog` on the leg thread only.
struct OutgoingDialog::Remote {
    EventLoop* home = nullptr;
    Handler handler;
    bool closed = false;
    std::unique_ptr<InviteDialog> dialog;
};

Result<std::unique_ptr<OutgoingDialog>> OutgoingDialog::connect(SipStack& stack,
                                                                const OutgoingInvite& out,
                                                                Handler handler) {
    auto dialog = InviteDialog::connect(stack, out, std::move(handler));
    if (!dialog) return tl::unexpected(dialog.error());
    std::unique_ptr<OutgoingDialog> outgoing(new OutgoingDialog());
    outgoing->local_ = std::move(*dialog);
    return outgoing;
}

std::unique_ptr<OutgoingDialog> OutgoingDialog::connect(LegThread& legs, EventLoop& home,
                                                        const OutgoingInvite& out,
                                                        Handler handler) {
    std::unique_ptr<OutgoingDialog> outgoing(new OutgoingDialog());
    outgoing->legs_ = &legs;
    auto remote = std::make_shared<Remote>();
    remote->home = &home;
    remote->handler = std::move(handler);
    outgoing->remote_ = remote;

    // Hands an event to the home thread; the message travels as bytes (SipMessage::Wire).
    auto deliver = [](const std::shared_ptr<Remote>& to, DialogEvent event,
                      std::optional<SipMessage::Wire> wire) {
        to->home->post([to, event, wire = std::move(wire)] {
            if (to->closed) return;
            if (!wire) return to->handler(event, nullptr);
            auto msg = SipMessage::from_wire(*wire);
            if (!msg) {
                spdlog::error("leg thread message lost: {}", msg.error().reason);
                return to->handler(event, nullptr);
            }
            to->handler(event, &*msg);
        });
    };
    legs.loop().post([&legs, remote, out, deliver] {
        auto dialog = InviteDialog::connect(legs.stack(), out,
                                            [weak = std::weak_ptr<Remote>(remote), deliver](
                                                DialogEvent event, const SipMessage* msg) {
                                                auto alive = weak.lock();
                                                if (!alive) return;
                                                std::optional<SipMessage::Wire> wire;
                                                if (msg) wire = msg->to_wire();
                                                deliver(alive, event, std::move(wire));
                                            });
        if (!dialog) {
            spdlog::warn("INVITE to {} not sent: {}", out.request_uri, dialog.error().reason);
            return deliver(remote, DialogEvent::failed, std::nullopt);
        }
        remote->dialog = std::move(*dialog);
    });
    return outgoing;
}

OutgoingDialog::~OutgoingDialog() {
    if (!remote_) return;
    remote_->closed = true;
    // The InviteDialog is the leg thread's: it goes there.
    legs_->loop().post([remote = std::move(remote_)] { remote->dialog.reset(); });
}

void OutgoingDialog::hangup(const std::string& headers) {
    if (local_) return local_->hangup(headers);
    legs_->loop().post([remote = remote_, headers] {
        if (remote->dialog) remote->dialog->hangup(headers);
    });
}

}  // namespace mcx::net
