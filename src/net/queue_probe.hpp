#pragma once
// How late the SIP loop serves what reaches its UDP port. A timer on the loop cannot tell:
// libre reads one datagram per poll round and runs timers in between, so a deep kernel
// receive queue leaves timers on time. The probe sends a small OPTIONS to the SIP port from a
// socket of its own every interval; the time from send to dispatch is the queue's delay. A
// probe still waiting at the next tick reports its age so far (a lost one, after 1 s, is
// replaced), and a tick that fires late reports its lateness (a loop blocked or not scheduled).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "common/error.hpp"
#include "net/endpoint.hpp"
#include "net/sip_message.hpp"
#include "net/timer.hpp"

namespace mcx::net {

class UdpSocket;

class QueueProbe {
  public:
    using DelayHandler = std::function<void(std::int64_t now_ms, std::int64_t delay_ms)>;

    // On the loop thread of the SipStack listening on UDP `sip_udp`.
    static Result<std::unique_ptr<QueueProbe>> start(const Endpoint& sip_udp,
                                                     std::chrono::milliseconds interval,
                                                     DelayHandler on_delay);
    ~QueueProbe();
    QueueProbe(const QueueProbe&) = delete;
    QueueProbe& operator=(const QueueProbe&) = delete;

    // Whether `msg` is one of this probe's requests; then it is measured and must not be
    // answered or handled further.
    bool consume(const SipMessage& msg);
    Endpoint local() const { return local_; }

  private:
    QueueProbe() = default;
    void tick();
    void send();

    Endpoint target_;
    Endpoint local_;
    std::chrono::milliseconds interval_{};
    DelayHandler on_delay_;
    std::unique_ptr<UdpSocket> socket_;
    Timer timer_;
    std::uint32_t sequence_ = 0;
    std::int64_t sent_at_ms_ = -1;  // the outstanding probe's, -1 when none
    std::int64_t due_at_ms_ = 0;    // when the timer should fire next
};

}  // namespace mcx::net
