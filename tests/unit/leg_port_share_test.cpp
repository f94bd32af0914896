// The byte work of the leg stack speaking through the main SIP port (net/leg_port_share.hpp).
#include "net/leg_port_share.hpp"

#include <gtest/gtest.h>

namespace mcx::net::port_share {
namespace {

constexpr std::string_view kLeg = "127.0.0.1:40000";
constexpr std::string_view kMain = "127.0.0.1:5060";

// An INVITE as libre writes it for the leg stack (Via first, our Contact from InviteDialog).
std::string leg_invite(std::string_view leg = kLeg) {
    const std::string hp(leg);
    return "INVITE sip:bob@127.0.0.1:6000 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP " +
           hp +
           ";branch=z9hG4bK0123;rport\r\n"
           "Contact: <sip:mcptt-cf@" +
           hp +
           ">;+g.3gpp.mcptt\r\n"
           "Max-Forwards: 70\r\n"
           "To: <sip:bob@a.mcx>\r\n"
           "From: <sip:alice@a.mcx>;tag=1\r\n"
           "Call-ID: c1\r\n"
           "CSeq: 1 INVITE\r\n"
           "Content-Length: 24\r\n"
           "\r\n"
           "v=0 o=- 127.0.0.1:40000\n";
}

TEST(LegPortShare, RequestGetsTheMainPortInViaAndContactAndTheBodyIsUntouched) {
    const auto out = to_main_port(leg_invite(), kLeg, kMain);
    ASSERT_TRUE(out);
    EXPECT_NE(out->find("Via: SIP/2.0/UDP 127.0.0.1:5060;mcx-leg;branch=z9hG4bK0123;rport\r\n"),
              std::string::npos)
        << *out;
    EXPECT_NE(out->find("Contact: <sip:mcptt-cf@127.0.0.1:5060;mcx-leg>;+g.3gpp.mcptt\r\n"),
              std::string::npos)
        << *out;
    // Content-Length still holds: only header bytes changed.
    EXPECT_EQ(out->substr(out->find("\r\n\r\n") + 4), "v=0 o=- 127.0.0.1:40000\n");
    EXPECT_EQ(out->find("40000;"), std::string::npos);
    // The peer's responses and in-dialog requests come back marked.
    EXPECT_TRUE(
        for_leg("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;mcx-leg;"
                "branch=z9hG4bK0123;rport=5060;received=127.0.0.1\r\nCSeq: 1 INVITE\r\n"
                "\r\n"));
    EXPECT_TRUE(
        for_leg("BYE sip:mcptt-cf@127.0.0.1:5060;mcx-leg SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bKb\r\n\r\n"));
}

TEST(LegPortShare, OnlyTheLegsOwnHostPortIsRewritten) {
    // A port that merely starts like the leg's, a response, a request naming another sender.
    EXPECT_FALSE(to_main_port(leg_invite("127.0.0.1:400001"), kLeg, kMain));
    EXPECT_FALSE(
        to_main_port("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z\r\n"
                     "Contact: <sip:x@127.0.0.1:40000>\r\n\r\n",
                     kLeg, kMain));
    EXPECT_FALSE(
        to_main_port("BYE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:6000;branch=z\r\n"
                     "\r\n",
                     kLeg, kMain));
    // Only the top Via is ours; a second one (never written by us) stays.
    const auto two = to_main_port(
        "ACK sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:40000;branch=z1\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z2\r\n\r\n",
        kLeg, kMain);
    ASSERT_TRUE(two);
    EXPECT_NE(two->find("v: SIP/2.0/UDP 127.0.0.1:5060;mcx-leg;branch=z1"), std::string::npos);
    EXPECT_NE(two->find("Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z2"), std::string::npos);
    // A header line in the body is not a header.
    EXPECT_FALSE(
        to_main_port("MESSAGE sip:b@h SIP/2.0\r\nCSeq: 1 MESSAGE\r\n\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:40000\r\n",
                     kLeg, kMain));
}

TEST(LegPortShare, UnmarkedTrafficStaysOnTheMainPort) {
    EXPECT_FALSE(for_leg("REGISTER sip:a.mcx SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:6000\r\n\r\n"));
    EXPECT_FALSE(
        for_leg("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
                "\r\n"));
    // The mark must be a parameter of its own, in the top Via value.
    EXPECT_FALSE(for_leg("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;mcx-legs\r\n\r\n"));
    EXPECT_FALSE(
        for_leg("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h:1;branch=z, SIP/2.0/UDP "
                "h:2;mcx-leg\r\n\r\n"));
    EXPECT_FALSE(
        for_leg("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h:1\r\nVia: SIP/2.0/UDP "
                "h:2;mcx-leg\r\n\r\n"));
    EXPECT_TRUE(
        for_leg("SIP/2.0 200 OK\r\nFrom: <sip:a@b>\r\nVIA: SIP/2.0/UDP h:1;MCX-LEG\r\n\r\n"));
    // Garbage is no leg traffic.
    EXPECT_FALSE(for_leg(""));
    EXPECT_FALSE(for_leg("SIP/2.0 "));
    EXPECT_FALSE(for_leg("BYE"));
    EXPECT_FALSE(for_leg("\x01\x02;mcx-leg"));
}

TEST(LegPortShare, FrameCarriesTheSourceAndRejectsAnythingElse) {
    const std::string datagram = "SIP/2.0 200 OK\r\n\r\n";
    const auto framed = frame(Endpoint{"127.0.0.1", 6000}, datagram);
    const auto unframed = unframe(framed);
    ASSERT_TRUE(unframed);
    EXPECT_EQ(unframed->source, (Endpoint{"127.0.0.1", 6000}));
    EXPECT_EQ(framed.substr(unframed->offset), datagram);
    const auto v6 = unframe(frame(Endpoint{"::1", 65535}, "x"));
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->source, (Endpoint{"::1", 65535}));

    EXPECT_FALSE(unframe(datagram));                  // not framed
    EXPECT_FALSE(unframe("MCXLEG1 127.0.0.1 0\nx"));  // port 0
    EXPECT_FALSE(unframe("MCXLEG1 127.0.0.1 70000\nx"));
    EXPECT_FALSE(unframe("MCXLEG1 127.0.0.1 12x\nx"));
    EXPECT_FALSE(unframe("MCXLEG1 127.0.0.1 5060"));  // no line end
    EXPECT_FALSE(unframe("MCXLEG1  5060\nx"));        // no host
    EXPECT_FALSE(unframe("MCXLEG1 " + std::string(200, 'a') + " 1\nx"));
}

}  // namespace
}  // namespace mcx::net::port_share
