#pragma once
// One INVITE dialog usage (RFC 3261 12-14), as caller (UAC) or callee (UAS), on libre's
// transaction and dialog layers. Unlike libre's sipsess it lets us write the Contact header
// parameters the MCPTT feature tags need (TS 24.379 11.1.1.2.1.1: +g.3gpp.mcptt,
// +g.3gpp.icsi-ref) and sends the 2xx retransmissions and ACK itself (RFC 3261 13.3.1.4, 13.2.2.4).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "net/endpoint.hpp"
#include "net/sip_message.hpp"
#include "net/sip_stack.hpp"
#include "net/timer.hpp"

struct sip_dialog;
struct sip_request;
struct sip_strans;
struct mbuf;

namespace mcx::net {

enum class DialogEvent {
    provisional,  // UAC: 1xx received
    answered,     // UAC: 2xx received, ACK sent
    failed,       // UAC: final non-2xx, or no answer / transport error (message may be absent)
    confirmed,    // UAS: ACK for our 2xx received
    cancelled,    // UAS: CANCEL received, 487 sent
    bye,          // either: BYE received and answered
    ack_timeout,  // UAS: no ACK for our 2xx within 64*T1; BYE sent
};

const char* to_string(DialogEvent event);

struct OutgoingInvite {
    std::string request_uri;
    std::string from_uri;
    std::string to_uri;
    std::optional<Endpoint> next_hop;  // outbound proxy; else the Request-URI's host
    Transport transport = Transport::udp;
    std::string contact_user;
    std::string contact_params;  // appended after <uri>, e.g. ";+g.3gpp.mcptt"
    std::string headers;         // complete header lines
    std::string content_type;
    std::string body;
};

class InviteDialog {
  public:
    // The handler may destroy the dialog only through EventLoop::defer_delete.
    using Handler = std::function<void(DialogEvent, const SipMessage*)>;
    enum class Role { uac, uas };
    enum class State { calling, early, answered, confirmed, terminated };

    static Result<std::unique_ptr<InviteDialog>> connect(SipStack& stack, const OutgoingInvite& out,
                                                         Handler handler);
    // Takes over a received INVITE (no response sent yet); sends 100 Trying.
    static Result<std::unique_ptr<InviteDialog>> accept(SipStack& stack, const SipMessage& invite,
                                                        std::string contact_user,
                                                        std::string contact_params,
                                                        Handler handler);
    ~InviteDialog();
    InviteDialog(const InviteDialog&) = delete;
    InviteDialog& operator=(const InviteDialog&) = delete;

    // UAS responses. `headers` are complete header lines; Contact is added by the dialog.
    Result<void> progress(std::uint16_t status, const std::string& reason,
                          const std::string& headers = {}, const std::string& content_type = {},
                          const std::string& body = {});
    Result<void> answer(const std::string& headers, const std::string& content_type,
                        const std::string& body);
    Result<void> reject(std::uint16_t status, const std::string& reason,
                        const std::string& headers = {});

    // Ends the dialog: CANCEL before a final response (UAC), BYE once answered, or 480 to an
    // unanswered incoming INVITE (UAS). No event follows. `headers` (complete lines, e.g. a
    // Reason, RFC 3326) go into the BYE. `on_done` runs on the loop in a later turn with the
    // status of the BYE's final response (0: none, or no BYE was needed); it may outlive the
    // dialog.
    using HangupDone = std::function<void(std::uint16_t status)>;
    void hangup(const std::string& headers = {}, HangupDone on_done = {});

    Role role() const { return role_; }
    State state() const { return state_; }
    const std::string& call_id() const { return call_id_; }
    const SipMessage& invite() const { return invite_; }  // UAS: the received INVITE
    bool matches(const SipMessage& msg) const;

    // From SipStack.
    void on_request(const SipMessage& msg);
    void on_stray_response(const SipMessage& msg);

  private:
    InviteDialog(SipStack& stack, Role role, Handler handler);
    friend struct InviteDialogCallbacks;
    void on_invite_response(int err, const SipMessage* msg);
    void on_cancel();
    void send_ack(const SipMessage& response);
    void send_bye(const std::string& headers = {}, HangupDone on_done = {});
    void retransmit_2xx();
    std::string response_rest(const std::string& headers, const std::string& content_type,
                              const std::string& body) const;

    SipStack& stack_;
    Role role_;
    Handler handler_;
    State state_ = State::calling;
    std::string call_id_;
    std::string contact_user_;
    std::string contact_params_;
    sip_dialog* dialog_ = nullptr;
    sip_request* invite_request_ = nullptr;     // UAC, until the final response
    sip_strans* server_transaction_ = nullptr;  // UAS, until the final response
    SipMessage invite_;
    std::uint32_t invite_cseq_ = 0;
    // UAC: the ACK we sent, re-sent on retransmitted 2xx.
    struct SentAck;
    std::unique_ptr<SentAck> ack_;
    // UAS: our 2xx, retransmitted until the ACK arrives.
    mbuf* final_2xx_ = nullptr;
    Timer retransmit_timer_;
    Timer ack_wait_timer_;
    std::uint32_t retransmissions_ = 0;
};

}  // namespace mcx::net
