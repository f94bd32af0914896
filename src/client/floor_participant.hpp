#pragma once
// Floor participant of an MCPTT client in an on-network call (TS 24.380 6.2, "basic
// operation"): U: has no permission, U: pending Request, U: has permission, U: pending Release,
// U: queued. Pure: user actions, received floor messages and timer expiries in; floor
// messages to send, timer commands and notices for the user out. Diagram:
// floor_participant.dot.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fsm_timer.hpp"
#include "proto/floor_message.hpp"

namespace mcx::client {

struct ParticipantTimers {
    // TS 24.380 6.2 timers and counters (values from the UE configuration, TS 24.484).
    std::chrono::milliseconds t100_floor_release{1000};
    std::chrono::milliseconds t101_floor_request{1000};
    unsigned c100_floor_release = 3;
    unsigned c101_floor_request = 3;
};

enum class FloorNotice {
    granted,          // talk now
    denied,           // cause and phrase in the notice
    taken,            // someone else talks (by)
    idle,             // nobody talks
    revoked,          // our permission was taken away (cause)
    queued,           // waiting in the queue (position)
    request_timeout,  // no answer to Floor Request after C101 attempts
};

const char* to_string(FloorNotice notice);

class FloorParticipant {
  public:
    enum class State {
        start_stop,
        has_no_permission,  // U: has no permission
        pending_request,    // U: pending Request
        has_permission,     // U: has permission
        pending_release,    // U: pending Release
        queued,             // U: queued
        releasing,
    };
    enum class Timer { t100_floor_release, t101_floor_request };
    static constexpr std::size_t kTimers = 2;
    using TimerCommand = mcx::TimerCommand<Timer>;

    struct Notice {
        Notice(FloorNotice w) : what(w) {}  // NOLINT: implicit on purpose
        FloorNotice what;
        std::string by;             // taken: the granted party's identity
        std::uint16_t cause = 0;    // denied / revoked
        std::string phrase;         // denied / revoked
        std::uint8_t position = 0;  // queued
    };

    struct Effects {
        std::vector<proto::floor::FloorMessage> send;  // to the floor control server
        std::vector<TimerCommand> timers;
        std::vector<Notice> notices;
    };

    FloorParticipant(std::uint32_t ssrc, std::uint8_t priority, ParticipantTimers timers = {});

    // The call is established (TS 24.380 6.2.4.2). With an implicit Floor Request (the INVITE
    // carried mc_implicit_request, 6.2.1) the participant already waits for the grant.
    Effects start(bool implicit_request);
    Effects press();    // the user asks to talk
    Effects release();  // the user stops talking (or withdraws the request)
    Effects on_message(const proto::floor::FloorMessage& message);
    Effects on_timer(Timer timer, std::uint64_t generation);
    Effects stop();  // the call is released (two-step release, 6.2.2)

    State state() const { return state_; }
    bool may_send_media() const { return state_ == State::has_permission; }
    std::uint64_t unexpected_messages() const { return unexpected_; }

  private:
    proto::floor::FloorMessage message(proto::floor::MessageType type) const;
    void send_request(Effects& effects);
    void send_release(Effects& effects);
    void ack_if_required(const proto::floor::FloorMessage& received, Effects& effects);
    // Every state change: logs "A -> B (event)"; `event` as in floor_participant.dot.
    void transition(State next, std::string_view event);

    std::uint32_t ssrc_;
    std::uint8_t priority_;
    ParticipantTimers config_;
    State state_ = State::start_stop;
    unsigned request_attempts_ = 0;
    unsigned release_attempts_ = 0;
    std::uint64_t unexpected_ = 0;
    TimerGenerations<Timer, kTimers> generations_;
};

inline constexpr std::array kFloorParticipantStates{
    FloorParticipant::State::start_stop,      FloorParticipant::State::has_no_permission,
    FloorParticipant::State::pending_request, FloorParticipant::State::has_permission,
    FloorParticipant::State::pending_release, FloorParticipant::State::queued,
    FloorParticipant::State::releasing,
};
inline constexpr std::array kFloorParticipantTimers{
    FloorParticipant::Timer::t100_floor_release,
    FloorParticipant::Timer::t101_floor_request,
};
static_assert(kFloorParticipantTimers.size() == FloorParticipant::kTimers);

const char* to_string(FloorParticipant::State state);

}  // namespace mcx::client
