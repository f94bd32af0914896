#pragma once
// Caps and framing for SIP over TCP and TLS, in front of libre's SIP transport
// (docs/security.md, "SIP over TCP and TLS: caps and framing"). libre 1.1.0 accepts a
// connection inside its transport and re-decodes the whole buffered stream after every
// received segment; its API offers no hook at accept. mcxd provides `tcp_accept` itself (an
// ELF interposition of the libre function its transport calls through the PLT), calls libre's,
// and for the listeners a guard protects it
// - refuses the connection beyond `max_connections` in all or `max_connections_per_source`
//   from one address (libre then closes it),
// - puts a receive helper above TLS (tcp_register_helper) that frames the plaintext with
//   proto::SipStreamFramer and hands libre whole messages only, closes the connection on a
//   framing refusal, and shuts it down when a message takes longer than `message_timeout_ms`.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/log_throttle.hpp"
#include "common/sip_stream_limits.hpp"
#include "net/endpoint.hpp"

struct tcp_conn;
struct tcp_sock;

namespace mcx::net {

enum class SipStreamRefusal : std::uint8_t {
    connections,             // max_connections reached
    connections_per_source,  // max_connections_per_source reached
    head_bytes,              // a head longer than max_head_bytes
    message_bytes,           // a message longer than max_message_bytes
    malformed,               // no or a bad Content-Length
    message_timeout,         // a message not complete within message_timeout_ms
    count_
};
inline constexpr std::size_t kSipStreamRefusals =
    static_cast<std::size_t>(SipStreamRefusal::count_);
using SipStreamRefusalCounts = std::array<std::uint64_t, kSipStreamRefusals>;
const char* to_string(SipStreamRefusal refusal);

class SipStreamGuard {
  public:
    explicit SipStreamGuard(SipStreamLimits limits);
    ~SipStreamGuard();
    SipStreamGuard(const SipStreamGuard&) = delete;
    SipStreamGuard& operator=(const SipStreamGuard&) = delete;

    // Guards the connections accepted from now on by the listener bound to `local`.
    Result<void> protect(const Endpoint& local);

    const SipStreamRefusalCounts& refusals() const { return refusals_; }
    std::size_t connections() const;  // accepted and not yet closed

    // Whether libre's transport calls mcxd's tcp_accept (the interposition took effect).
    static bool interposed();

    const SipStreamLimits& limits() const { return limits_; }

    struct Connection;
    // Called by the interposed tcp_accept for a connection of a protected listener.
    int admit(struct ::tcp_conn** connection);
    static SipStreamGuard* find(struct ::tcp_sock* listener);
    // Counts and logs (rate-limited) one refusal; called by the receive helper too.
    void refuse(SipStreamRefusal refusal, const std::string& peer, const std::string& detail);

  private:
    void sweep();

    SipStreamLimits limits_;
    std::vector<std::unique_ptr<Connection>> connections_;
    std::unordered_map<std::string, std::size_t> per_source_;
    SipStreamRefusalCounts refusals_{};
    LogThrottle log_{10, 10'000};
};

}  // namespace mcx::net
