#pragma once
// One SIP OPTIONS request outside any dialog (RFC 3261 11), with a timeout of our own far
// shorter than Timer F (32 s): the client's keep-alive towards the MC system serving it
// (TS 23.280 10.16.3 pre-condition 2: the UE detects that it must change MC system).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "net/endpoint.hpp"
#include "net/sip_message.hpp"
#include "net/timer.hpp"

struct sip_request;

namespace mcx::net {

class SipStack;

class OptionsProbe {
  public:
    // `status` 0: no answer in time, or a transport error (e.g. ICMP port unreachable).
    using Handler = std::function<void(std::uint16_t status)>;

    // `uri`: Request-URI, e.g. "sip:a.mcx"; `to`: where to send it.
    static Result<std::unique_ptr<OptionsProbe>> send(SipStack& stack, const std::string& uri,
                                                      const Endpoint& to, Transport transport,
                                                      std::chrono::milliseconds timeout,
                                                      Handler handler);
    ~OptionsProbe();  // cancels a probe still under way; its handler is not called
    OptionsProbe(const OptionsProbe&) = delete;
    OptionsProbe& operator=(const OptionsProbe&) = delete;

  private:
    OptionsProbe() = default;
    friend struct OptionsProbeCallbacks;
    void finish(std::uint16_t status);

    sip_request* request_ = nullptr;
    Timer timeout_;
    Handler handler_;
    bool done_ = false;
};

}  // namespace mcx::net
