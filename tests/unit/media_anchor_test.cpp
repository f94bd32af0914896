#include "server/media_anchor.hpp"

#include <gtest/gtest.h>

#include "net/sdp_codec.hpp"

namespace mcx::server {
namespace {

const char* kOffer =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
    "m=audio 50000 RTP/AVP 96\r\na=rtpmap:96 AMR-WB/16000\r\n"
    "m=video 50100 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\n"
    "m=application 50010 udp MCPTT\r\na=fmtp:MCPTT mc_queueing\r\n";

TEST(MediaAnchor, RewritesAddressAndPortsKeepsFormats) {
    auto offer = *net::decode_sdp(kOffer);
    auto anchored = anchor_sdp(offer, "127.0.0.1", AnchorPorts{40000, 40001, 40010});
    EXPECT_EQ(anchored.address, "127.0.0.1");
    EXPECT_EQ(anchored.media[0].port, 40000);
    EXPECT_FALSE(anchored.media[0].rtcp_port) << "RTCP on port+1 needs no a=rtcp";
    EXPECT_EQ(anchored.media[0].formats, offer.media[0].formats);
    EXPECT_EQ(anchored.media[1].port, 0) << "video is not relayed: refused";
    EXPECT_EQ(anchored.media[2].port, 40010);
    EXPECT_EQ(anchored.media[2].formats[0].params, "mc_queueing");
}

TEST(MediaAnchor, DestinationsComeFromTheSdp) {
    auto d = media_destinations(*net::decode_sdp(kOffer));
    EXPECT_EQ(net::to_endpoint(d.audio_rtp), (net::Endpoint{"127.0.0.2", 50000}));
    EXPECT_EQ(net::to_endpoint(d.audio_rtcp), (net::Endpoint{"127.0.0.2", 50001}));
    EXPECT_EQ(net::to_endpoint(d.floor_control), (net::Endpoint{"127.0.0.2", 50010}));
}

}  // namespace
}  // namespace mcx::server
