#include "net/leg_thread.hpp"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <csignal>
#include <future>

#include "net/re_include.hpp"

namespace mcx::net {

Result<std::unique_ptr<LegThread>> LegThread::start(const SipStackOptions& opts,
                                                    SipStack::TraceHandler trace) {
    std::unique_ptr<LegThread> legs(new LegThread());
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
                if (trace) (*stack)->set_trace_handler(trace);
                // Requests outside a dialog belong to the main SIP port: 405/481.
                (*stack)->set_request_handler([](const SipMessage&) { return false; });
                self->loop_ = &loop;
                self->stack_ = stack->get();
                self->local_ = (*stack)->local_endpoint();
                started.set_value({});
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

LegThread::~LegThread() {
    if (!thread_.joinable()) return;
    if (loop_) loop_->stop();
    thread_.join();
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
