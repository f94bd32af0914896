#pragma once
// One on-network private call at the controlling function (TS 23.379 10.7.2.2, TS 24.379
// 11.1.1.3): a back-to-back user agent between the caller's dialog and a new INVITE to the
// callee, with the media anchored in a MediaRelay. Call states: private_call.dot.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/ids.hpp"
#include "common/ipv4_network.hpp"
#include "net/invite_dialog.hpp"
#include "net/leg_thread.hpp"
#include "net/timer.hpp"
#include "proto/mcptt_info.hpp"
#include "proto/sdp.hpp"
#include "server/floor_control_server.hpp"
#include "server/media_relay.hpp"
#include "server/registrar.hpp"

namespace mcx::server {

// Where the callee leg goes: the callee's registered client, or a partner MC system's
// interconnect (SIP over TLS) when the callee is a user of that system.
struct CalleeRoute {
    std::string request_uri;  // registered Contact, or the callee's MC service ID (partner)
    net::Endpoint next_hop;
    net::Transport transport = net::Transport::udp;
    std::string headers;  // e.g. the system token for the partner (Authorization: Bearer)
    std::string partner;  // the partner system's ID when the leg crosses the interconnect
    // Where the callee's answer may name media besides the address its 2xx came from.
    std::vector<Ipv4Network> media_networks;
};

struct CallSetup {
    // The identities each side shows are the users' IDs in their own MC systems (a primary ID,
    // or the ID a partner assigned to a migrated user, TS 23.280 10.1.6): never rewritten here.
    McServiceId caller;
    McServiceId callee;
    CalleeRoute route;
    proto::SessionDescription caller_offer;
    std::string answer_mode;  // "Auto", "Manual" or empty (callee's default)
    // The controlling function (TS 23.379 10.7.2.3: in the caller's system) runs floor control;
    // a terminating participating function for a call from a partner relays it unchanged.
    bool controlling = true;
    // Call continuity across migration (docs/migration.md), relayed to the callee: the call
    // reference and resume mark of the caller, and the caller's primary MC service ID as the
    // system serving the caller attests it. [mcx-defined]
    proto::McxCallInfo continuity;
    // The callee's primary MC service ID when the callee is registered here; else its system
    // attests it in the answer.
    std::optional<McServiceId> callee_primary;
};

class PrivateCall {
  public:
    // TS 24.379 does not name controlling-function call states for private calls; these follow
    // the SIP dialog phases. [mcx-defined]
    enum class State { initiating, alerting, connected, released };
    // What moves the call, from the two legs, the timers and the server. [mcx-defined]
    enum class Event {
        callee_alerting,  // 180 or 183 from the callee, forwarded to the caller
        callee_answered,  // the callee's 2xx, answered to the caller
        callee_refused,   // a final non-2xx from the callee, or no response at all
        answer_unusable,  // the callee's 2xx cannot be answered to the caller
        no_answer,        // invite_timeout passed
        partner_timeout,  // partner_timeout passed without a response from the partner system
        caller_release,   // CANCEL, BYE or ACK timeout on the caller's leg
        callee_release,   // BYE from the callee
        server_release,   // release(): no activity, or the server ends the call
    };
    // The next state, or nullopt when the event is not allowed in `state` (logged, state kept).
    static std::optional<State> next(State state, Event event);

    struct Context {
        net::SipStack& sip;
        // Carries the callee legs to local users over UDP when set (their client transactions'
        // timers then stay off the main loop's libre timer list, see net/leg_thread.hpp).
        net::LegThread* legs = nullptr;
        std::string host;    // media and SIP host of this MC system
        std::string domain;  // warn-agent
        std::chrono::seconds invite_timeout;
        std::chrono::seconds partner_timeout{5};  // no answer from a partner system at all
        std::chrono::seconds inactivity{120};     // no media and no floor control: end the call
        bool floor_queueing = true;               // the floor control server queues requests
        std::uint8_t max_floor_priority = 7;      // highest mc_priority granted
        FloorTimers floor_timers;
        MediaRelay::FloorTrace floor_trace;             // floor packets for --pcap, or empty
        std::function<void(PrivateCall&)> on_released;  // called once, may defer-delete the call
        std::function<void(PrivateCall&, State)> on_state;  // observers (logs, counters)
    };

    static Result<std::unique_ptr<PrivateCall>> start(Context context, std::uint64_t id,
                                                      const net::SipMessage& invite,
                                                      CallSetup setup);
    ~PrivateCall();

    std::uint64_t id() const { return id_; }
    State state() const { return state_; }
    const McServiceId& caller() const { return setup_.caller; }
    const McServiceId& callee() const { return setup_.callee; }
    const MediaRelay& relay() const { return *relay_; }
    const CallSetup& setup() const { return setup_; }
    // The floor control server, when floor control was negotiated on both legs.
    const FloorControlServer* floor() const { return floor_.get(); }
    // Ends the call from the server side (BYE/CANCEL on both legs).
    void release(const std::string& why);

  private:
    PrivateCall(Context context, std::uint64_t id, CallSetup setup);
    void on_caller_event(net::DialogEvent event, const net::SipMessage* msg);
    void on_callee_event(net::DialogEvent event, const net::SipMessage* msg);
    void on_callee_answer(const net::SipMessage* msg);  // nullptr: the 2xx was lost
    void reject_caller(std::uint16_t status, const std::string& reason, const std::string& headers);
    // Every state change: logs "A -> B (event)" and tells context_.on_state.
    bool transition(Event event);
    void start_floor_control(const proto::SessionDescription& callee_answer);
    void apply(FloorControlServer::Effects effects);
    void on_floor_packet(Leg from, std::span<const std::uint8_t> packet);
    void finish(Event why);  // stops timers and floor control, released, on_released

    Context context_;
    std::uint64_t id_;
    CallSetup setup_;
    State state_ = State::initiating;
    std::unique_ptr<MediaRelay> relay_;
    std::unique_ptr<net::InviteDialog> caller_leg_;
    std::unique_ptr<net::OutgoingDialog> callee_leg_;
    net::Timer no_answer_timer_;
    net::Timer partner_timer_;
    net::Timer inactivity_timer_;
    std::uint64_t packets_at_last_check_ = 0;
    void check_activity();
    std::unique_ptr<FloorControlServer> floor_;
    std::array<net::Timer, FloorControlServer::kTimers> floor_timers_;
    std::uint64_t malformed_floor_packets_ = 0;
};

inline constexpr std::array kPrivateCallStates{
    PrivateCall::State::initiating,
    PrivateCall::State::alerting,
    PrivateCall::State::connected,
    PrivateCall::State::released,
};
inline constexpr std::array kPrivateCallEvents{
    PrivateCall::Event::callee_alerting, PrivateCall::Event::callee_answered,
    PrivateCall::Event::callee_refused,  PrivateCall::Event::answer_unusable,
    PrivateCall::Event::no_answer,       PrivateCall::Event::partner_timeout,
    PrivateCall::Event::caller_release,  PrivateCall::Event::callee_release,
    PrivateCall::Event::server_release,
};

const char* to_string(PrivateCall::State state);
const char* to_string(PrivateCall::Event event);

}  // namespace mcx::server
