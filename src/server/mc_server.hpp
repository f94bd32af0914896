#pragma once
// One MC system's SIP side: SIP core (registrar) and MCPTT server (participating and
// controlling function for on-network private calls), on one SipStack.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/log_throttle.hpp"
#include "common/prometheus.hpp"
#include "common/system_config.hpp"
#include "idms/token.hpp"
#include "idms/token_ledger.hpp"
#include "net/leg_thread.hpp"
#include "net/queue_probe.hpp"
#include "net/sip_stack.hpp"
#include "net/timer.hpp"
#include "proto/mcptt_info.hpp"
#include "server/migrated_user_registry.hpp"
#include "server/overload_control.hpp"
#include "server/private_call.hpp"
#include "server/private_call_policy.hpp"
#include "server/registrar.hpp"

namespace mcx::server {

// Counters of what the server did; names are stable (docs/operations.md lists them).
struct ServerCounters {
    std::uint64_t register_ok = 0;
    std::uint64_t register_rejected = 0;
    std::uint64_t invite_received = 0;
    std::uint64_t invite_rejected = 0;
    std::uint64_t calls_connected = 0;
    std::uint64_t calls_released = 0;
    std::uint64_t malformed_requests = 0;
    std::uint64_t partner_refused = 0;   // interconnect INVITEs from an untrusted system
    std::uint64_t overload_refused = 0;  // REGISTER/INVITE answered 503 (OverloadControl)
    std::uint64_t overload_dropped = 0;  // ... dropped unanswered: the source was told to wait

    // Each counter with its name in /status ("counters") and what it counts, for /status and
    // /metrics (mcx_<name>_total) alike: a counter added here appears in both.
    struct Named {
        const char* name;
        const char* help;
        std::uint64_t value;
    };
    std::vector<Named> named() const;
};

class McServer {
  public:
    using Clock = std::function<std::int64_t()>;  // milliseconds since the epoch

    // `issuer` signs the system tokens for partners (interconnect); may be null without one.
    McServer(const SystemConfig& config, net::SipStack& sip, const idms::TokenVerifier& verifier,
             PrivateCallPolicy::ProfileLookup profiles, Clock clock,
             const idms::TokenIssuer* issuer = nullptr);
    ~McServer();

    // Callee legs to local users over UDP go through `legs` (see net/leg_thread.hpp), which
    // speaks through this server's SIP port; it must outlive this server.
    void set_leg_thread(net::LegThread* legs) {
        legs_ = legs;
        if (legs_) legs_->share_port(sip_);
    }

    // Floor control packets of every call, e.g. into the --pcap file.
    void set_floor_trace(MediaRelay::FloorTrace trace) { floor_trace_ = std::move(trace); }

    // Migration (TS 23.280 10.16): the registry of migrated and roaming users, and the rule
    // that gives a migrating user of `home` its MC service ID here ([migration] assigned_id).
    using AssignId =
        std::function<Result<McServiceId>(const McServiceId& primary, const std::string& home)>;
    void set_migration(MigratedUserRegistry* registry, AssignId assign);

    // How far the key of each partner's IdMS is known ("configured", "fetched", ...), for
    // GET /status; the function must be thread-safe.
    using PartnerKeyState = std::function<std::string(const PartnerConfig&)>;
    void set_partner_key_state(PartnerKeyState state) { partner_key_state_ = std::move(state); }

    // Drops the registrations made with a token of `ledger`'s IdMS whose user and client hold
    // no valid token any more (logged out, user removed), and releases those users' calls;
    // on the loop thread, after the ledger changed (docs/identity.md).
    void drop_retired_registrations(const idms::TokenLedger& ledger);

    // JSON snapshot for GET /status (call on the loop thread).
    std::string status_json() const;
    // The gauges and counters of that snapshot as Prometheus families, for GET /metrics (call
    // on the loop thread): mcx_registrations, mcx_calls_active, mcx_<counter>_total, ...
    std::vector<prometheus::Family> metrics() const;
    std::size_t active_calls() const { return calls_.size(); }
    const ServerCounters& counters() const { return counters_; }

  private:
    bool on_request(const net::SipMessage& msg);
    void on_register(const net::SipMessage& msg);
    void on_invite(const net::SipMessage& msg);
    void on_partner_invite(const net::SipMessage& msg);
    struct ParsedInvite {
        proto::SessionDescription offer;
        proto::McpttInfo info;
        std::vector<std::string> callees;
        std::string answer_mode;
    };
    std::variant<ParsedInvite, Rejection> parse_invite(const net::SipMessage& msg,
                                                       bool needs_resource_lists);
    void start_call(const net::SipMessage& msg, CallSetup setup);
    void reject(const net::SipMessage& msg, const Rejection& rejection);
    // Overload control before any work (OverloadControl): false when refused or dropped.
    bool admitted(const net::SipMessage& msg);
    // A request that failed its checks: counted against its source.
    void note_failure(const net::SipMessage& msg);
    CallPartyState party_state(const McServiceId& user) const;
    void on_call_released(PrivateCall& call);
    Result<std::optional<McServiceId>> check_identity(const idms::AccessTokenClaims& claims,
                                                      const McServiceId& aor);
    Result<void> note_registration(const RegisterOutcome& outcome);
    void sweep_registrations();
    void on_flow_closed(net::FlowId flow);
    // A REGISTER or INVITE of a user over a transport [sip] turned off for users.
    std::optional<Rejection> access_refusal(const net::SipMessage& msg) const;
    // The callee leg towards a partner system's interconnect.
    std::variant<CalleeRoute, Rejection> partner_route(const PartnerConfig* partner,
                                                       const McServiceId& callee);
    // The primary MC service ID of a user registered here (its own ID for our users).
    std::optional<McServiceId> primary_of(const McServiceId& user) const;

    const SystemConfig& config_;
    net::SipStack& sip_;
    PartnerKeyState partner_key_state_;
    net::LegThread* legs_ = nullptr;
    const idms::TokenVerifier& verifier_;
    const idms::TokenIssuer* issuer_;
    Clock clock_;
    Registrar registrar_;
    PrivateCallPolicy policy_;
    std::map<std::uint64_t, std::unique_ptr<PrivateCall>> calls_;
    std::unordered_map<McServiceId, std::uint32_t> calls_per_user_;
    std::uint64_t next_call_id_ = 1;
    ServerCounters counters_;
    MigratedUserRegistry* registry_ = nullptr;
    MediaRelay::FloorTrace floor_trace_;
    AssignId assign_;
    net::Timer sweep_timer_;
    OverloadControl overload_;
    std::unique_ptr<net::QueueProbe> queue_probe_;
    LogThrottle overload_log_;
    LogThrottle rejection_log_{20};
};

}  // namespace mcx::server
