#pragma once
// Floor control server of the controlling function for a private call (TS 24.380 6.3):
// "general floor control operation" (6.3.4: G: Floor Idle, G: Floor Taken, ...) together with
// the per-participant behaviour (6.3.5) for the two parties of a private call. Pure: messages,
// RTP arrivals and timer expiries in; floor messages to send and timer commands out. Diagram:
// floor_control_server.dot.

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fsm_timer.hpp"
#include "proto/floor_message.hpp"

namespace mcx::server {

struct FloorTimers {
    // TS 24.380 6.3.4 / 6.3.5 timers; values from the service configuration (TS 24.484
    // <fc-timers-counters>), these defaults are ours where the digest marks them unverified.
    std::chrono::milliseconds t1_end_of_rtp{4000};          // no media from the holder
    std::chrono::milliseconds t2_stop_talking{30000};       // longest talk burst
    std::chrono::milliseconds t3_stop_talking_grace{1000};  // after Floor Revoke
    std::chrono::milliseconds t20_floor_granted{1000};      // Floor Granted retransmission
    unsigned c20_floor_granted = 3;                         // Floor Granted attempts
};

class FloorControlServer {
  public:
    enum class State {
        start_stop,            // before the call is established / after release
        floor_idle,            // G: Floor Idle
        floor_taken,           // G: Floor Taken
        pending_floor_revoke,  // G: pending Floor Revoke
        releasing,             // Releasing
    };
    enum class Timer { t1_end_of_rtp, t2_stop_talking, t3_stop_talking_grace, t20_floor_granted };
    static constexpr std::size_t kTimers = 4;
    using TimerCommand = mcx::TimerCommand<Timer>;

    struct Participant {
        std::string mc_service_id;  // shown to others in Floor Taken
        bool queueing = false;      // mc_queueing negotiated with this participant
        std::uint8_t priority = 0;  // mc_priority granted in SDP
    };

    struct Transmission {
        std::size_t to;  // participant index
        proto::floor::FloorMessage message;
    };

    struct Effects {
        std::vector<Transmission> send;
        std::vector<TimerCommand> timers;
    };

    struct Counters {
        std::uint64_t unexpected_messages = 0;  // a message not allowed in the state: dropped
        std::uint64_t media_dropped = 0;        // RTP from a participant without the floor
        std::uint64_t grants = 0;
        std::uint64_t denials = 0;
        std::uint64_t revokes = 0;
    };

    FloorControlServer(std::vector<Participant> participants, std::uint32_t server_ssrc,
                       FloorTimers timers = {});

    // The call is established (TS 24.380 6.3.4.2); an implicit Floor Request from the
    // originator (SDP mc_implicit_request) is served at once.
    Effects start(std::optional<std::size_t> implicit_request_from);
    Effects on_message(std::size_t from, const proto::floor::FloorMessage& message);
    // RTP from a participant: true when it may be forwarded to the others (media gating).
    bool on_rtp(std::size_t from, Effects& effects);
    Effects on_timer(Timer timer, std::uint64_t generation);
    // The call is released (TS 24.380 6.3.4.8): timers stop, nothing more is sent.
    Effects stop();

    State state() const { return state_; }
    std::optional<std::size_t> holder() const { return holder_; }
    const std::deque<std::size_t>& queue() const { return queue_; }
    const Counters& counters() const { return counters_; }

  private:
    // Every state change: logs "A -> B (event)"; `event` as in floor_control_server.dot.
    void transition(State next, std::string_view event);
    void grant(std::size_t to, std::string_view event, Effects& effects);
    void release_floor(std::string_view event, Effects& effects);
    void send_taken(std::size_t to, Effects& effects);
    void send_idle(std::size_t to, Effects& effects);
    void deny(std::size_t to, std::uint16_t cause, const char* phrase, Effects& effects);
    void send_queue_info(std::size_t to, Effects& effects);
    void send_floor_granted(std::size_t to, Effects& effects);
    proto::floor::FloorMessage message(proto::floor::MessageType type) const;
    void ack_if_required(std::size_t to, const proto::floor::FloorMessage& received,
                         Effects& effects);

    std::vector<Participant> participants_;
    std::uint32_t ssrc_;
    FloorTimers config_;
    State state_ = State::start_stop;
    std::optional<std::size_t> holder_;
    std::deque<std::size_t> queue_;
    std::uint16_t sequence_ = 0;  // Message Sequence Number of Floor Taken / Floor Idle
    unsigned granted_attempts_ = 0;
    std::vector<bool> sending_without_floor_;
    TimerGenerations<Timer, kTimers> generations_;
    Counters counters_;
};

inline constexpr std::array kFloorControlServerStates{
    FloorControlServer::State::start_stop,  FloorControlServer::State::floor_idle,
    FloorControlServer::State::floor_taken, FloorControlServer::State::pending_floor_revoke,
    FloorControlServer::State::releasing,
};
inline constexpr std::array kFloorControlServerTimers{
    FloorControlServer::Timer::t1_end_of_rtp,
    FloorControlServer::Timer::t2_stop_talking,
    FloorControlServer::Timer::t3_stop_talking_grace,
    FloorControlServer::Timer::t20_floor_granted,
};
static_assert(kFloorControlServerTimers.size() == FloorControlServer::kTimers);

const char* to_string(FloorControlServer::State state);

}  // namespace mcx::server
