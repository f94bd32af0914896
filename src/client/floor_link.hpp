#pragma once
// Floor control of one call leg (TS 24.380 6.2): the UDP socket towards the floor control
// server, the pure FloorParticipant, its T100/T101 timers, and the notices for the user.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "client/floor_participant.hpp"
#include "common/error.hpp"
#include "net/endpoint.hpp"
#include "net/timer.hpp"
#include "net/udp_socket.hpp"

namespace mcx::client {

class FloorLink {
  public:
    // Runs for every notice of the participant; it may end the call (the link is then
    // destroyed in a later loop turn, never inside this call).
    using Notify = std::function<void(const FloorParticipant::Notice&)>;

    static Result<std::unique_ptr<FloorLink>> open(const std::string& host, Notify notify);
    ~FloorLink();
    FloorLink(const FloorLink&) = delete;
    FloorLink& operator=(const FloorLink&) = delete;

    std::uint16_t local_port() const { return socket_->local().port; }
    // Floor messages are sent only once the server's port is known (the SDP answer).
    void set_server(net::Ipv4Endpoint server) { server_ = server; }
    bool has_server() const { return server_.valid(); }

    // The call is established (TS 24.380 6.2.4.2); with an implicit request (6.2.1) the
    // participant already waits for the grant.
    void start(std::uint32_t ssrc, std::uint8_t priority, bool implicit_request);
    // Two-step release (6.2.2): stop floor control; the participant's state goes with the link.
    void stop();
    bool running() const { return participant_ != nullptr; }

    Result<void> press();
    Result<void> release();
    bool may_send_media() const { return participant_ && participant_->may_send_media(); }
    FloorParticipant::State state() const;

  private:
    FloorLink() = default;
    void on_packet(std::span<const std::uint8_t> packet);
    void apply(FloorParticipant::Effects effects);

    std::unique_ptr<net::UdpSocket> socket_;
    net::Ipv4Endpoint server_;
    Notify notify_;
    std::unique_ptr<FloorParticipant> participant_;
    std::array<net::Timer, FloorParticipant::kTimers> timers_;
};

}  // namespace mcx::client
