#include "proto/mc_service.hpp"

#include <array>

namespace mcx::proto {
namespace {

constexpr std::array<McServiceDescriptor, 2> kServices{{
    {McService::mcptt, "mcptt", "urn:urn-7:3gpp-service.ims.icsi.mcptt", "g.3gpp.mcptt",
     "application/vnd.3gpp.mcptt-info+xml", "urn:3gpp:ns:mcpttInfo:1.0", "mcpttinfo", "MCPTT"},
    {McService::mcvideo, "mcvideo", "urn:urn-7:3gpp-service.ims.icsi.mcvideo", "g.3gpp.mcvideo",
     "application/vnd.3gpp.mcvideo-info+xml", "urn:3gpp:ns:mcvideoInfo:1.0", "mcvideoinfo",
     "MCVideo"},
}};

}  // namespace

const McServiceDescriptor& describe(McService service) {
    for (const auto& d : kServices) {
        if (d.service == service) return d;
    }
    return kServices[0];
}

std::optional<McService> service_of_icsi(std::string_view icsi) {
    for (const auto& d : kServices) {
        if (d.icsi == icsi) return d.service;
    }
    return std::nullopt;
}

std::string encoded_icsi(const McServiceDescriptor& service) {
    std::string out;
    for (char c : service.icsi) {
        if (c == ':') {
            out += "%3A";
        } else {
            out += c;
        }
    }
    return out;
}

std::string contact_params(const McServiceDescriptor& service) {
    return ";+" + std::string(service.feature_tag) + ";+g.3gpp.icsi-ref=\"" +
           encoded_icsi(service) + "\"";
}

std::string accept_contact_headers(const McServiceDescriptor& service) {
    return "Accept-Contact: *;+" + std::string(service.feature_tag) +
           ";require;explicit\r\nAccept-Contact: *;+g.3gpp.icsi-ref=\"" + encoded_icsi(service) +
           "\";require;explicit\r\n";
}

std::string preferred_service_header(const McServiceDescriptor& service) {
    return "P-Preferred-Service: " + std::string(service.icsi) + "\r\n";
}

std::string asserted_service_header(const McServiceDescriptor& service) {
    return "P-Asserted-Service: " + std::string(service.icsi) + "\r\n";
}

}  // namespace mcx::proto
