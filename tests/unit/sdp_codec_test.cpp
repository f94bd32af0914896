#include "net/sdp_codec.hpp"

#include <gtest/gtest.h>

namespace mcx::net {
namespace {

// An on-network MCPTT offer (TS 24.379 / TS 24.380 12.1): speech plus the floor control line.
const char* kOffer =
    "v=0\r\n"
    "o=- 1 1 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 50000 RTP/AVP 96\r\n"
    "i=speech\r\n"
    "a=rtpmap:96 AMR-WB/16000/1\r\n"
    "a=fmtp:96 mode-change-capability=2;max-red=0\r\n"
    "m=application 50010 udp MCPTT\r\n"
    "a=fmtp:MCPTT mc_queueing;mc_priority=5;mc_implicit_request\r\n";

TEST(SdpCodec, DecodesAudioAndFloorControlLines) {
    auto sd = decode_sdp(kOffer);
    ASSERT_TRUE(sd) << sd.error().reason;
    ASSERT_EQ(sd->media.size(), 2u);
    const auto* audio = proto::find_audio(*sd);
    ASSERT_NE(audio, nullptr);
    EXPECT_EQ(audio->port, 50000);
    EXPECT_EQ(audio->address, "127.0.0.1");
    ASSERT_EQ(audio->formats.size(), 1u);
    EXPECT_EQ(audio->formats[0].name, "AMR-WB");
    EXPECT_EQ(audio->formats[0].srate, 16000u);
    EXPECT_EQ(audio->formats[0].params, "mode-change-capability=2;max-red=0");
    const auto* floor = proto::find_floor_control(*sd);
    ASSERT_NE(floor, nullptr);
    EXPECT_EQ(floor->port, 50010);
    EXPECT_EQ(floor->formats[0].params, "mc_queueing;mc_priority=5;mc_implicit_request");
}

TEST(SdpCodec, EncodeKeepsFloorControlFmtpAndRoundTrips) {
    auto sd = decode_sdp(kOffer);
    ASSERT_TRUE(sd);
    sd->media[0].port = 40000;
    auto text = encode_sdp(*sd);
    ASSERT_TRUE(text) << text.error().reason;
    EXPECT_NE(text->find("m=application 50010 udp MCPTT\r\n"), std::string::npos) << *text;
    EXPECT_NE(text->find("a=fmtp:MCPTT mc_queueing;mc_priority=5;mc_implicit_request\r\n"),
              std::string::npos)
        << *text;
    auto again = decode_sdp(*text);
    ASSERT_TRUE(again) << again.error().reason;
    EXPECT_EQ(again->media[0].port, 40000);
    EXPECT_EQ(again->media[0].formats, sd->media[0].formats);
    EXPECT_EQ(again->media[1].formats, sd->media[1].formats);
}

TEST(SdpCodec, RejectsGarbage) {
    EXPECT_FALSE(decode_sdp("hello"));
    EXPECT_FALSE(decode_sdp("v=1\r\n"));
    EXPECT_FALSE(decode_sdp("v=0\r\ns=-\r\n"));  // no media
}

}  // namespace
}  // namespace mcx::net
