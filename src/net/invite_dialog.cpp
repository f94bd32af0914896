#include "net/invite_dialog.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "net/event_loop.hpp"
#include "net/re_include.hpp"

namespace mcx::net {

namespace {

constexpr std::uint64_t kT1Ms = 500;   // RFC 3261 T1
constexpr std::uint64_t kT2Ms = 4000;  // RFC 3261 T2

std::string transport_param(enum sip_transp tp) {
    return uri_transport_param(from_libre(tp));
}

void ignore_response(int, const sip_msg*, void*) {}

}  // namespace

const char* to_string(DialogEvent event) {
    switch (event) {
        case DialogEvent::provisional:
            return "provisional";
        case DialogEvent::answered:
            return "answered";
        case DialogEvent::failed:
            return "failed";
        case DialogEvent::confirmed:
            return "confirmed";
        case DialogEvent::cancelled:
            return "cancelled";
        case DialogEvent::bye:
            return "bye";
        case DialogEvent::ack_timeout:
            return "ack_timeout";
    }
    return "unknown";
}

struct InviteDialog::SentAck {
    mbuf* message = nullptr;
    sa destination{};
    enum sip_transp transport = SIP_TRANSP_UDP;
    ~SentAck() { mem_deref(message); }
};

struct InviteDialogCallbacks {
    static int send_invite(enum sip_transp tp, const sa* src, const sa* dst, mbuf* mb, void* arg) {
        auto* self = static_cast<InviteDialog*>(arg);
        if (tp == SIP_TRANSP_TCP || tp == SIP_TRANSP_TLS) {
            if (auto local = self->stack_.flow_local_address(to_endpoint(dst))) {
                return mbuf_printf(mb, "Contact: <sip:%s@%s:%u%s>%s\r\n",
                                   self->contact_user_.c_str(), local->host.c_str(),
                                   static_cast<unsigned>(local->port), transport_param(tp).c_str(),
                                   self->contact_params_.c_str());
            }
        }
        return mbuf_printf(mb, "Contact: <sip:%s@%J%s>%s\r\n", self->contact_user_.c_str(), src,
                           transport_param(tp).c_str(), self->contact_params_.c_str());
    }
    static void invite_response(int err, const sip_msg* msg, void* arg) {
        set_no_delay(msg);
        auto* self = static_cast<InviteDialog*>(arg);
        if (msg) {
            SipMessage response(msg);
            self->on_invite_response(err, &response);
        } else {
            self->on_invite_response(err, nullptr);
        }
    }
    static int capture_ack(enum sip_transp tp, const sa*, const sa* dst, mbuf* mb, void* arg) {
        auto* ack = static_cast<InviteDialog::SentAck*>(arg);
        mem_deref(ack->message);
        ack->message = static_cast<mbuf*>(mem_ref(mb));
        ack->destination = *dst;
        ack->transport = tp;
        return 0;
    }
    static void cancelled(void* arg) { static_cast<InviteDialog*>(arg)->on_cancel(); }
};

InviteDialog::InviteDialog(SipStack& stack, Role role, Handler handler)
    : stack_(stack), role_(role), handler_(std::move(handler)) {}

Result<std::unique_ptr<InviteDialog>> InviteDialog::connect(SipStack& stack,
                                                            const OutgoingInvite& out,
                                                            Handler handler) {
    std::unique_ptr<InviteDialog> self(new InviteDialog(stack, Role::uac, std::move(handler)));
    self->contact_user_ = out.contact_user;
    self->contact_params_ = out.contact_params;
    std::string route;
    const char* routev[1] = {nullptr};
    uint32_t routec = 0;
    if (out.next_hop) {
        route = "sip:" + out.next_hop->host + ":" + std::to_string(out.next_hop->port) +
                uri_transport_param(out.transport);
        routev[0] = route.c_str();
        routec = 1;
    }
    if (int err = sip_dialog_alloc(&self->dialog_, out.request_uri.c_str(), out.to_uri.c_str(),
                                   nullptr, out.from_uri.c_str(), routev, routec);
        err != 0) {
        return fail(Errc::invalid_argument,
                    "cannot create SIP dialog for " + out.request_uri + ": " + strerror(err));
    }
    self->call_id_ = sip_dialog_callid(self->dialog_);
    std::string rest = out.headers;
    if (!out.body.empty()) rest += "Content-Type: " + out.content_type + "\r\n";
    rest += "Content-Length: " + std::to_string(out.body.size()) + "\r\n\r\n" + out.body;
    if (int err =
            sip_drequestf(&self->invite_request_, stack.raw(), true, "INVITE", self->dialog_, 0,
                          nullptr, &InviteDialogCallbacks::send_invite,
                          &InviteDialogCallbacks::invite_response, self.get(), "%s", rest.c_str());
        err != 0) {
        return fail(Errc::io, "cannot send INVITE to " + out.request_uri + ": " + strerror(err));
    }
    self->invite_cseq_ = sip_dialog_lseq(self->dialog_);
    stack.attach(self.get());
    return self;
}

Result<std::unique_ptr<InviteDialog>> InviteDialog::accept(SipStack& stack,
                                                           const SipMessage& invite,
                                                           std::string contact_user,
                                                           std::string contact_params,
                                                           Handler handler) {
    std::unique_ptr<InviteDialog> self(new InviteDialog(stack, Role::uas, std::move(handler)));
    self->contact_user_ = std::move(contact_user);
    self->contact_params_ = std::move(contact_params);
    self->invite_ = invite;
    self->invite_cseq_ = invite.cseq();
    self->call_id_ = std::string(invite.call_id());
    if (int err = sip_dialog_accept(&self->dialog_, invite.raw()); err != 0) {
        return fail(Errc::malformed, "INVITE cannot start a dialog: " + std::string(strerror(err)));
    }
    if (int err = sip_strans_alloc(&self->server_transaction_, stack.raw(), invite.raw(),
                                   &InviteDialogCallbacks::cancelled, self.get());
        err != 0) {
        return fail(Errc::io, "cannot create server transaction");
    }
    self->state_ = State::early;
    stack.attach(self.get());
    // RFC 3261 17.2.1: stop the caller's INVITE retransmissions while we work.
    (void)sip_treply(&self->server_transaction_, stack.raw(), invite.raw(), 100, "Trying");
    return self;
}

InviteDialog::~InviteDialog() {
    stack_.detach(this);
    if (server_transaction_) {
        (void)sip_treply(&server_transaction_, stack_.raw(), invite_.raw(), 500,
                         "Server Internal Error");
    }
    mem_deref(invite_request_);  // cancels a pending INVITE (libre sends CANCEL)
    mem_deref(server_transaction_);
    mem_deref(final_2xx_);
    mem_deref(dialog_);
}

bool InviteDialog::matches(const SipMessage& msg) const {
    return dialog_ && sip_dialog_cmp(dialog_, msg.raw());
}

std::string InviteDialog::response_rest(const std::string& headers, const std::string& content_type,
                                        const std::string& body) const {
    std::string rest = SipStack::contact_header(invite_, contact_user_, contact_params_);
    rest += headers;
    if (!body.empty()) rest += "Content-Type: " + content_type + "\r\n";
    rest += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return rest;
}

Result<void> InviteDialog::progress(std::uint16_t status, const std::string& reason,
                                    const std::string& headers, const std::string& content_type,
                                    const std::string& body) {
    if (role_ != Role::uas || !server_transaction_ || status < 101 || status > 199) {
        return fail(Errc::invalid_argument, "provisional response not possible in this state");
    }
    const auto rest = response_rest(headers, content_type, body);
    if (int err = sip_treplyf(&server_transaction_, nullptr, stack_.raw(), invite_.raw(), true,
                              status, reason.c_str(), "%s", rest.c_str());
        err != 0) {
        return fail(Errc::io, "cannot send provisional response");
    }
    return {};
}

Result<void> InviteDialog::answer(const std::string& headers, const std::string& content_type,
                                  const std::string& body) {
    if (role_ != Role::uas || !server_transaction_) {
        return fail(Errc::invalid_argument, "answer not possible in this state");
    }
    const auto rest = response_rest(headers, content_type, body);
    if (int err = sip_treplyf(&server_transaction_, &final_2xx_, stack_.raw(), invite_.raw(), true,
                              200, "OK", "%s", rest.c_str());
        err != 0) {
        return fail(Errc::io, "cannot send 200 OK");
    }
    server_transaction_ = nullptr;  // libre owns it after a final response
    state_ = State::answered;
    retransmissions_ = 0;
    if (invite_.transport() == Transport::udp) {
        retransmit_timer_.start(std::chrono::milliseconds(kT1Ms), [this] { retransmit_2xx(); });
    }
    ack_wait_timer_.start(std::chrono::milliseconds(64 * kT1Ms), [this] {
        retransmit_timer_.cancel();
        spdlog::warn("call {}: no ACK for 200 OK, ending the dialog", call_id_);
        send_bye();
        handler_(DialogEvent::ack_timeout, nullptr);
    });
    return {};
}

void InviteDialog::retransmit_2xx() {
    const auto* msg = invite_.raw();
    final_2xx_->pos = 0;
    (void)sip_send(stack_.raw(), msg->sock, msg->tp, &msg->src, final_2xx_);
    ++retransmissions_;
    const auto next = std::min<std::uint64_t>(kT1Ms << retransmissions_, kT2Ms);
    retransmit_timer_.start(std::chrono::milliseconds(next), [this] { retransmit_2xx(); });
}

Result<void> InviteDialog::reject(std::uint16_t status, const std::string& reason,
                                  const std::string& headers) {
    if (role_ != Role::uas || !server_transaction_ || status < 300) {
        return fail(Errc::invalid_argument, "reject not possible in this state");
    }
    const std::string rest = headers + "Content-Length: 0\r\n\r\n";
    const int err = sip_treplyf(&server_transaction_, nullptr, stack_.raw(), invite_.raw(), false,
                                status, reason.c_str(), "%s", rest.c_str());
    server_transaction_ = nullptr;
    state_ = State::terminated;
    if (err != 0) return fail(Errc::io, "cannot send rejection");
    return {};
}

void InviteDialog::hangup(const std::string& headers, HangupDone on_done) {
    switch (state_) {
        case State::calling:
        case State::early:
            if (role_ == Role::uac) {
                if (invite_request_) sip_request_cancel(invite_request_);
            } else {
                (void)reject(480, "Temporarily Unavailable", headers);
            }
            break;
        case State::answered:
        case State::confirmed:
            send_bye(headers, std::exchange(on_done, nullptr));  // on_done runs with its answer
            break;
        case State::terminated:
            break;
    }
    if (on_done) stack_.loop().post([on_done = std::move(on_done)] { on_done(0); });
    retransmit_timer_.cancel();
    ack_wait_timer_.cancel();
    state_ = State::terminated;
}

namespace {

// Owns the completion of one BYE: libre keeps the transaction alive until the final response
// and calls this once with it (or with an error), also after the dialog is gone.
void bye_response(int err, const sip_msg* msg, void* arg) {
    if (msg && msg->scode < 200) return;
    std::unique_ptr<InviteDialog::HangupDone> done(static_cast<InviteDialog::HangupDone*>(arg));
    (*done)(err == 0 && msg ? msg->scode : 0);
}

}  // namespace

void InviteDialog::send_bye(const std::string& headers, HangupDone on_done) {
    if (state_ == State::terminated) return;
    state_ = State::terminated;
    if (on_done) {
        auto* done = new HangupDone(std::move(on_done));
        if (sip_drequestf(nullptr, stack_.raw(), true, "BYE", dialog_, 0, nullptr, nullptr,
                          &bye_response, done, "%sContent-Length: 0\r\n\r\n",
                          headers.c_str()) != 0) {
            std::unique_ptr<HangupDone> owned(done);
            stack_.loop().post(
                [owned = std::shared_ptr<HangupDone>(std::move(owned))] { (*owned)(0); });
        }
        return;
    }
    // Fire and forget: libre keeps the transaction alive until the final response.
    (void)sip_drequestf(nullptr, stack_.raw(), true, "BYE", dialog_, 0, nullptr, nullptr,
                        &ignore_response, nullptr, "%sContent-Length: 0\r\n\r\n", headers.c_str());
}

void InviteDialog::send_ack(const SipMessage& response) {
    ack_ = std::make_unique<SentAck>();
    (void)sip_drequestf(nullptr, stack_.raw(), false, "ACK", dialog_, response.cseq(), nullptr,
                        &InviteDialogCallbacks::capture_ack, nullptr, ack_.get(),
                        "Content-Length: 0\r\n\r\n");
}

void InviteDialog::on_invite_response(int err, const SipMessage* msg) {
    if (state_ == State::terminated) {
        // We cancelled, but the callee answered first: acknowledge and end that dialog
        // (RFC 3261 15: the 2xx must be ACKed, then the session is ended with BYE).
        if (err == 0 && msg && msg->status() >= 200 && msg->status() < 300) {
            (void)sip_dialog_create(dialog_, msg->raw());
            send_ack(*msg);
            (void)sip_drequestf(nullptr, stack_.raw(), true, "BYE", dialog_, 0, nullptr, nullptr,
                                &ignore_response, nullptr, "Content-Length: 0\r\n\r\n");
        }
        return;
    }
    if (err != 0 || !msg) {
        state_ = State::terminated;
        handler_(DialogEvent::failed, nullptr);
        return;
    }
    const auto status = msg->status();
    if (status < 200) {
        if (status == 100) return;  // hop-by-hop, says nothing about the callee
        state_ = State::early;
        handler_(DialogEvent::provisional, msg);
        return;
    }
    if (status < 300) {
        if (int e = sip_dialog_create(dialog_, msg->raw()); e != 0) {
            spdlog::warn("call {}: 2xx cannot create the dialog: {}", call_id_, strerror(e));
        }
        send_ack(*msg);
        state_ = State::confirmed;
        handler_(DialogEvent::answered, msg);
        return;
    }
    state_ = State::terminated;
    handler_(DialogEvent::failed, msg);
}

void InviteDialog::on_cancel() {
    (void)sip_treply(&server_transaction_, stack_.raw(), invite_.raw(), 487, "Request Terminated");
    server_transaction_ = nullptr;
    state_ = State::terminated;
    handler_(DialogEvent::cancelled, nullptr);
}

void InviteDialog::on_stray_response(const SipMessage& msg) {
    if (role_ == Role::uac && ack_ && ack_->message && msg.status() >= 200 && msg.status() < 300 &&
        msg.method() == "INVITE") {
        ack_->message->pos = 0;
        (void)sip_send(stack_.raw(), nullptr, ack_->transport, &ack_->destination, ack_->message);
    }
}

void InviteDialog::on_request(const SipMessage& msg) {
    const auto method = msg.method();
    if (method == "ACK") {
        if (role_ == Role::uas && state_ == State::answered && msg.cseq() == invite_cseq_) {
            retransmit_timer_.cancel();
            ack_wait_timer_.cancel();
            state_ = State::confirmed;
            handler_(DialogEvent::confirmed, &msg);
        }
        return;
    }
    if (method == "BYE") {
        (void)stack_.reply(msg, SipResponse{200, "OK", {}, {}, {}});
        if (state_ == State::terminated) return;
        if (server_transaction_) {
            (void)sip_treply(&server_transaction_, stack_.raw(), invite_.raw(), 487,
                             "Request Terminated");
            server_transaction_ = nullptr;
        }
        retransmit_timer_.cancel();
        ack_wait_timer_.cancel();
        state_ = State::terminated;
        handler_(DialogEvent::bye, &msg);
        return;
    }
    if (method == "INVITE") {
        // Re-INVITE (session modification) is not used by MCPTT private calls here.
        (void)stack_.reply(msg, SipResponse{488,
                                            "Not Acceptable Here",
                                            "Warning: 399 mcx \"re-INVITE not supported\"\r\n",
                                            {},
                                            {}});
        return;
    }
    (void)stack_.reply(msg, SipResponse{501, "Not Implemented", {}, {}, {}});
}

}  // namespace mcx::net
