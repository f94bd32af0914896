// Untrusted input never brings mcxd down: thousands of random and mutated SIP messages over
// UDP and TCP, garbage on a call's media and floor ports, and malformed HTTP; afterwards mcxd
// still answers, and a private call still works. Deterministic (fixed seeds).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "harness.hpp"
#include "net/http.hpp"

namespace mcx::test {
namespace {

std::string mutate(std::string s, std::mt19937& rng) {
    std::uniform_int_distribution<int> what(0, 4);
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits && !s.empty(); ++e) {
        const auto pos = rng() % s.size();
        switch (what(rng)) {
            case 0:
                s[pos] = static_cast<char>(rng());
                break;
            case 1:
                s.erase(pos, 1 + rng() % 20);
                break;
            case 2:
                s.insert(pos, std::string(1 + rng() % 40, static_cast<char>(rng())));
                break;
            case 3:
                s.resize(pos);
                break;
            default:
                s.insert(pos, s.substr(rng() % s.size(), 1 + rng() % 60));
                break;
        }
    }
    return s;
}

void send_udp(const net::Endpoint& to, const std::string& data) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, to.host.c_str(), &addr.sin_addr);
    addr.sin_port = htons(to.port);
    sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    close(fd);
}

void send_tcp(const net::Endpoint& to, const std::string& data) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, to.host.c_str(), &addr.sin_addr);
    addr.sin_port = htons(to.port);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        (void)write(fd, data.data(), data.size());
    }
    close(fd);
}

TEST(Robustness, MutatedSipGarbageMediaAndBadHttpDoNotHurtMcxd) {
    auto [system, alice, bob] = start_alice_and_bob();
    alice->send("call bob");
    ASSERT_TRUE(alice->wait("connected"));

    std::mt19937 rng(20261125);
    const auto base = alice_calls_bob_invite(*system, "UDP 127.0.0.1:9", 0);
    const std::string register_text =
        "REGISTER sip:a.mcx SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-r\r\n"
        "From: <sip:bob@a.mcx>;tag=1\r\nTo: <sip:bob@a.mcx>\r\nCall-ID: r\r\nCSeq: 1 REGISTER\r\n"
        "Contact: <sip:bob@127.0.0.1:9>\r\nContent-Type: application/vnd.3gpp.mcptt-info+xml\r\n"
        "Content-Length: 60\r\n\r\n<mcpttinfo xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\"><mcptt-Params>";
    const auto sip_started = std::chrono::steady_clock::now();
    for (int i = 0; i < 1500; ++i) {
        const auto& seed = i % 3 == 0 ? register_text : base;
        std::string packet;
        if (i % 10 == 9) {
            packet.resize(rng() % 1400);
            for (auto& c : packet) c = static_cast<char>(rng());
        } else {
            packet = mutate(seed, rng);
        }
        // Every fifth message goes to the SIP leg thread's port (in-dialog traffic of callee
        // legs arrives there).
        const auto& port = i % 5 == 4 && system->sip_legs() ? *system->sip_legs() : system->sip();
        if (i % 15 == 0) {
            send_tcp(port, packet);
        } else {
            send_udp(port, packet);
        }
    }
    RecordProperty("sip_flood_ms",
                   static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now() - sip_started)
                                        .count()));
    // Garbage on every port the call's relay uses (RTP, RTCP and floor control of both legs).
    auto status = system->status();
    ASSERT_EQ(status["active_calls"], 1);
    std::vector<std::uint16_t> ports;
    for (const auto* leg : {"caller", "callee"}) {
        for (const auto& port : status["calls"][0]["relay_ports"][leg])
            ports.push_back(port.get<std::uint16_t>());
    }
    ASSERT_EQ(ports.size(), 6u);
    for (int i = 0; i < 2000; ++i) {
        std::string junk(rng() % 200, '\0');
        for (auto& c : junk) c = static_cast<char>(rng());
        if (i % 4 == 0 && junk.size() > 12) {
            junk[0] = static_cast<char>(0x80 | (rng() % 16));  // looks like RTCP APP "MCPT"...
            junk[1] = static_cast<char>(204);
            junk.replace(8, 4, "MCPT");  // ...with a random body
        }
        send_udp({"127.0.0.1", ports[rng() % ports.size()]}, junk);
    }
    // None of it came from the addresses the parties' SDP named: dropped before the relay and the
    // floor control server, not counted as activity.
    const auto relayed_before = status["calls"][0]["relayed_packets"].get<int>();
    const auto foreign = [&] { return system->status()["calls"][0]["foreign_packets"]; };
    EXPECT_TRUE(eventually([&] { return foreign() == 2000; }, 5s)) << foreign();
    status = system->status();
    EXPECT_EQ(status["calls"][0]["foreign_packets"], 2000);
    EXPECT_EQ(status["calls"][0]["relayed_packets"], relayed_before) << "none reached a party";
    // Malformed HTTP.
    for (const auto& path : {std::string("/cms/org.3gpp.mcptt.user-profile/users/%00/x"),
                             std::string("/cms/org.3gpp.mcptt.user-profile/users/sip:alice@a.mcx/"
                                         "user-profile-99999999999.xml"),
                             std::string("/cms/partner/migration-profile?user=%ff%fe"),
                             std::string("/../../etc/passwd")}) {
        auto r = net::http_get(system->http_url() + path,
                               {{"Authorization", "Bearer " + std::string(3000, 'x')}}, 3s);
        ASSERT_TRUE(r) << path;
        EXPECT_GE(r->status, 400) << path;
    }
    auto bad_form =
        net::http_post_form(system->http_url() + "/idms/token",
                            {{"grant_type", std::string(5000, 'g')}, {"username", "\x01\x02"}}, 3s);
    ASSERT_TRUE(bad_form);
    EXPECT_EQ(bad_form->status, 400);

    // Still alive and serving: the call still stands, status answers, a new call works.
    // Not a wait for a condition: this gives a late effect of the flood (TCP connections
    // closing, timers of half-parsed transactions) time to bring mcxd down before we look.
    std::this_thread::sleep_for(300ms);
    status = system->status();
    ASSERT_FALSE(status.is_null()) << "mcxd stopped answering";
    EXPECT_GE(status["counters"]["invite_rejected"].get<int>(), 1)
        << "the mutated INVITEs were refused";
    alice->send("hangup");
    ASSERT_TRUE(bob->wait("released"));
    bob->send("call alice");
    EXPECT_TRUE(bob->wait("connected"));
    EXPECT_TRUE(alice->wait("connected"));
}

}  // namespace
}  // namespace mcx::test
