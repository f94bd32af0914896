#include "client/floor_link.hpp"

#include <spdlog/spdlog.h>

#include "proto/floor_message.hpp"

namespace mcx::client {

Result<std::unique_ptr<FloorLink>> FloorLink::open(const std::string& host, Notify notify) {
    std::unique_ptr<FloorLink> self(new FloorLink());
    auto* raw = self.get();
    auto socket = net::UdpSocket::bind(
        host, 0, [raw](const net::Ipv4Endpoint&, std::span<const std::uint8_t> packet) {
            raw->on_packet(packet);
        });
    if (!socket) return tl::unexpected(socket.error());
    self->socket_ = std::move(*socket);
    self->notify_ = std::move(notify);
    return self;
}

FloorLink::~FloorLink() = default;

FloorParticipant::State FloorLink::state() const {
    return participant_ ? participant_->state() : FloorParticipant::State::start_stop;
}

void FloorLink::start(std::uint32_t ssrc, std::uint8_t priority, bool implicit_request) {
    if (participant_) return;
    participant_ = std::make_unique<FloorParticipant>(ssrc, priority);
    apply(participant_->start(implicit_request));
}

void FloorLink::stop() {
    if (!participant_) return;
    for (auto& timer : timers_) timer.cancel();
    auto effects = participant_->stop();
    effects.notices.clear();  // the call is going: nobody to tell
    apply(std::move(effects));
    participant_.reset();
}

Result<void> FloorLink::press() {
    if (!participant_) return fail(Errc::invalid_argument, "no call with floor control");
    if (participant_->state() != FloorParticipant::State::has_no_permission) {
        return fail(Errc::invalid_argument,
                    std::string("cannot request the floor in ") + to_string(participant_->state()));
    }
    apply(participant_->press());
    return {};
}

Result<void> FloorLink::release() {
    if (!participant_) return fail(Errc::invalid_argument, "no call with floor control");
    auto effects = participant_->release();
    if (effects.send.empty()) {
        return fail(Errc::invalid_argument,
                    std::string("nothing to release in ") + to_string(participant_->state()));
    }
    apply(std::move(effects));
    return {};
}

void FloorLink::on_packet(std::span<const std::uint8_t> packet) {
    if (!participant_) return;
    auto messages = proto::floor::decode_datagram(packet);
    if (!messages) {
        spdlog::debug("floor packet dropped: {}", messages.error().reason);
        return;
    }
    for (const auto& message : *messages) {
        if (!participant_) return;  // a notice stopped floor control
        apply(participant_->on_message(message));
    }
}

void FloorLink::apply(FloorParticipant::Effects effects) {
    for (const auto& message : effects.send) {
        if (!server_.valid()) continue;  // before the answer: the server's port is unknown
        socket_->send_to(server_, proto::floor::encode(message));
    }
    for (const auto& command : effects.timers) {
        auto& timer = timers_[static_cast<std::size_t>(command.timer)];
        if (!command.start) {
            timer.cancel();
            continue;
        }
        timer.start(command.duration, [this, t = command.timer, g = command.generation] {
            if (participant_) apply(participant_->on_timer(t, g));
        });
    }
    for (const auto& notice : effects.notices) {
        if (notify_) notify_(notice);
    }
}

}  // namespace mcx::client
