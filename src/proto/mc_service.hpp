#pragma once
// The MC services as data (issue 18 item 1): what tells an MCPTT request from an MCVideo one on
// the wire, in one descriptor per service, so that client and server build and recognise both
// from the same table instead of from MCPTT constants. Values: TS 24.379 4.2, 7.1, 11.1.1.2.1.1
// (MCPTT); TS 24.281 10.2.2.2.1, 6.2.0.1, F.1.2 (MCVideo); TS 24.380 12.1 and TS 24.581 12 (the
// SDP format of the control line); ../shared/spec/mcvideo-digest.md, docs/sip-profile.md.

#include <optional>
#include <string>
#include <string_view>

namespace mcx::proto {

enum class McService { mcptt, mcvideo };

struct McServiceDescriptor {
    McService service;
    std::string_view name;               // "mcptt", "mcvideo" (logs, summary.json)
    std::string_view icsi;               // IMS communication service identifier
    std::string_view feature_tag;        // media feature tag, without the leading "+"
    std::string_view info_content_type;  // the service's info body (MIME type)
    std::string_view info_namespace;     // XML namespace of that body
    std::string_view info_root;          // its root element, as the schema names it
    std::string_view control_format;     // "m=application <port> udp <format>"
};

const McServiceDescriptor& describe(McService service);
// The descriptor whose ICSI is `icsi` (P-Asserted-Service, P-Preferred-Service), if any.
std::optional<McService> service_of_icsi(std::string_view icsi);

// The ICSI as a feature-tag value: ':' percent-encoded (RFC 3840 9, as TS 24.229 writes it).
std::string encoded_icsi(const McServiceDescriptor& service);
// Contact header parameters of a client or server of the service: the feature tag and the
// ICSI reference (TS 24.379 11.1.1.2.1.1 step 5; TS 24.281 10.2.2.2.1 step 3).
std::string contact_params(const McServiceDescriptor& service);
// The two Accept-Contact header lines (with CRLF) of an INVITE of the service (TS 24.379
// 11.1.1.2.1.1 step 6; TS 24.281 10.2.2.2.1 step 4).
std::string accept_contact_headers(const McServiceDescriptor& service);
// "P-Preferred-Service: <icsi>\r\n" (client) and "P-Asserted-Service: <icsi>\r\n" (server).
std::string preferred_service_header(const McServiceDescriptor& service);
std::string asserted_service_header(const McServiceDescriptor& service);

}  // namespace mcx::proto
