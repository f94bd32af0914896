#include "client/floor_participant.hpp"

#include <spdlog/spdlog.h>

namespace mcx::client {

using proto::floor::FloorMessage;
using proto::floor::MessageType;
using State = FloorParticipant::State;

const char* to_string(FloorNotice notice) {
    switch (notice) {
        case FloorNotice::granted:
            return "floor-granted";
        case FloorNotice::denied:
            return "floor-denied";
        case FloorNotice::taken:
            return "floor-taken";
        case FloorNotice::idle:
            return "floor-idle";
        case FloorNotice::revoked:
            return "floor-revoked";
        case FloorNotice::queued:
            return "floor-queued";
        case FloorNotice::request_timeout:
            return "floor-request-timeout";
    }
    return "unknown";
}

const char* to_string(FloorParticipant::State state) {
    switch (state) {
        case State::start_stop:
            return "Start-stop";
        case State::has_no_permission:
            return "U: has no permission";
        case State::pending_request:
            return "U: pending Request";
        case State::has_permission:
            return "U: has permission";
        case State::pending_release:
            return "U: pending Release";
        case State::queued:
            return "U: queued";
        case State::releasing:
            return "Releasing";
    }
    return "unknown";
}

FloorParticipant::FloorParticipant(std::uint32_t ssrc, std::uint8_t priority,
                                   ParticipantTimers timers)
    : ssrc_(ssrc), priority_(priority), config_(timers) {}

void FloorParticipant::transition(State next, std::string_view event) {
    if (next == state_) return;
    spdlog::debug("floor participant {:08x}: {} -> {} ({})", ssrc_, to_string(state_),
                  to_string(next), event);
    state_ = next;
}

FloorMessage FloorParticipant::message(MessageType type) const {
    FloorMessage m;
    m.type = type;
    m.ssrc = ssrc_;
    return m;
}

void FloorParticipant::send_request(Effects& effects) {
    auto m = message(MessageType::floor_request);
    if (priority_ > 0) m.floor_priority = priority_;
    effects.send.push_back(m);
    ++request_attempts_;
    effects.timers.push_back(
        generations_.start(Timer::t101_floor_request, config_.t101_floor_request));
}

void FloorParticipant::send_release(Effects& effects) {
    effects.send.push_back(message(MessageType::floor_release));
    ++release_attempts_;
    effects.timers.push_back(
        generations_.start(Timer::t100_floor_release, config_.t100_floor_release));
}

void FloorParticipant::ack_if_required(const FloorMessage& received, Effects& effects) {
    if (!received.ack_required) return;
    auto m = message(MessageType::floor_ack);
    m.source = proto::floor::Source::floor_participant;
    m.acknowledged_type = received.type;
    effects.send.push_back(m);
}

FloorParticipant::Effects FloorParticipant::start(bool implicit_request) {
    Effects effects;
    if (state_ != State::start_stop) return effects;
    if (implicit_request) {
        // TS 24.380 6.2.1: the INVITE was the Floor Request; T101 runs from it.
        request_attempts_ = 1;
        effects.timers.push_back(
            generations_.start(Timer::t101_floor_request, config_.t101_floor_request));
        transition(State::pending_request, "start (implicit request)");
    } else {
        transition(State::has_no_permission, "start");
    }
    return effects;
}

FloorParticipant::Effects FloorParticipant::press() {
    Effects effects;
    if (state_ != State::has_no_permission) return effects;
    request_attempts_ = 0;
    send_request(effects);
    transition(State::pending_request, "press");
    return effects;
}

FloorParticipant::Effects FloorParticipant::release() {
    Effects effects;
    switch (state_) {
        case State::has_permission:
        case State::pending_request:
        case State::queued:
            effects.timers.push_back(generations_.cancel(Timer::t101_floor_request));
            release_attempts_ = 0;
            send_release(effects);
            transition(State::pending_release, "release");
            return effects;
        case State::start_stop:
        case State::has_no_permission:
        case State::pending_release:
        case State::releasing:
            return effects;
    }
    return effects;
}

FloorParticipant::Effects FloorParticipant::on_message(const FloorMessage& m) {
    Effects effects;
    if (state_ == State::start_stop || state_ == State::releasing) {
        ++unexpected_;
        return effects;
    }
    ack_if_required(m, effects);
    switch (m.type) {
        case MessageType::floor_granted:
            if (state_ == State::pending_request || state_ == State::queued) {
                effects.timers.push_back(generations_.cancel(Timer::t101_floor_request));
                transition(State::has_permission, to_string(m.type));
                effects.notices.push_back({FloorNotice::granted});
            } else if (state_ != State::has_permission) {
                ++unexpected_;  // a grant we did not ask for (or a late one): not taken
            }
            return effects;
        case MessageType::floor_deny:
            if (state_ == State::pending_request || state_ == State::queued) {
                effects.timers.push_back(generations_.cancel(Timer::t101_floor_request));
                transition(State::has_no_permission, to_string(m.type));
                Notice n{FloorNotice::denied};
                if (m.reject_cause) {
                    n.cause = m.reject_cause->code;
                    n.phrase = m.reject_cause->phrase;
                }
                effects.notices.push_back(n);
            } else {
                ++unexpected_;
            }
            return effects;
        case MessageType::floor_taken: {
            Notice n{FloorNotice::taken};
            n.by = m.granted_party_identity.value_or("");
            if (state_ == State::pending_release || state_ == State::has_permission) {
                effects.timers.push_back(generations_.cancel(Timer::t100_floor_release));
                transition(State::has_no_permission, to_string(m.type));
            }
            // [mcx-defined] In U: pending Request a Floor Taken (someone else won the race) does
            // not end the request: the server's Deny or Queue Position Info for it follows.
            effects.notices.push_back(n);
            return effects;
        }
        case MessageType::floor_idle:
            if (state_ == State::pending_release || state_ == State::has_permission ||
                state_ == State::queued) {
                effects.timers.push_back(generations_.cancel(Timer::t100_floor_release));
                transition(State::has_no_permission, to_string(m.type));
            }
            effects.notices.push_back({FloorNotice::idle});
            return effects;
        case MessageType::floor_revoke:
            if (state_ == State::has_permission) {
                // TS 24.380 6.2.4.5: stop sending media and release the floor.
                Notice n{FloorNotice::revoked};
                if (m.reject_cause) {
                    n.cause = m.reject_cause->code;
                    n.phrase = m.reject_cause->phrase;
                }
                effects.notices.push_back(n);
                release_attempts_ = 0;
                send_release(effects);
                transition(State::pending_release, to_string(m.type));
            } else {
                ++unexpected_;
            }
            return effects;
        case MessageType::floor_queue_position_info:
            if (state_ == State::pending_request || state_ == State::queued) {
                effects.timers.push_back(generations_.cancel(Timer::t101_floor_request));
                transition(State::queued, to_string(m.type));
                Notice n{FloorNotice::queued};
                if (m.queue_info) n.position = m.queue_info->position;
                effects.notices.push_back(n);
            } else {
                ++unexpected_;
            }
            return effects;
        case MessageType::floor_ack:
            return effects;
        case MessageType::floor_request:
        case MessageType::floor_release:
        case MessageType::floor_queue_position_request:
            ++unexpected_;  // client-to-server messages
            return effects;
    }
    ++unexpected_;
    return effects;
}

FloorParticipant::Effects FloorParticipant::on_timer(Timer timer, std::uint64_t generation) {
    Effects effects;
    if (!generations_.current(timer, generation)) return effects;
    switch (timer) {
        case Timer::t101_floor_request:
            if (state_ != State::pending_request) return effects;
            if (request_attempts_ < config_.c101_floor_request) {
                send_request(effects);  // TS 24.380 6.2.4.4: T101 expiry, C101 not reached
            } else {
                transition(State::has_no_permission, "T101 expired");
                effects.notices.push_back({FloorNotice::request_timeout});
            }
            return effects;
        case Timer::t100_floor_release:
            if (state_ != State::pending_release) return effects;
            if (release_attempts_ < config_.c100_floor_release) {
                send_release(effects);
            } else {
                // C100 reached: assume the floor is released.
                transition(State::has_no_permission, "T100 expired");
            }
            return effects;
    }
    return effects;
}

FloorParticipant::Effects FloorParticipant::stop() {
    Effects effects;
    effects.timers.push_back(generations_.cancel(Timer::t100_floor_release));
    effects.timers.push_back(generations_.cancel(Timer::t101_floor_request));
    transition(State::releasing, "stop");
    return effects;
}

}  // namespace mcx::client
