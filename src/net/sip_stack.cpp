#include "net/sip_stack.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "net/event_loop.hpp"
#include "net/invite_dialog.hpp"
#include "net/re_include.hpp"
#include "proto/sip_request_check.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace mcx::net {

// A watched connection: libre signals its close through a keep-alive entry (RFC 5626 4.4.1
// CRLF pings every ~2 min; the client's pong keeps the flow). `keepalive` is nulled by libre
// when the connection is freed without a close signal (the stack closing).
struct SipStack::FlowWatch {
    SipStack* stack = nullptr;
    FlowId id = 0;
    const void* connection = nullptr;
    sip_keepalive* keepalive = nullptr;
};

struct SipStack::Registry {
    std::unordered_multimap<std::string, InviteDialog*> by_call_id;
};

void set_no_delay(const sip_msg* msg) {
    if (!msg || (msg->tp != SIP_TRANSP_TCP && msg->tp != SIP_TRANSP_TLS)) return;
    auto* connection = sip_msg_tcpconn(msg);
    const int fd = connection ? tcp_conn_fd(connection) : -1;
    if (fd < 0) return;
    const int on = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

struct SipStackCallbacks {
    static bool on_request(const sip_msg* msg, void* arg) {
        set_no_delay(msg);
        auto* self = static_cast<SipStack*>(arg);
        if (msg->tp == SIP_TRANSP_UDP && !self->udp_sock_) self->note_udp_socket(msg->sock);
        if (self->trace_handler_ && (msg->tp == SIP_TRANSP_TCP || msg->tp == SIP_TRANSP_TLS)) {
            self->note_via(to_endpoint(&msg->via.addr), to_endpoint(&msg->src));  // for the trace
        }
        return self->dispatch_request(SipMessage(msg));
    }
    static bool on_response(const sip_msg* msg, void* arg) {
        set_no_delay(msg);
        auto* self = static_cast<SipStack*>(arg);
        if (msg->tp == SIP_TRANSP_UDP && !self->udp_sock_) self->note_udp_socket(msg->sock);
        return self->dispatch_response(SipMessage(msg));
    }
    static void on_trace(bool tx, enum sip_transp tp, const sa* src, const sa* dst,
                         const uint8_t* pkt, size_t len, void* arg) {
        auto* self = static_cast<SipStack*>(arg);
        if (!tx && (tp == SIP_TRANSP_TCP || tp == SIP_TRANSP_TLS)) {
            self->note_flow(from_libre(tp), to_endpoint(src), to_endpoint(dst));
        }
        if (!self->trace_handler_) return;
        const std::string_view bytes(reinterpret_cast<const char*>(pkt), len);
        auto to = to_endpoint(dst);
        if (self->untraced_ && (to == *self->untraced_ || to_endpoint(src) == *self->untraced_)) {
            return;
        }
        if (tx && (tp == SIP_TRANSP_TCP || tp == SIP_TRANSP_TLS) &&
            bytes.substr(0, 8) == "SIP/2.0 ") {
            to = self->via_peer(to);  // a response: it goes on the request's connection
        }
        self->trace_handler_(tx, from_libre(tp), to_endpoint(src), to, bytes);
    }
    static void on_exit(void*) {}
};

SipStack::SipStack(EventLoop& loop, std::string user_agent, const SipStreamLimits& stream_limits)
    : loop_(loop),
      user_agent_(std::move(user_agent)),
      dialogs_(std::make_unique<Registry>()),
      stream_guard_(stream_limits) {}

Result<std::unique_ptr<SipStack>> SipStack::create(EventLoop& loop, const SipStackOptions& opts) {
    std::unique_ptr<SipStack> stack(new SipStack(loop, opts.user_agent, opts.stream_limits));
    // Hash table sizes for client transactions, server transactions and connections: a busy
    // MC server has thousands of live transactions (64*T1 each).
    if (int err = sip_alloc(&stack->sip_, nullptr, 4096, 4096, 256, opts.user_agent.c_str(),
                            &SipStackCallbacks::on_exit, stack.get());
        err != 0) {
        return fail(Errc::io, "SIP stack allocation failed: " + std::string(strerror(err)));
    }
    sa laddr;
    if (sa_set_str(&laddr, opts.host.c_str(), opts.port) != 0) {
        return fail(Errc::invalid_argument,
                    "SIP listen address is not an IP literal: " + opts.host);
    }
    // UDP and TCP share one port number (RFC 3261 18). With port 0 the UDP port is picked
    // first; if that number is taken for TCP, try another.
    sa bound;
    for (int attempt = 0;; ++attempt) {
        if (int err = sip_transp_add(stack->sip_, SIP_TRANSP_UDP, &laddr); err != 0) {
            return fail(Errc::io, "cannot listen for SIP on UDP " + opts.host + ":" +
                                      std::to_string(opts.port) + ": " + strerror(err));
        }
        if (int err = sip_transp_laddr(stack->sip_, &bound, SIP_TRANSP_UDP, nullptr); err != 0) {
            return fail(Errc::io, "cannot read the SIP UDP address");
        }
        const int err = sip_transp_add(stack->sip_, SIP_TRANSP_TCP, &bound);
        if (err == 0) break;
        if (opts.port != 0 || attempt == 20) {
            return fail(Errc::io, "cannot listen for SIP on TCP port " +
                                      std::to_string(sa_port(&bound)) + ": " + strerror(err));
        }
        sip_transp_flush(stack->sip_);  // drop the UDP listener and pick another port
    }
    stack->local_ = to_endpoint(&bound);
    if (auto r = stack->stream_guard_.protect(stack->local_); !r) return tl::unexpected(r.error());
    // The interconnect's TLS transport first: libre opens outgoing TLS connections (towards
    // partners) with the first one, which presents this system's certificate.
    if (opts.tls) {
        if (auto r = stack->add_tls(opts.host, *opts.tls); !r) return tl::unexpected(r.error());
    }
    if (opts.access_tls) {
        if (auto r = stack->add_access_tls(opts.host, *opts.access_tls); !r) {
            return tl::unexpected(r.error());
        }
    }
    if (opts.client_tls) {
        if (auto r = stack->add_client_tls(opts.host, *opts.client_tls); !r) {
            return tl::unexpected(r.error());
        }
    }
    sip_set_trace_handler(stack->sip_, &SipStackCallbacks::on_trace);
    if (int err = sip_listen(&stack->request_listener_, stack->sip_, true,
                             &SipStackCallbacks::on_request, stack.get());
        err != 0) {
        return fail(Errc::io, "sip_listen failed");
    }
    if (int err = sip_listen(&stack->response_listener_, stack->sip_, false,
                             &SipStackCallbacks::on_response, stack.get());
        err != 0) {
        return fail(Errc::io, "sip_listen failed");
    }
    return stack;
}

namespace {

int verify_peer(int ok, X509_STORE_CTX* store) {
    if (!ok) {
        char subject[256] = "?";
        if (X509* cert = X509_STORE_CTX_get_current_cert(store)) {
            X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
        }
        spdlog::warn("TLS peer certificate refused ({}): {}", subject,
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
    }
    return ok;
}

}  // namespace

Result<void> SipStack::add_tls(const std::string& host, const TlsOptions& opts) {
    if (int err = tls_alloc(&tls_, TLS_METHOD_SSLV23, opts.certificate_file.c_str(), nullptr);
        err != 0) {
        return fail(Errc::invalid_argument,
                    "cannot load the TLS certificate and key from " + opts.certificate_file);
    }
    if (int err = tls_add_ca(tls_, opts.ca_file.c_str()); err != 0) {
        return fail(Errc::invalid_argument, "cannot load the CA certificates from " + opts.ca_file);
    }
    // libre's tls_set_verify_client() asks for the client's certificate but accepts any (its
    // verify callback returns 1). Verify for real, in both directions: OpenSSL checks the
    // chain against the CA file for the server's and for the client's certificate.
    SSL_CTX* ctx = tls_openssl_context(tls_);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, &verify_peer);
    SSL_CTX_set_verify_depth(ctx, 4);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    sa laddr;
    if (sa_set_str(&laddr, host.c_str(), opts.port) != 0) {
        return fail(Errc::invalid_argument, "TLS listen address is not an IP literal: " + host);
    }
    if (int err = sip_transp_add(sip_, SIP_TRANSP_TLS, &laddr, tls_); err != 0) {
        return fail(Errc::io, "cannot listen for SIP over TLS on " + host + ":" +
                                  std::to_string(opts.port) + ": " + strerror(err));
    }
    sa bound;
    if (sip_transp_laddr(sip_, &bound, SIP_TRANSP_TLS, nullptr) != 0) {
        return fail(Errc::io, "cannot read the SIP TLS address");
    }
    tls_local_ = to_endpoint(&bound);
    return stream_guard_.protect(*tls_local_);
}

Result<void> SipStack::add_access_tls(const std::string& host, const AccessTlsOptions& opts) {
    if (int err =
            tls_alloc(&access_tls_, TLS_METHOD_SSLV23, opts.certificate_file.c_str(), nullptr);
        err != 0) {
        return fail(Errc::invalid_argument,
                    "cannot load the TLS certificate and key from " + opts.certificate_file);
    }
    // Clients present no certificate: their access token in REGISTER identifies the user, and
    // the flow the REGISTER came on carries the user's requests from then on.
    SSL_CTX* ctx = tls_openssl_context(access_tls_);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // libre reports the address of the first TLS transport only (the interconnect's): with
    // port 0, pick a free port first, and another if it was taken meanwhile.
    for (int attempt = 0;; ++attempt) {
        std::uint16_t port = opts.port;
        if (port == 0) {
            auto free = free_tcp_port(host);
            if (!free) return tl::unexpected(free.error());
            port = *free;
        }
        sa laddr;
        if (sa_set_str(&laddr, host.c_str(), port) != 0) {
            return fail(Errc::invalid_argument, "TLS listen address is not an IP literal: " + host);
        }
        const int err = sip_transp_add(sip_, SIP_TRANSP_TLS, &laddr, access_tls_);
        if (err == 0) {
            access_tls_local_ = Endpoint{host, port};
            return stream_guard_.protect(*access_tls_local_);
        }
        if (opts.port != 0 || err != EADDRINUSE || attempt == 20) {
            return fail(Errc::io, "cannot listen for SIP over TLS (clients) on " + host + ":" +
                                      std::to_string(port) + ": " + strerror(err));
        }
    }
}

Result<void> SipStack::add_client_tls(const std::string& host, const TlsTrust& trust) {
    struct ::tls* tls = nullptr;
    if (int err = tls_alloc(&tls, TLS_METHOD_SSLV23, nullptr, nullptr); err != 0) {
        return fail(Errc::internal, "cannot set up TLS");
    }
    // Owned by the transport from here on (sip_transp_add takes a reference).
    struct Release {
        struct ::tls* tls;
        ~Release() { mem_deref(tls); }
    } release{tls};
    if (int err = tls_add_ca(tls, trust.ca_file.c_str()); err != 0) {
        return fail(Errc::invalid_argument,
                    "cannot load the CA certificates from " + trust.ca_file);
    }
    SSL_CTX* ctx = tls_openssl_context(tls);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &verify_peer);
    SSL_CTX_set_verify_depth(ctx, 4);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // RFC 6125 name check by OpenSSL: the server's certificate must name the address the
    // client was configured with (an iPAddress or a dNSName subjectAltName).
    std::vector<std::string> ips;
    std::vector<std::string> dns;
    for (const auto& name : trust.server_names) {
        sa probe;
        auto& list = sa_set_str(&probe, name.c_str(), 0) == 0 ? ips : dns;
        if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
    }
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
    if (ips.size() > 1 || (!ips.empty() && !dns.empty())) {
        return fail(Errc::invalid_argument,
                    "SIP over TLS: the servers must be on one IP address or be named by DNS "
                    "names (a certificate name check per connection is not available)");
    }
    if (!ips.empty() && X509_VERIFY_PARAM_set1_ip_asc(param, ips.front().c_str()) != 1) {
        return fail(Errc::invalid_argument, "SIP over TLS: bad server address " + ips.front());
    }
    for (const auto& name : dns) {
        if (X509_VERIFY_PARAM_add1_host(param, name.c_str(), 0) != 1) {
            return fail(Errc::invalid_argument, "SIP over TLS: bad server name " + name);
        }
    }
    sa laddr;
    if (sa_set_str(&laddr, host.c_str(), 0) != 0) {
        return fail(Errc::invalid_argument, "TLS local address is not an IP literal: " + host);
    }
    if (int err = sip_transp_add(sip_, SIP_TRANSP_TLS, &laddr, tls); err != 0) {
        return fail(Errc::io, "cannot set up SIP over TLS on " + host + ": " + strerror(err));
    }
    return {};
}

bool SipStack::from_interconnect(const SipMessage& msg) const {
    if (msg.transport() != Transport::tls || !tls_) return false;
    return !access_tls_local_ || msg.destination() != *access_tls_local_;
}

void SipStack::note_flow(Transport transport, const Endpoint& peer, const Endpoint& local) {
    if (transport == Transport::udp) return;
    if (transport == Transport::tls && tls_ && (!access_tls_local_ || local != *access_tls_local_))
        return;  // the interconnect keeps its listener's address as Contact
    if (flow_local_.size() > 100000) flow_local_.clear();  // stale peers of closed connections
    flow_local_[peer.to_string()] = local;
}

void SipStack::on_udp_socket(std::function<void(::udp_sock*)> handler) {
    if (udp_sock_) return handler(udp_sock_);
    udp_socket_known_ = std::move(handler);
}

void SipStack::note_udp_socket(void* sock) {
    udp_sock_ = static_cast<::udp_sock*>(sock);
    if (auto handler = std::move(udp_socket_known_)) handler(udp_sock_);
}

void SipStack::note_via(const Endpoint& sent_by, const Endpoint& peer) {
    if (sent_by == peer) return;
    if (via_peer_.size() > 100000) via_peer_.clear();  // stale entries of closed connections
    via_peer_[sent_by.to_string()] = peer;
}

Endpoint SipStack::via_peer(const Endpoint& sent_by) const {
    auto it = via_peer_.find(sent_by.to_string());
    return it == via_peer_.end() ? sent_by : it->second;
}

std::optional<Endpoint> SipStack::flow_local_address(const Endpoint& peer) const {
    auto it = flow_local_.find(peer.to_string());
    if (it == flow_local_.end()) return std::nullopt;
    return it->second;
}

FlowId SipStack::watch_flow(const SipMessage& msg) {
    const sip_msg* raw = msg.raw();
    if (!raw || (raw->tp != SIP_TRANSP_TCP && raw->tp != SIP_TRANSP_TLS) || !raw->sock) return 0;
    if (auto it = flows_.find(raw->sock); it != flows_.end()) {
        if (it->second->keepalive) return it->second->id;
        flows_.erase(it);  // a freed connection whose address was reused
    }
    auto watch = std::make_unique<FlowWatch>();
    watch->stack = this;
    watch->id = next_flow_++;
    watch->connection = raw->sock;
    auto on_close = [](int err, void* arg) {
        auto* closed = static_cast<FlowWatch*>(arg);
        SipStack* stack = closed->stack;
        const FlowId id = closed->id;
        spdlog::debug("SIP flow {} closed: {}", id, err ? strerror(err) : "by the peer");
        stack->flows_.erase(closed->connection);
        if (stack->flow_closed_) stack->flow_closed_(id);
    };
    if (int err = sip_keepalive_start(&watch->keepalive, sip_, raw, 0, on_close, watch.get());
        err != 0) {
        spdlog::warn("cannot watch the SIP connection from {}: {}", msg.source().to_string(),
                     strerror(err));
        return 0;
    }
    const FlowId id = watch->id;
    flows_[raw->sock] = std::move(watch);
    return id;
}

FlowId SipStack::flow_of(const SipMessage& msg) const {
    const sip_msg* raw = msg.raw();
    if (!raw || !raw->sock) return 0;
    auto it = flows_.find(raw->sock);
    if (it == flows_.end() || !it->second->keepalive) return 0;
    return it->second->id;
}

SipStack::~SipStack() {
    // No close signal into a stack going away.
    for (auto& [connection, watch] : flows_) mem_deref(watch->keepalive);
    flows_.clear();
    mem_deref(request_listener_);
    mem_deref(response_listener_);
    if (sip_) {
        sip_close(sip_, true);
        mem_deref(sip_);
    }
    mem_deref(tls_);
    mem_deref(access_tls_);
}

Result<void> SipStack::reply(const SipMessage& request, const SipResponse& r) {
    std::string rest = r.headers;
    if (!r.body.empty()) rest += "Content-Type: " + r.content_type + "\r\n";
    rest += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n";
    rest += r.body;
    const int err = sip_treplyf(nullptr, nullptr, sip_, request.raw(), false, r.status,
                                r.reason.c_str(), "%s", rest.c_str());
    if (err != 0) {
        return fail(Errc::io, "cannot send SIP response: " + std::string(strerror(err)));
    }
    return {};
}

Result<void> SipStack::reply_stateless(const SipMessage& request, std::uint16_t status,
                                       const std::string& reason, const std::string& headers) {
    const int err = sip_replyf(sip_, request.raw(), status, reason.c_str(),
                               "%sContent-Length: 0\r\n\r\n", headers.c_str());
    if (err != 0) {
        return fail(Errc::io, "cannot send SIP response: " + std::string(strerror(err)));
    }
    return {};
}

std::string SipStack::contact_header(const SipMessage& received, std::string_view user,
                                     std::string_view params) {
    const auto local = received.destination();
    std::string out = "Contact: <sip:";
    out += user;
    out += "@" + local.host + ":" + std::to_string(local.port);
    out += uri_transport_param(received.transport());
    out += ">";
    out += params;
    out += "\r\n";
    return out;
}

void SipStack::attach(InviteDialog* dialog) {
    dialogs_->by_call_id.emplace(dialog->call_id(), dialog);
}

void SipStack::detach(InviteDialog* dialog) {
    auto [first, last] = dialogs_->by_call_id.equal_range(dialog->call_id());
    for (auto it = first; it != last; ++it) {
        if (it->second == dialog) {
            dialogs_->by_call_id.erase(it);
            return;
        }
    }
}

InviteDialog* SipStack::find_dialog(const SipMessage& msg) const {
    auto [first, last] = dialogs_->by_call_id.equal_range(std::string(msg.call_id()));
    for (auto it = first; it != last; ++it) {
        if (it->second->matches(msg)) return it->second;
    }
    return nullptr;
}

namespace {

proto::SipRequestFacts request_facts(const sip_msg* m) {
    auto value = [m](enum sip_hdrid id) -> std::optional<std::string_view> {
        const sip_hdr* h = sip_msg_hdr(m, id);
        if (!h) return std::nullopt;
        return std::string_view(h->val.p, h->val.l);
    };
    proto::SipRequestFacts facts;
    facts.method = std::string_view(m->met.p, m->met.l);
    facts.has_via = sip_msg_hdr(m, SIP_HDR_VIA) != nullptr;
    facts.has_from = sip_msg_hdr(m, SIP_HDR_FROM) != nullptr;
    facts.has_to = sip_msg_hdr(m, SIP_HDR_TO) != nullptr;
    facts.has_call_id = sip_msg_hdr(m, SIP_HDR_CALL_ID) != nullptr;
    facts.cseq = value(SIP_HDR_CSEQ);
    facts.max_forwards = value(SIP_HDR_MAX_FORWARDS);
    facts.content_length = value(SIP_HDR_CONTENT_LENGTH);
    facts.body_size = mbuf_get_left(m->mb);
    facts.datagram = m->tp == SIP_TRANSP_UDP;
    return facts;
}

}  // namespace

// RFC 3261 8.2 / 18.3: a malformed request gets 400 naming the problem, or is dropped when no
// response can be routed; either way nothing else sees it. Logged with a count, not per
// request, so a flood of them cannot fill the log.
bool SipStack::refuse_malformed(const SipMessage& msg) {
    auto problem = proto::check_sip_request(request_facts(msg.raw()));
    if (!problem) return false;
    ++malformed_requests_;
    if (malformed_requests_ <= 10 || malformed_requests_ % 1000 == 0) {
        spdlog::info("malformed SIP request from {} ({}): {}{} ({} so far)",
                     msg.source().to_string(), to_string(msg.transport()), problem->reason,
                     problem->respond ? ", answered 400" : ", dropped", malformed_requests_);
    }
    if (problem->respond) (void)reply(msg, SipResponse{400, problem->reason, {}, {}, {}});
    return true;
}

bool SipStack::dispatch_request(const SipMessage& msg) {
    if (refuse_malformed(msg)) return true;
    const auto method = msg.method();
    const bool in_dialog = !msg.to_tag().empty();
    if (in_dialog || method == "ACK") {
        if (auto* dialog = find_dialog(msg)) {
            dialog->on_request(msg);
            return true;
        }
        if (method == "ACK") return true;  // stray ACK: nothing to answer
        (void)reply(msg, SipResponse{481, "Call/Transaction Does Not Exist", {}, {}, {}});
        return true;
    }
    if (method == "CANCEL") {
        // A CANCEL that matched a server transaction was consumed by libre before us.
        (void)reply(msg, SipResponse{481, "Call/Transaction Does Not Exist", {}, {}, {}});
        return true;
    }
    if (request_handler_ && request_handler_(msg)) return true;
    (void)reply(
        msg,
        SipResponse{
            405, "Method Not Allowed", "Allow: INVITE, ACK, BYE, CANCEL, REGISTER\r\n", {}, {}});
    return true;
}

bool SipStack::dispatch_response(const SipMessage& msg) {
    // Responses without a client transaction: retransmitted 2xx to INVITE (RFC 3261 13.2.2.4).
    if (auto* dialog = find_dialog(msg)) {
        dialog->on_stray_response(msg);
        return true;
    }
    return false;
}

}  // namespace mcx::net
