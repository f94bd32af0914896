// The MC service descriptors (proto/mc_service.hpp): the SIP values each service writes, byte
// for byte, and the ICSI read back. MCPTT's are the strings MCX sent before the descriptors
// (TS 24.379); MCVideo's those of TS 24.281 10.2.2.2.1 (../shared/spec/mcvideo-digest.md, [V]).
#include "proto/mc_service.hpp"

#include <gtest/gtest.h>

#include "proto/content_type.hpp"
#include "proto/mcptt_info.hpp"
#include "proto/sdp.hpp"

namespace mcx::proto {
namespace {

TEST(McService, McpttHeaderValues) {
    const auto& mcptt = describe(McService::mcptt);
    EXPECT_EQ(mcptt.name, "mcptt");
    EXPECT_EQ(contact_params(mcptt),
              ";+g.3gpp.mcptt;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mcptt\"");
    EXPECT_EQ(accept_contact_headers(mcptt),
              "Accept-Contact: *;+g.3gpp.mcptt;require;explicit\r\n"
              "Accept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mcptt\";"
              "require;explicit\r\n");
    EXPECT_EQ(preferred_service_header(mcptt),
              "P-Preferred-Service: urn:urn-7:3gpp-service.ims.icsi.mcptt\r\n");
    EXPECT_EQ(asserted_service_header(mcptt),
              "P-Asserted-Service: urn:urn-7:3gpp-service.ims.icsi.mcptt\r\n");
    // The codecs of the MCPTT bodies and the SDP agree with the descriptor.
    EXPECT_EQ(mcptt.info_content_type, kMimeMcpttInfo);
    EXPECT_EQ(mcptt.info_namespace, kMcpttInfoNamespace);
    EXPECT_EQ(mcptt.control_format, kFloorControlFormat);
}

TEST(McService, McvideoHeaderValues) {
    const auto& mcvideo = describe(McService::mcvideo);
    EXPECT_EQ(mcvideo.name, "mcvideo");
    EXPECT_EQ(mcvideo.info_content_type, "application/vnd.3gpp.mcvideo-info+xml");
    EXPECT_EQ(mcvideo.info_namespace, "urn:3gpp:ns:mcvideoInfo:1.0");
    EXPECT_EQ(mcvideo.info_root, "mcvideoinfo");
    EXPECT_EQ(mcvideo.control_format, "MCVideo");
    EXPECT_EQ(contact_params(mcvideo),
              ";+g.3gpp.mcvideo;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mcvideo\"");
    EXPECT_EQ(accept_contact_headers(mcvideo),
              "Accept-Contact: *;+g.3gpp.mcvideo;require;explicit\r\n"
              "Accept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mcvideo\";"
              "require;explicit\r\n");
    EXPECT_EQ(preferred_service_header(mcvideo),
              "P-Preferred-Service: urn:urn-7:3gpp-service.ims.icsi.mcvideo\r\n");
}

TEST(McService, TheIcsiNamesItsService) {
    for (auto service : {McService::mcptt, McService::mcvideo}) {
        EXPECT_EQ(service_of_icsi(describe(service).icsi), service) << describe(service).name;
    }
    EXPECT_EQ(service_of_icsi("urn:urn-7:3gpp-service.ims.icsi.mcdata"), std::nullopt);
    EXPECT_EQ(service_of_icsi("urn:urn-7:3gpp-service.ims.icsi.mcptt "), std::nullopt);
    EXPECT_EQ(service_of_icsi(""), std::nullopt);
}

}  // namespace
}  // namespace mcx::proto
