#include "net/sip_message.hpp"

#include <cctype>

#include "net/re_include.hpp"

namespace mcx::net {

namespace {

bool name_equals(const pl& name, std::string_view wanted) {
    if (name.l != wanted.size()) return false;
    for (size_t i = 0; i < name.l; ++i) {
        if (std::tolower(static_cast<unsigned char>(name.p[i])) !=
            std::tolower(static_cast<unsigned char>(wanted[i]))) {
            return false;
        }
    }
    return true;
}

std::string_view view(const pl& p) {
    return p.p ? std::string_view(p.p, p.l) : std::string_view{};
}

}  // namespace

SipMessage::Wire SipMessage::to_wire() const {
    Wire wire;
    if (!msg_) return wire;
    // The message starts at its start line, not always at offset 0: over TCP libre skips
    // CRLF keep-alives (RFC 5626 3.5.1) in the same buffer; it ends at mb->end.
    const auto* buffer = reinterpret_cast<const char*>(msg_->mb->buf);
    const char* start = msg_->req ? msg_->met.p : msg_->ver.p;
    if (!start || start < buffer || start > buffer + msg_->mb->end) return wire;
    wire.bytes.assign(start, buffer + msg_->mb->end);
    wire.source = source();
    wire.destination = destination();
    wire.transport = transport();
    return wire;
}

Result<SipMessage> SipMessage::from_wire(const Wire& wire) {
    mbuf* mb = mbuf_alloc(wire.bytes.size() + 1);
    if (!mb) return fail(Errc::io, "out of memory");
    (void)mbuf_write_mem(mb, reinterpret_cast<const std::uint8_t*>(wire.bytes.data()),
                         wire.bytes.size());
    mb->pos = 0;
    sip_msg* msg = nullptr;
    const int err = sip_msg_decode(&msg, mb);
    mem_deref(mb);
    if (err) return fail(Errc::malformed, "SIP message does not decode: " + std::to_string(err));
    (void)sa_set_str(&msg->src, wire.source.host.c_str(), wire.source.port);
    (void)sa_set_str(&msg->dst, wire.destination.host.c_str(), wire.destination.port);
    msg->tp = to_libre(wire.transport);
    SipMessage out(msg);
    mem_deref(msg);
    return out;
}

SipMessage::SipMessage(const sip_msg* msg)
    : msg_(static_cast<const sip_msg*>(mem_ref(const_cast<sip_msg*>(msg)))) {}

SipMessage::SipMessage(const SipMessage& other) : SipMessage(other.msg_) {}

SipMessage& SipMessage::operator=(const SipMessage& other) {
    if (this != &other) {
        mem_deref(const_cast<sip_msg*>(msg_));
        msg_ = static_cast<const sip_msg*>(mem_ref(const_cast<sip_msg*>(other.msg_)));
    }
    return *this;
}

SipMessage::SipMessage(SipMessage&& other) noexcept : msg_(other.msg_) {
    other.msg_ = nullptr;
}

SipMessage& SipMessage::operator=(SipMessage&& other) noexcept {
    if (this != &other) {
        mem_deref(const_cast<sip_msg*>(msg_));
        msg_ = other.msg_;
        other.msg_ = nullptr;
    }
    return *this;
}

SipMessage::~SipMessage() {
    mem_deref(const_cast<sip_msg*>(msg_));
}

bool SipMessage::is_request() const {
    return msg_->req;
}

std::string_view SipMessage::method() const {
    return msg_->req ? view(msg_->met) : view(msg_->cseq.met);
}

std::string_view SipMessage::request_uri() const {
    return view(msg_->ruri);
}

std::uint16_t SipMessage::status() const {
    return msg_->scode;
}

std::string_view SipMessage::reason() const {
    return view(msg_->reason);
}

std::optional<std::string_view> SipMessage::header(std::string_view name) const {
    for (le* e = msg_->hdrl.head; e; e = e->next) {
        const auto* hdr = static_cast<const sip_hdr*>(e->data);
        if (name_equals(hdr->name, name)) {
            return view(hdr->val);
        }
    }
    return std::nullopt;
}

std::vector<std::string_view> SipMessage::headers(std::string_view name) const {
    std::vector<std::string_view> out;
    for (le* e = msg_->hdrl.head; e; e = e->next) {
        const auto* hdr = static_cast<const sip_hdr*>(e->data);
        if (name_equals(hdr->name, name)) {
            out.push_back(view(hdr->val));
        }
    }
    return out;
}

std::string_view SipMessage::call_id() const {
    return view(msg_->callid);
}

std::uint32_t SipMessage::cseq() const {
    return msg_->cseq.num;
}

std::string_view SipMessage::from_uri() const {
    return view(msg_->from.auri);
}

std::string_view SipMessage::to_uri() const {
    return view(msg_->to.auri);
}

std::string_view SipMessage::to_tag() const {
    return view(msg_->to.tag);
}

std::string_view SipMessage::content_type() const {
    auto ct = header("Content-Type");
    if (!ct) ct = header("c");
    return ct ? *ct : std::string_view{};
}

std::string_view SipMessage::body() const {
    return std::string_view(reinterpret_cast<const char*>(mbuf_buf(msg_->mb)),
                            mbuf_get_left(msg_->mb));
}

Endpoint SipMessage::source() const {
    return to_endpoint(&msg_->src);
}

Endpoint SipMessage::destination() const {
    return to_endpoint(&msg_->dst);
}

Transport SipMessage::transport() const {
    return from_libre(msg_->tp);
}

}  // namespace mcx::net
