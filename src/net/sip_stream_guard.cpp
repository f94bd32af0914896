#include "net/sip_stream_guard.hpp"

#include <dlfcn.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <bit>
#include <mutex>

#include "net/re_include.hpp"
#include "net/timer.hpp"
#include "proto/sip_stream_framer.hpp"

namespace mcx::net {
namespace {

// The receive helper's layer: above TLS, which libre's transport registers at layer 0, so the
// framer sees plaintext (helpers receive in ascending layer order).
constexpr int kFramingLayer = 10;

struct ProtectedListener {
    sa local;
    SipStreamGuard* guard;
};

// Listeners of every SIP stack of the process (the main one, the leg thread's), by address.
std::mutex registry_mutex;
std::vector<ProtectedListener> registry;

SipStreamRefusal from_framer(proto::SipStreamRefusal::Limit limit) {
    switch (limit) {
        case proto::SipStreamRefusal::Limit::head_bytes:
            return SipStreamRefusal::head_bytes;
        case proto::SipStreamRefusal::Limit::message_bytes:
            return SipStreamRefusal::message_bytes;
        case proto::SipStreamRefusal::Limit::none:
            break;
    }
    return SipStreamRefusal::malformed;
}

using TcpAccept = int (*)(struct tcp_conn**, struct tcp_sock*, tcp_estab_h*, tcp_recv_h*,
                          tcp_close_h*, void*);

TcpAccept libre_tcp_accept() {
    static const TcpAccept next = std::bit_cast<TcpAccept>(dlsym(RTLD_NEXT, "tcp_accept"));
    return next;
}

}  // namespace

const char* to_string(SipStreamRefusal refusal) {
    switch (refusal) {
        case SipStreamRefusal::connections:
            return "connections";
        case SipStreamRefusal::connections_per_source:
            return "connections_per_source";
        case SipStreamRefusal::head_bytes:
            return "head_bytes";
        case SipStreamRefusal::message_bytes:
            return "message_bytes";
        case SipStreamRefusal::malformed:
            return "malformed";
        case SipStreamRefusal::message_timeout:
            return "message_timeout";
        case SipStreamRefusal::count_:
            break;
    }
    return "unknown";
}

struct SipStreamGuard::Connection {
    Connection(SipStreamGuard& g, std::string src, std::string p, const SipStreamLimits& limits)
        : guard(g),
          source(std::move(src)),
          peer(std::move(p)),
          framer(limits.max_head_bytes, limits.max_message_bytes) {}
    // Both references to the helper go: the connection's list loses it too if still alive.
    ~Connection() {
        deadline.cancel();
        if (alive()) mem_deref(helper);
        mem_deref(helper);
    }

    // libre's connection holds the helper in its list; ours is the other reference, so the
    // connection is gone once ours is the last.
    bool alive() const { return helper && mem_nrefs(helper) > 1; }

    SipStreamGuard& guard;
    std::string source;  // the peer's address, which max_connections_per_source counts
    std::string peer;    // address and port, for the log
    proto::SipStreamFramer framer;
    struct tcp_helper* helper = nullptr;
    int fd = -1;
    Timer deadline;  // message_timeout_ms from an unfinished message's first byte
    std::string complete;
};

namespace {

// tcp_helper_recv_h: hands libre only whole messages (true: nothing to hand on yet).
bool receive_framed(int* err, struct mbuf* mb, bool* /*estab*/, void* arg) {
    auto& c = *static_cast<SipStreamGuard::Connection*>(arg);
    const std::string_view received(reinterpret_cast<const char*>(mbuf_buf(mb)), mbuf_get_left(mb));
    const bool was_mid_unit = c.framer.mid_unit();
    if (auto refusal = c.framer.feed(received, c.complete)) {
        c.deadline.cancel();
        c.guard.refuse(from_framer(refusal->limit), c.peer, refusal->reason);
        *err = EPROTO;  // libre closes the connection
        return true;
    }
    if (!c.framer.mid_unit()) {
        c.deadline.cancel();
    } else if (!was_mid_unit || !c.complete.empty()) {
        auto* connection = &c;
        c.deadline.start(
            std::chrono::milliseconds(c.guard.limits().message_timeout_ms), [connection] {
                if (!connection->alive()) return;
                connection->guard.refuse(
                    SipStreamRefusal::message_timeout, connection->peer,
                    "a message unfinished after " +
                        std::to_string(connection->guard.limits().message_timeout_ms) + " ms");
                // libre reads the end of the stream and closes the connection.
                ::shutdown(connection->fd, SHUT_RDWR);
            });
    }
    if (c.complete.empty()) return true;
    mbuf_rewind(mb);
    if (int e = mbuf_write_mem(mb, reinterpret_cast<const uint8_t*>(c.complete.data()),
                               c.complete.size());
        e != 0) {
        *err = e;
        return true;
    }
    mbuf_set_pos(mb, 0);
    return false;
}

}  // namespace

SipStreamGuard::SipStreamGuard(SipStreamLimits limits) : limits_(limits) {}

SipStreamGuard::~SipStreamGuard() {
    {
        std::lock_guard lock(registry_mutex);
        std::erase_if(registry, [this](const ProtectedListener& l) { return l.guard == this; });
    }
    connections_.clear();
}

Result<void> SipStreamGuard::protect(const Endpoint& local) {
    ProtectedListener listener{{}, this};
    if (sa_set_str(&listener.local, local.host.c_str(), local.port) != 0) {
        return tl::unexpected(
            Error{Errc::invalid_argument, "not an IP address and port: " + local.to_string()});
    }
    std::lock_guard lock(registry_mutex);
    registry.push_back(listener);
    return {};
}

SipStreamGuard* SipStreamGuard::find(struct ::tcp_sock* listener) {
    sa local;
    if (!listener || tcp_sock_local_get(listener, &local) != 0) return nullptr;
    std::lock_guard lock(registry_mutex);
    for (const auto& l : registry) {
        if (sa_cmp(&l.local, &local, SA_ALL)) return l.guard;
    }
    return nullptr;
}

bool SipStreamGuard::interposed() {
    return dlsym(RTLD_DEFAULT, "tcp_accept") == std::bit_cast<void*>(&::tcp_accept);
}

std::size_t SipStreamGuard::connections() const {
    return static_cast<std::size_t>(
        std::ranges::count_if(connections_, [](const auto& c) { return c->alive(); }));
}

void SipStreamGuard::sweep() {
    std::erase_if(connections_, [this](const std::unique_ptr<Connection>& c) {
        if (c->alive()) return false;
        if (auto it = per_source_.find(c->source); it != per_source_.end() && --it->second == 0) {
            per_source_.erase(it);
        }
        return true;
    });
}

void SipStreamGuard::refuse(SipStreamRefusal refusal, const std::string& peer,
                            const std::string& detail) {
    ++refusals_[static_cast<std::size_t>(refusal)];
    if (auto held = log_.allow(static_cast<std::int64_t>(monotonic_ms()))) {
        spdlog::warn("SIP stream from {} refused ({}): {}{}", peer, to_string(refusal), detail,
                     *held ? " (" + std::to_string(*held) + " more not logged)" : std::string());
    }
}

int SipStreamGuard::admit(struct ::tcp_conn** connection) {
    sweep();
    sa peer_address;
    if (tcp_conn_peer_get(*connection, &peer_address) != 0) {
        *connection = static_cast<struct ::tcp_conn*>(mem_deref(*connection));
        return ENOTCONN;
    }
    const Endpoint peer = to_endpoint(&peer_address);
    if (connections_.size() >= limits_.max_connections) {
        refuse(SipStreamRefusal::connections, peer.to_string(),
               std::to_string(connections_.size()) + " connections open in all");
        *connection = static_cast<struct ::tcp_conn*>(mem_deref(*connection));
        return ECONNREFUSED;
    }
    if (auto it = per_source_.find(peer.host);
        it != per_source_.end() && it->second >= limits_.max_connections_per_source) {
        refuse(SipStreamRefusal::connections_per_source, peer.to_string(),
               std::to_string(it->second) + " connections open from " + peer.host);
        *connection = static_cast<struct ::tcp_conn*>(mem_deref(*connection));
        return ECONNREFUSED;
    }
    auto c = std::make_unique<Connection>(*this, peer.host, peer.to_string(), limits_);
    if (int err = tcp_register_helper(&c->helper, *connection, kFramingLayer, nullptr, nullptr,
                                      receive_framed, c.get());
        err != 0) {
        *connection = static_cast<struct ::tcp_conn*>(mem_deref(*connection));
        return err;
    }
    mem_ref(c->helper);
    c->fd = tcp_conn_fd(*connection);
    ++per_source_[peer.host];
    connections_.push_back(std::move(c));
    return 0;
}

}  // namespace mcx::net

// libre's SIP transport accepts its connections with this function (src/sip/transp.c,
// tcp_connect_handler), called through the PLT, so this definition in the executable is the one
// it reaches. It calls libre's own and lets the guard of the listener, if any, admit the result.
extern "C" int tcp_accept(struct tcp_conn** tcp, struct tcp_sock* ts, tcp_estab_h* eh,
                          tcp_recv_h* rh, tcp_close_h* ch, void* arg) {
    const auto next = mcx::net::libre_tcp_accept();
    if (!next) return ENOSYS;
    const int err = next(tcp, ts, eh, rh, ch, arg);
    if (err != 0 || !tcp || !*tcp) return err;
    auto* guard = mcx::net::SipStreamGuard::find(ts);
    return guard ? guard->admit(tcp) : 0;
}
