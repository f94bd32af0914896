#pragma once
// A received SIP request or response (parsed by libre). The handle keeps the message alive, so
// it may be stored and answered later; the string_views it returns live as long as the handle.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "net/endpoint.hpp"

struct sip_msg;

namespace mcx::net {

class SipMessage {
  public:
    SipMessage() = default;
    explicit SipMessage(const sip_msg* msg);  // takes a reference
    SipMessage(const SipMessage& other);
    SipMessage& operator=(const SipMessage& other);
    SipMessage(SipMessage&& other) noexcept;
    SipMessage& operator=(SipMessage&& other) noexcept;
    ~SipMessage();

    explicit operator bool() const { return msg_ != nullptr; }
    bool is_request() const;
    std::string_view method() const;       // request method, or CSeq method of a response
    std::string_view request_uri() const;  // requests only
    std::uint16_t status() const;          // responses only
    std::string_view reason() const;

    // First header with this name (case-insensitive; compact forms are not expanded).
    std::optional<std::string_view> header(std::string_view name) const;
    std::vector<std::string_view> headers(std::string_view name) const;

    std::string_view call_id() const;
    std::uint32_t cseq() const;
    std::string_view from_uri() const;  // addr-spec of From
    std::string_view to_uri() const;    // addr-spec of To
    std::string_view to_tag() const;
    std::string_view content_type() const;  // full Content-Type value, empty if none
    std::string_view body() const;

    Endpoint source() const;
    Endpoint destination() const;  // our local address the message arrived on
    Transport transport() const;

    const sip_msg* raw() const { return msg_; }

    // The message as bytes and addresses, to hand it to another thread: libre's objects (and
    // their reference counts) belong to the thread that made them, so the other thread decodes
    // its own copy with from_wire().
    struct Wire {
        std::string bytes;
        Endpoint source;
        Endpoint destination;
        Transport transport = Transport::udp;
    };
    Wire to_wire() const;
    static Result<SipMessage> from_wire(const Wire& wire);

  private:
    const sip_msg* msg_ = nullptr;
};

}  // namespace mcx::net
