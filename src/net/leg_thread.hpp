#pragma once
// Outgoing INVITE dialogs on a SIP stack of their own, on a thread of its own.
//
// libre keeps one sorted timer list per thread and inserts from its tail, so a short timer
// walks past every longer one. A B2BUA's server transactions hold 64*T1 timers (ACCEPTED INVITE,
// Timer J) while its client transactions start T1 timers (Timer A/E): on one thread every call
// walks the whole list twice. A LegThread has its own libre context (re_thread_init: its own
// timer list and poll set), so the client transactions of the legs it carries walk only their
// own short list. See docs/BENCHMARKS.md (issue 10).
//
// Its UDP traffic goes through the main SIP port once share_port() ran (net/leg_port_share.hpp):
// a callee is sent requests from the address it registered to, and its answers come back there.

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include "common/error.hpp"
#include "net/endpoint.hpp"
#include "net/event_loop.hpp"
#include "net/invite_dialog.hpp"
#include "net/sip_stack.hpp"

namespace mcx::net {

class LegThread {
  public:
    // Starts the thread and its SipStack (UDP and TCP at opts.host, a port of its own).
    // `trace` sees every message of that stack, on the leg thread, as it is on the wire (from
    // and to the main port once shared).
    static Result<std::unique_ptr<LegThread>> start(const SipStackOptions& opts,
                                                    SipStack::TraceHandler trace = {});
    // Stops the thread; dialogs still on it are dropped without BYE. On the home thread, before
    // the SipStack passed to share_port() goes.
    ~LegThread();
    LegThread(const LegThread&) = delete;
    LegThread& operator=(const LegThread&) = delete;

    // From now on (on `main`'s thread, the home thread) the leg stack's UDP traffic leaves
    // from and arrives at `main`'s UDP socket, as soon as that socket is known (its first UDP
    // message: a callee on UDP registered over it first). Once only.
    void share_port(SipStack& main);
    // Whether UDP traffic goes through the main port: until then, callee legs on UDP belong on
    // the main stack. Thread-safe.
    bool port_shared() const { return main_fd_.load(std::memory_order_acquire) >= 0; }

    // The leg stack's own address (its UDP socket takes datagrams only from the main port once
    // shared).
    Endpoint local_endpoint() const { return local_; }
    EventLoop& loop() { return *loop_; }
    SipStack& stack() { return *stack_; }  // only on the leg thread

  private:
    LegThread() = default;
    friend struct LegPortCallbacks;
    static SipStack::TraceHandler wire_trace(LegThread* self, SipStack::TraceHandler trace);
    std::thread thread_;
    EventLoop* loop_ = nullptr;
    SipStack* stack_ = nullptr;
    Endpoint local_;
    // The addresses and socket helpers of the shared port (leg_thread.cpp). Its main-side
    // fields are written once on the home thread before main_fd_ (release) and read on the leg
    // thread after it (acquire).
    struct Share;
    std::unique_ptr<Share> share_;
    std::atomic<int> main_fd_{-1};
};

// The caller's side of an INVITE dialog, on this thread's SipStack or on a LegThread. Events
// reach the handler on the thread that created the OutgoingDialog.
class OutgoingDialog {
  public:
    using Handler = InviteDialog::Handler;

    static Result<std::unique_ptr<OutgoingDialog>> connect(SipStack& stack,
                                                           const OutgoingInvite& out,
                                                           Handler handler);
    // The dialog runs on `legs`; a failure to send arrives as DialogEvent::failed.
    static std::unique_ptr<OutgoingDialog> connect(LegThread& legs, EventLoop& home,
                                                   const OutgoingInvite& out, Handler handler);
    ~OutgoingDialog();
    OutgoingDialog(const OutgoingDialog&) = delete;
    OutgoingDialog& operator=(const OutgoingDialog&) = delete;

    // CANCEL before a final response, BYE once answered (with `headers`, e.g. a Reason). No
    // event follows.
    void hangup(const std::string& headers = {});

  private:
    OutgoingDialog() = default;
    struct Remote;
    std::unique_ptr<InviteDialog> local_;
    std::shared_ptr<Remote> remote_;
    LegThread* legs_ = nullptr;
};

}  // namespace mcx::net
