#pragma once
// Where SIP messages end on a stream transport (RFC 3261 18.3: the head ends at the empty line,
// the body is Content-Length bytes, which a stream must carry), found as bytes arrive, each byte
// looked at once, under a cap on the head and on the whole message. Keep-alive CRLFs between
// messages (RFC 5626 3.5.1) pass on as units of their own. Pure: net::SipStreamGuard feeds it
// what a connection receives and hands on only whole units, so libre decodes each message once
// instead of once per received segment. docs/security.md, "SIP over TCP and TLS".

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mcx::proto {

struct SipStreamRefusal {
    enum class Limit { none, head_bytes, message_bytes };  // none: a malformed head

    Limit limit = Limit::none;
    std::string reason;  // for the log
};

class SipStreamFramer {
  public:
    SipStreamFramer(std::size_t max_head_bytes, std::size_t max_message_bytes)
        : max_head_bytes_(max_head_bytes), max_message_bytes_(max_message_bytes) {}

    // Appends `received` and moves the whole units it completes (messages, keep-alive CRLF
    // pairs), in order, to `complete` (replacing its content); the rest stays buffered. After a
    // refusal the stream cannot be framed any more: the connection is to be closed.
    std::optional<SipStreamRefusal> feed(std::string_view received, std::string& complete);

    // Bytes of an unfinished unit are buffered.
    bool mid_unit() const { return !buffer_.empty(); }

  private:
    std::optional<SipStreamRefusal> frame_head(std::size_t unit_begin);

    std::size_t max_head_bytes_;
    std::size_t max_message_bytes_;
    std::string buffer_;
    std::size_t scanned_ = 0;      // buffer_ before this holds no head-ending empty line
    std::size_t message_end_ = 0;  // 0 until the head of the current message is framed
};

}  // namespace mcx::proto
