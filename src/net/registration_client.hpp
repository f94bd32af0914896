#pragma once
// Client side of SIP registration (RFC 3261 10.2) with a message body, which libre's sipreg
// cannot send: the MCPTT service-authorisation REGISTER carries an mcptt-info body with the
// access token (TS 24.379 7.3.1; docs/sip-profile.md). Refreshes at half the granted expiry.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "net/endpoint.hpp"
#include "net/sip_message.hpp"
#include "net/timer.hpp"

struct sip_dialog;
struct sip_request;

namespace mcx::net {

class SipStack;

struct RegistrationOptions {
    std::string registrar_uri;  // Request-URI, e.g. "sip:a.mcx"
    Endpoint registrar;         // where to send it
    Transport transport = Transport::udp;
    std::string aor;  // To and From, e.g. "sip:alice@a.mcx"
    std::string contact_user;
    std::string contact_params;
    std::uint32_t expires = 600;
    std::string headers;
    std::string content_type;
    std::string body;
};

enum class RegistrationEvent { registered, failed, unregistered };

class RegistrationClient {
  public:
    // `response` is null when no response arrived (timeout, transport error).
    using Handler = std::function<void(RegistrationEvent, const SipMessage* response)>;

    static Result<std::unique_ptr<RegistrationClient>> start(SipStack& stack,
                                                             RegistrationOptions opts,
                                                             Handler handler);
    ~RegistrationClient();
    RegistrationClient(const RegistrationClient&) = delete;
    RegistrationClient& operator=(const RegistrationClient&) = delete;

    // Sends REGISTER with Expires: 0; `unregistered` follows.
    void stop();
    std::uint32_t granted_expires() const { return granted_expires_; }

  private:
    RegistrationClient(SipStack& stack, RegistrationOptions opts, Handler handler);
    friend struct RegistrationCallbacks;
    Result<void> send(std::uint32_t expires);
    void on_response(int err, const SipMessage* msg);

    SipStack& stack_;
    RegistrationOptions opts_;
    Handler handler_;
    sip_dialog* dialog_ = nullptr;
    sip_request* request_ = nullptr;
    Timer refresh_;
    std::uint32_t granted_expires_ = 0;
    bool stopping_ = false;
    // A 503 with Retry-After is tried again, this many times in a row at most.
    static constexpr int kMaxRetriesAfter503 = 5;
    int retries_after_503_ = 0;
};

}  // namespace mcx::net
