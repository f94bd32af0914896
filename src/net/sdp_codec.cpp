#include "net/sdp_codec.hpp"

#include <memory>

#include "net/re_include.hpp"
#include "proto/limits.hpp"

namespace mcx::net {

namespace {

struct Deref {
    void operator()(void* p) const { mem_deref(p); }
};
using SessionPtr = std::unique_ptr<sdp_session, Deref>;
using MbufPtr = std::unique_ptr<mbuf, Deref>;

std::string address_of(const sa* addr) {
    if (!sa_isset(addr, SA_ADDR)) return {};
    return to_endpoint(addr).host;
}

proto::SdpDirection from_libre(enum sdp_dir dir) {
    // libre stores the remote direction from our point of view: their "recvonly" is our sendonly.
    switch (dir) {
        case SDP_INACTIVE:
            return proto::SdpDirection::inactive;
        case SDP_RECVONLY:
            return proto::SdpDirection::sendonly;
        case SDP_SENDONLY:
            return proto::SdpDirection::recvonly;
        case SDP_SENDRECV:
            return proto::SdpDirection::sendrecv;
    }
    return proto::SdpDirection::sendrecv;
}

enum sdp_dir to_libre(proto::SdpDirection dir) {
    switch (dir) {
        case proto::SdpDirection::inactive:
            return SDP_INACTIVE;
        case proto::SdpDirection::sendonly:
            return SDP_SENDONLY;
        case proto::SdpDirection::recvonly:
            return SDP_RECVONLY;
        case proto::SdpDirection::sendrecv:
            return SDP_SENDRECV;
    }
    return SDP_SENDRECV;
}

bool collect_attribute(const char* name, const char* value, void* arg) {
    auto* out = static_cast<std::vector<std::pair<std::string, std::string>>*>(arg);
    out->emplace_back(name ? name : "", value ? value : "");
    return false;  // keep iterating
}

}  // namespace

Result<proto::SessionDescription> decode_sdp(std::string_view text) {
    if (text.size() > proto::kMaxSipBodyBytes) return fail(Errc::malformed, "SDP: too large");
    // RFC 4566 9: no field of the grammar holds a NUL (byte-string, token); libre would keep
    // one inside a format or address, and C strings built from it would be cut short there.
    if (text.find('\0') != std::string_view::npos) return fail(Errc::malformed, "SDP: NUL byte");
    sa any;
    sa_set_str(&any, "0.0.0.0", 0);
    sdp_session* raw = nullptr;
    if (sdp_session_alloc(&raw, &any) != 0) return fail(Errc::internal, "SDP: out of memory");
    SessionPtr session(raw);
    MbufPtr mb(mbuf_alloc(text.size() + 1));
    mbuf_write_mem(mb.get(), reinterpret_cast<const uint8_t*>(text.data()), text.size());
    mb->pos = 0;
    if (int err = sdp_decode(session.get(), mb.get(), true); err != 0) {
        return fail(Errc::malformed, "SDP: cannot parse (" + std::string(strerror(err)) + ")");
    }
    proto::SessionDescription sd;
    bool have_session_address = false;
    for (le* e = sdp_session_medial(session.get(), false)->head; e; e = e->next) {
        auto* m = static_cast<sdp_media*>(e->data);
        proto::SdpMedia media;
        media.type = sdp_media_name(m);
        media.proto = sdp_media_proto(m);
        media.port = sdp_media_rport(m);
        media.address = address_of(sdp_media_raddr(m));
        if (!have_session_address && !media.address.empty()) {
            sd.address = media.address;
            have_session_address = true;
        }
        sa rtcp;
        sdp_media_raddr_rtcp(m, &rtcp);
        if (sa_port(&rtcp) != 0 && sa_port(&rtcp) != media.port + 1) {
            media.rtcp_port = sa_port(&rtcp);
        }
        media.direction = from_libre(sdp_media_rdir(m));
        for (le* f = sdp_media_format_lst(m, false)->head; f; f = f->next) {
            const auto* fmt = static_cast<const sdp_format*>(f->data);
            proto::SdpFormat format;
            format.id = fmt->id ? fmt->id : "";
            format.name = fmt->name ? fmt->name : "";
            format.srate = fmt->srate;
            format.channels = fmt->ch ? fmt->ch : 1;
            format.params = fmt->params ? fmt->params : "";
            media.formats.push_back(std::move(format));
        }
        sdp_media_rattr_apply(m, nullptr, &collect_attribute, &media.attributes);
        sd.media.push_back(std::move(media));
    }
    if (sd.media.empty()) return fail(Errc::malformed, "SDP: no m= line");
    return sd;
}

Result<std::string> encode_sdp(const proto::SessionDescription& sd) {
    sa laddr;
    if (sa_set_str(&laddr, sd.address.c_str(), 0) != 0) {
        return fail(Errc::invalid_argument, "SDP: session address is not an IP literal");
    }
    sdp_session* raw = nullptr;
    if (sdp_session_alloc(&raw, &laddr) != 0) return fail(Errc::internal, "SDP: out of memory");
    SessionPtr session(raw);
    for (const auto& media : sd.media) {
        sdp_media* m = nullptr;
        if (sdp_media_add(&m, session.get(), media.type.c_str(), media.port, media.proto.c_str()) !=
            0) {
            return fail(Errc::internal, "SDP: cannot add media");
        }
        if (!media.address.empty() && media.address != sd.address) {
            sa maddr;
            if (sa_set_str(&maddr, media.address.c_str(), media.port) != 0) {
                return fail(Errc::invalid_argument, "SDP: media address is not an IP literal");
            }
            sdp_media_set_laddr(m, &maddr);
        }
        if (media.rtcp_port) sdp_media_set_lport_rtcp(m, *media.rtcp_port);
        sdp_media_set_ldir(m, to_libre(media.direction));
        for (const auto& fmt : media.formats) {
            const bool has_rtpmap = !fmt.name.empty();
            if (sdp_format_add(nullptr, m, false, fmt.id.c_str(),
                               has_rtpmap ? fmt.name.c_str() : nullptr, fmt.srate, fmt.channels,
                               nullptr, nullptr, nullptr, false, "%s",
                               has_rtpmap ? fmt.params.c_str() : "") != 0) {
                return fail(Errc::internal, "SDP: cannot add format");
            }
            if (!has_rtpmap && !fmt.params.empty()) {
                sdp_media_set_lattr(m, false, "fmtp", "%s %s", fmt.id.c_str(), fmt.params.c_str());
            }
        }
        for (const auto& [name, value] : media.attributes) {
            if (value.empty()) {
                sdp_media_set_lattr(m, false, name.c_str(), nullptr);
            } else {
                sdp_media_set_lattr(m, false, name.c_str(), "%s", value.c_str());
            }
        }
    }
    mbuf* out = nullptr;
    if (sdp_encode(&out, session.get(), true) != 0)
        return fail(Errc::internal, "SDP: cannot print");
    MbufPtr owned(out);
    return std::string(reinterpret_cast<const char*>(mbuf_buf(out)), mbuf_get_left(out));
}

}  // namespace mcx::net
