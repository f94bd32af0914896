#include "server/floor_control_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace mcx::server {

using proto::floor::FloorMessage;
using proto::floor::MessageType;

const char* to_string(FloorControlServer::State state) {
    switch (state) {
        case FloorControlServer::State::start_stop:
            return "Start-stop";
        case FloorControlServer::State::floor_idle:
            return "G: Floor Idle";
        case FloorControlServer::State::floor_taken:
            return "G: Floor Taken";
        case FloorControlServer::State::pending_floor_revoke:
            return "G: pending Floor Revoke";
        case FloorControlServer::State::releasing:
            return "Releasing";
    }
    return "unknown";
}

FloorControlServer::FloorControlServer(std::vector<Participant> participants,
                                       std::uint32_t server_ssrc, FloorTimers timers)
    : participants_(std::move(participants)),
      ssrc_(server_ssrc),
      config_(timers),
      sending_without_floor_(participants_.size(), false) {}

void FloorControlServer::transition(State next, std::string_view event) {
    if (next == state_) return;
    spdlog::debug("floor control {:08x}: {} -> {} ({})", ssrc_, to_string(state_), to_string(next),
                  event);
    state_ = next;
}

FloorMessage FloorControlServer::message(MessageType type) const {
    FloorMessage m;
    m.type = type;
    m.ssrc = ssrc_;
    return m;
}

FloorControlServer::Effects FloorControlServer::start(
    std::optional<std::size_t> implicit_request_from) {
    Effects effects;
    if (state_ != State::start_stop) return effects;
    if (implicit_request_from && *implicit_request_from < participants_.size()) {
        // TS 24.380 6.3.4.2: an implicit Floor Request is granted when the floor is idle.
        grant(*implicit_request_from, "start (implicit request)", effects);
    } else {
        transition(State::floor_idle, "start");
        ++sequence_;
        for (std::size_t p = 0; p < participants_.size(); ++p) send_idle(p, effects);
    }
    return effects;
}

void FloorControlServer::send_floor_granted(std::size_t to, Effects& effects) {
    auto m = message(MessageType::floor_granted);
    m.ack_required = true;  // retransmitted under T20/C20 until the Floor Ack
    m.duration = static_cast<std::uint16_t>(
        std::chrono::duration_cast<std::chrono::seconds>(config_.t2_stop_talking).count());
    if (participants_[to].priority > 0) m.floor_priority = participants_[to].priority;
    effects.send.push_back({to, m});
    ++granted_attempts_;
    effects.timers.push_back(
        generations_.start(Timer::t20_floor_granted, config_.t20_floor_granted));
}

void FloorControlServer::send_taken(std::size_t to, Effects& effects) {
    auto m = message(MessageType::floor_taken);
    m.granted_party_identity = participants_[*holder_].mc_service_id;
    m.permission_to_request = true;
    m.message_sequence_number = sequence_;
    m.floor_indicator =
        proto::floor::floor_indicator::normal_call |
        (participants_[to].queueing ? proto::floor::floor_indicator::queueing_supported
                                    : std::uint16_t{0});
    effects.send.push_back({to, m});
}

void FloorControlServer::send_idle(std::size_t to, Effects& effects) {
    auto m = message(MessageType::floor_idle);
    m.message_sequence_number = sequence_;
    m.floor_indicator = proto::floor::floor_indicator::normal_call;
    effects.send.push_back({to, m});
}

void FloorControlServer::deny(std::size_t to, std::uint16_t cause, const char* phrase,
                              Effects& effects) {
    auto m = message(MessageType::floor_deny);
    m.reject_cause = proto::floor::RejectCause{cause, phrase};
    effects.send.push_back({to, m});
    ++counters_.denials;
}

void FloorControlServer::send_queue_info(std::size_t to, Effects& effects) {
    const auto it = std::find(queue_.begin(), queue_.end(), to);
    auto m = message(MessageType::floor_queue_position_info);
    m.queue_info =
        proto::floor::QueueInfo{static_cast<std::uint8_t>(std::distance(queue_.begin(), it) + 1),
                                participants_[to].priority};
    effects.send.push_back({to, m});
}

void FloorControlServer::grant(std::size_t to, std::string_view event, Effects& effects) {
    holder_ = to;
    transition(State::floor_taken, event);
    granted_attempts_ = 0;
    ++sequence_;
    ++counters_.grants;
    sending_without_floor_[to] = false;
    send_floor_granted(to, effects);
    for (std::size_t p = 0; p < participants_.size(); ++p) {
        if (p != to) send_taken(p, effects);
    }
    effects.timers.push_back(generations_.start(Timer::t1_end_of_rtp, config_.t1_end_of_rtp));
    effects.timers.push_back(generations_.start(Timer::t2_stop_talking, config_.t2_stop_talking));
}

void FloorControlServer::release_floor(std::string_view event, Effects& effects) {
    for (auto t : {Timer::t1_end_of_rtp, Timer::t2_stop_talking, Timer::t3_stop_talking_grace,
                   Timer::t20_floor_granted}) {
        effects.timers.push_back(generations_.cancel(t));
    }
    holder_.reset();
    if (!queue_.empty()) {
        // TS 24.380 6.3.4.4: the first queued request gets the floor.
        const auto next = queue_.front();
        queue_.pop_front();
        grant(next, event, effects);
        return;
    }
    transition(State::floor_idle, event);
    ++sequence_;
    for (std::size_t p = 0; p < participants_.size(); ++p) send_idle(p, effects);
}

void FloorControlServer::ack_if_required(std::size_t to, const FloorMessage& received,
                                         Effects& effects) {
    if (!received.ack_required) return;
    auto m = message(MessageType::floor_ack);
    m.source = proto::floor::Source::controlling_function;
    m.acknowledged_type = received.type;
    effects.send.push_back({to, m});
}

FloorControlServer::Effects FloorControlServer::on_message(std::size_t from,
                                                           const FloorMessage& m) {
    Effects effects;
    if (from >= participants_.size() || state_ == State::start_stop || state_ == State::releasing) {
        ++counters_.unexpected_messages;
        return effects;
    }
    switch (m.type) {
        case MessageType::floor_request:
            ack_if_required(from, m, effects);
            if (holder_ == from) {
                send_floor_granted(from, effects);  // a repeated request: repeat the grant
            } else if (state_ == State::floor_idle) {
                grant(from, "Floor Request", effects);
            } else if (participants_[from].queueing) {
                if (std::find(queue_.begin(), queue_.end(), from) == queue_.end()) {
                    queue_.push_back(from);
                }
                send_queue_info(from, effects);
            } else {
                deny(from, proto::floor::deny_cause::another_client_has_permission,
                     "Another MCPTT client has permission", effects);
            }
            return effects;
        case MessageType::floor_release:
            ack_if_required(from, m, effects);
            if (holder_ == from) {
                release_floor("Floor Release from holder", effects);
            } else if (auto it = std::find(queue_.begin(), queue_.end(), from);
                       it != queue_.end()) {
                queue_.erase(it);  // the queued request is withdrawn
                send_taken(from, effects);
            } else if (holder_) {
                send_taken(from, effects);
            } else {
                send_idle(from, effects);
            }
            return effects;
        case MessageType::floor_queue_position_request:
            if (std::find(queue_.begin(), queue_.end(), from) != queue_.end()) {
                send_queue_info(from, effects);
            } else if (holder_) {
                send_taken(from, effects);
            } else {
                send_idle(from, effects);
            }
            return effects;
        case MessageType::floor_ack:
            if (m.acknowledged_type == MessageType::floor_granted && holder_ == from) {
                effects.timers.push_back(generations_.cancel(Timer::t20_floor_granted));
            }
            return effects;
        case MessageType::floor_granted:
        case MessageType::floor_taken:
        case MessageType::floor_deny:
        case MessageType::floor_idle:
        case MessageType::floor_revoke:
        case MessageType::floor_queue_position_info:
            ++counters_.unexpected_messages;  // server-to-client messages from a client
            return effects;
    }
    ++counters_.unexpected_messages;
    return effects;
}

bool FloorControlServer::on_rtp(std::size_t from, Effects& effects) {
    if (holder_ == from &&
        (state_ == State::floor_taken || state_ == State::pending_floor_revoke)) {
        effects.timers.push_back(generations_.start(Timer::t1_end_of_rtp, config_.t1_end_of_rtp));
        return true;
    }
    // TS 24.380 6.3.5: media from a participant without permission is not distributed.
    // [mcx-defined] no Floor Revoke for it: trailing packets of a just-released burst are common.
    ++counters_.media_dropped;
    return false;
}

FloorControlServer::Effects FloorControlServer::on_timer(Timer timer, std::uint64_t generation) {
    Effects effects;
    if (!generations_.current(timer, generation)) return effects;  // stale expiry
    switch (timer) {
        case Timer::t1_end_of_rtp:
            if (holder_) release_floor("T1 expired", effects);  // the talker went silent
            return effects;
        case Timer::t2_stop_talking:
            if (state_ == State::floor_taken && holder_) {
                auto m = message(MessageType::floor_revoke);
                m.reject_cause = proto::floor::RejectCause{
                    proto::floor::revoke_cause::media_burst_too_long, "Media burst too long"};
                effects.send.push_back({*holder_, m});
                ++counters_.revokes;
                transition(State::pending_floor_revoke, "T2 expired");
                effects.timers.push_back(generations_.start(Timer::t3_stop_talking_grace,
                                                            config_.t3_stop_talking_grace));
            }
            return effects;
        case Timer::t3_stop_talking_grace:
            if (state_ == State::pending_floor_revoke) release_floor("T3 expired", effects);
            return effects;
        case Timer::t20_floor_granted:
            if (holder_ && granted_attempts_ < config_.c20_floor_granted) {
                send_floor_granted(*holder_, effects);
            }
            return effects;
    }
    return effects;
}

FloorControlServer::Effects FloorControlServer::stop() {
    Effects effects;
    for (auto t : {Timer::t1_end_of_rtp, Timer::t2_stop_talking, Timer::t3_stop_talking_grace,
                   Timer::t20_floor_granted}) {
        effects.timers.push_back(generations_.cancel(t));
    }
    transition(State::releasing, "stop");
    holder_.reset();
    queue_.clear();
    return effects;
}

}  // namespace mcx::server
