#include "server/media_address_policy.hpp"

#include <gtest/gtest.h>

#include "common/ipv4_network.hpp"
#include "common/system_config.hpp"

namespace mcx::server {
namespace {

proto::SessionDescription offer(const std::string& session, const std::string& audio,
                                const std::string& floor, std::uint16_t floor_port = 40002) {
    proto::SessionDescription sd;
    sd.address = session;
    proto::SdpMedia a;
    a.type = "audio";
    a.port = 40000;
    a.address = audio;
    proto::SdpMedia f;
    f.type = "application";
    f.proto = "udp";
    f.port = floor_port;
    f.address = floor;
    sd.media = {a, f};
    return sd;
}

TEST(Ipv4Network, ParsesCidrAndSingleAddresses) {
    auto net = Ipv4Network::parse("198.51.100.0/24");
    ASSERT_TRUE(net) << net.error().reason;
    EXPECT_TRUE(net->contains(*parse_ipv4("198.51.100.255")));
    EXPECT_FALSE(net->contains(*parse_ipv4("198.51.101.1")));
    EXPECT_EQ(net->to_string(), "198.51.100.0/24");
    auto one = Ipv4Network::parse("192.0.2.7");
    ASSERT_TRUE(one);
    EXPECT_EQ(one->prefix, 32);
    EXPECT_TRUE(one->contains(*parse_ipv4("192.0.2.7")));
    EXPECT_FALSE(one->contains(*parse_ipv4("192.0.2.8")));
    EXPECT_TRUE(Ipv4Network::parse("0.0.0.0/0")->contains(*parse_ipv4("203.0.113.9")));
    for (const auto* bad : {"203.0.113.0/33", "203.0.113.1/24", "203.0.113/24", "host.example",
                            "203.0.113.0/", "203.0.113.0/x", "::1", ""}) {
        EXPECT_FALSE(Ipv4Network::parse(bad)) << bad;
    }
    EXPECT_FALSE(parse_ipv4("256.1.1.1"));
    EXPECT_FALSE(parse_ipv4("1.2.3.4 "));
}

TEST(MediaAddressPolicy, MediaGoesWhereTheSignallingCameFrom) {
    EXPECT_TRUE(check_media_addresses(offer("127.0.0.1", "", ""), "127.0.0.1", {}));
    EXPECT_TRUE(
        check_media_addresses(offer("192.0.2.1", "127.0.0.1", "127.0.0.1"), "127.0.0.1", {}))
        << "each stream's own c= decides";
    auto third = check_media_addresses(offer("127.0.0.1", "192.0.2.1", ""), "127.0.0.1", {});
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error().code, Errc::forbidden);
    EXPECT_NE(third.error().reason.find("192.0.2.1"), std::string::npos) << third.error().reason;
    EXPECT_NE(third.error().reason.find("audio"), std::string::npos);
    // The floor control stream is checked too; a disabled one (port 0) is not.
    EXPECT_FALSE(check_media_addresses(offer("127.0.0.1", "", "192.0.2.1"), "127.0.0.1", {}));
    EXPECT_TRUE(check_media_addresses(offer("127.0.0.1", "", "192.0.2.1", 0), "127.0.0.1", {}));
    EXPECT_FALSE(check_media_addresses(offer("", "", ""), "127.0.0.1", {})) << "no c= at all";
    EXPECT_FALSE(check_media_addresses(offer("0.0.0.0", "", ""), "127.0.0.1", {}));
}

TEST(MediaAddressPolicy, ConfiguredNetworksAreAllowed) {
    const std::vector<Ipv4Network> allowed{*Ipv4Network::parse("198.51.100.0/24")};
    EXPECT_TRUE(check_media_addresses(offer("198.51.100.20", "", ""), "127.0.0.1", allowed));
    EXPECT_FALSE(check_media_addresses(offer("198.51.101.20", "", ""), "127.0.0.1", allowed));
    EXPECT_FALSE(check_media_addresses(offer("relay.example", "", ""), "127.0.0.1", allowed));
}

TEST(MediaAddressPolicy, NetworksAreReadFromTheConfiguration) {
    auto config = parse_system_config(
        "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[media]\nallowed_networks = [\"192.0.2.0/24\", "
        "\"198.51.100.7\"]\n[[partners]]\nid = \"B\"\ndomain = \"b.mcx\"\nidms_url = \"http://b\"\n"
        "plain_http = true\nmedia_networks = [\"203.0.113.0/24\"]\n",
        "a.toml", ".");
    ASSERT_TRUE(config) << config.error().reason;
    ASSERT_EQ(config->media_networks.size(), 2u);
    EXPECT_EQ(config->media_networks[0].to_string(), "192.0.2.0/24");
    EXPECT_EQ(config->media_networks[1].to_string(), "198.51.100.7/32");
    ASSERT_EQ(config->partners.size(), 1u);
    ASSERT_EQ(config->partners[0].media_networks.size(), 1u);
    EXPECT_EQ(config->partners[0].media_networks[0].to_string(), "203.0.113.0/24");
    auto bad = parse_system_config(
        "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[media]\nallowed_networks = "
        "[\"192.0.2.1/24\"]\n",
        "a.toml", ".");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().reason.find("a.toml:5"), std::string::npos) << bad.error().reason;
    EXPECT_NE(bad.error().reason.find("host bits"), std::string::npos) << bad.error().reason;
    EXPECT_FALSE(parse_system_config(
        "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[media]\nallowed_networks = \"192.0.2.0/24\"\n",
        "a.toml", "."));
}

}  // namespace
}  // namespace mcx::server
