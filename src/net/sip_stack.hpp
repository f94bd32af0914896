#pragma once
// SIP transport, transactions and message dispatch (libre's sip module), listening on UDP and
// TCP at the same address. Requests that belong to an INVITE dialog go to that dialog; other
// requests go to the request handler.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "common/sip_stream_limits.hpp"
#include "net/endpoint.hpp"
#include "net/sip_message.hpp"
#include "net/sip_stream_guard.hpp"

struct sip;
struct sip_lsnr;
struct tls;
struct udp_sock;

namespace mcx::net {

class EventLoop;
class InviteDialog;

// SIP over TLS with mutual authentication (RFC 3261 26.2.1, RFC 5246): both ends present a
// certificate and both verify the other's against `ca_file`.
struct TlsOptions {
    std::uint16_t port = 0;        // 0: pick a free port
    std::string certificate_file;  // PEM: this system's certificate chain and private key
    std::string ca_file;           // PEM: the certificate authorities trusted for peers
};

// SIP over TLS for users' clients (docs/security.md): the server presents its certificate,
// clients present none (they authenticate with their access token in REGISTER).
struct AccessTlsOptions {
    std::uint16_t port = 0;        // 0: pick a free port
    std::string certificate_file;  // PEM: this system's certificate chain and private key
};

// The client's side of SIP over TLS: servers must present a certificate chaining to `ca_file`
// that names one of `server_names` (IP literals or DNS names, RFC 6125; empty: any name).
struct TlsTrust {
    std::string ca_file;
    std::vector<std::string> server_names;
};

struct SipStackOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0: pick a free port (the same number for UDP and TCP)
    std::string user_agent = "mcx";
    std::optional<TlsOptions> tls;               // an extra TLS listener (the interconnect)
    std::optional<AccessTlsOptions> access_tls;  // a TLS listener for users' clients
    std::optional<TlsTrust> client_tls;          // outgoing TLS only (a client's stack)
    // What one peer may hold of the TCP and TLS listeners (net::SipStreamGuard).
    SipStreamLimits stream_limits;
};

// A response to send. `headers` holds complete header lines ("Name: value\r\n").
struct SipResponse {
    std::uint16_t status = 200;
    std::string reason = "OK";
    std::string headers;
    std::string content_type;
    std::string body;
};

class SipStack {
  public:
    // A request outside any dialog. Return false to have the stack answer 405/481.
    using RequestHandler = std::function<bool(const SipMessage&)>;
    // Every message sent (tx=true) or received, with its transport addresses.
    using TraceHandler = std::function<void(bool tx, Transport, const Endpoint& src,
                                            const Endpoint& dst, std::string_view data)>;

    static Result<std::unique_ptr<SipStack>> create(EventLoop& loop, const SipStackOptions& opts);
    ~SipStack();
    SipStack(const SipStack&) = delete;
    SipStack& operator=(const SipStack&) = delete;

    Endpoint local_endpoint() const { return local_; }
    // The TLS listener, when one was asked for.
    std::optional<Endpoint> tls_endpoint() const { return tls_local_; }
    // The TLS listener for clients, when one was asked for.
    std::optional<Endpoint> access_tls_endpoint() const { return access_tls_local_; }
    // A message that came over TLS, but not on the clients' TLS listener: from a partner MC
    // system over the mutually authenticated interconnect.
    bool from_interconnect(const SipMessage& msg) const;

    // The flow `msg` arrived on, watched from now on: `on_flow_closed` is told when the
    // connection closes. 0 for UDP.
    FlowId watch_flow(const SipMessage& msg);
    // The flow of `msg` if it is watched (0 for UDP or an unwatched connection).
    FlowId flow_of(const SipMessage& msg) const;
    // Our local address on the TCP/TLS connection to `peer` (not an interconnect one) that a
    // message last arrived on: the Contact of requests sent over it, so the peer's in-dialog
    // requests come back on the same connection (RFC 5626 5.1 style; clients listen on no
    // port a server could reach through NAT, and have no TLS certificate).
    std::optional<Endpoint> flow_local_address(const Endpoint& peer) const;
    void note_flow(Transport transport, const Endpoint& peer, const Endpoint& local);
    void set_flow_closed_handler(std::function<void(FlowId)> handler) {
        flow_closed_ = std::move(handler);
    }
    EventLoop& loop() { return loop_; }
    const std::string& user_agent() const { return user_agent_; }

    void set_request_handler(RequestHandler handler) { request_handler_ = std::move(handler); }
    void set_trace_handler(TraceHandler handler) { trace_handler_ = std::move(handler); }
    // Messages from or to `peer` are not traced (the server's own QueueProbe).
    void skip_trace_of(const Endpoint& peer) { untraced_ = peer; }

    // Stateful reply to a request (absorbs retransmissions and, for INVITE, the ACK).
    Result<void> reply(const SipMessage& request, const SipResponse& response);

    // Stateless reply (RFC 3261 8.2.6, no server transaction): a retransmission is judged
    // afresh. For the cheap refusals of overload control.
    Result<void> reply_stateless(const SipMessage& request, std::uint16_t status,
                                 const std::string& reason, const std::string& headers);

    // "Contact: <sip:user@local-address;transport=..>;params\r\n" for a message we received.
    static std::string contact_header(const SipMessage& received, std::string_view user,
                                      std::string_view params);

    // What the TCP and TLS listeners refused or closed on their own, by reason, and how many
    // connections they hold now (net::SipStreamGuard).
    const SipStreamRefusalCounts& stream_refusals() const { return stream_guard_.refusals(); }
    std::size_t stream_connections() const { return stream_guard_.connections(); }

    struct sip* raw() const {
        return sip_;
    }
    // The stack's UDP socket, handed to `handler` (on this stack's thread) as soon as it is
    // known: libre names it only in the messages received on it, so that is with the first
    // UDP message (at once when one came already). For helpers on the socket (LegThread).
    void on_udp_socket(std::function<void(::udp_sock*)> handler);

    // Dialog registry, used by InviteDialog.
    void attach(InviteDialog* dialog);
    void detach(InviteDialog* dialog);

  private:
    SipStack(EventLoop& loop, std::string user_agent, const SipStreamLimits& stream_limits);
    friend struct SipStackCallbacks;
    Result<void> add_tls(const std::string& host, const TlsOptions& opts);
    Result<void> add_access_tls(const std::string& host, const AccessTlsOptions& opts);
    Result<void> add_client_tls(const std::string& host, const TlsTrust& trust);
    bool dispatch_request(const SipMessage& msg);
    bool refuse_malformed(const SipMessage& msg);
    std::uint64_t malformed_requests_ = 0;
    bool dispatch_response(const SipMessage& msg);
    InviteDialog* find_dialog(const SipMessage& msg) const;

    EventLoop& loop_;
    std::string user_agent_;
    struct sip* sip_ = nullptr;
    ::sip_lsnr* request_listener_ = nullptr;
    ::sip_lsnr* response_listener_ = nullptr;
    Endpoint local_;
    std::optional<Endpoint> tls_local_;
    struct ::tls* tls_ = nullptr;
    std::optional<Endpoint> access_tls_local_;
    struct ::tls* access_tls_ = nullptr;
    struct FlowWatch;
    std::unordered_map<const void*, std::unique_ptr<FlowWatch>> flows_;  // by libre sip_conn
    FlowId next_flow_ = 1;
    std::unordered_map<std::string, Endpoint> flow_local_;  // by peer "host:port"
    // libre reports a response on TCP/TLS as going to the request's Via sent-by, but sends it
    // on the request's connection (RFC 3261 18.2.2): the trace names that connection's peer.
    void note_via(const Endpoint& sent_by, const Endpoint& peer);
    Endpoint via_peer(const Endpoint& sent_by) const;
    std::unordered_map<std::string, Endpoint> via_peer_;  // by Via sent-by "host:port"
    std::function<void(FlowId)> flow_closed_;
    void note_udp_socket(void* sock);
    ::udp_sock* udp_sock_ = nullptr;
    std::function<void(::udp_sock*)> udp_socket_known_;
    RequestHandler request_handler_;
    TraceHandler trace_handler_;
    std::optional<Endpoint> untraced_;
    struct Registry;
    std::unique_ptr<Registry> dialogs_;
    // Destroyed after sip_ (in ~SipStack's body) has closed the connections it guards.
    SipStreamGuard stream_guard_;
};

}  // namespace mcx::net
