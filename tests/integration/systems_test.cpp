// The multi-system harness itself (tests/support/systems.hpp): all-pairs partner
// configuration of three real mcxd, a left-out pair and per-system settings, the client
// configuration that lists every system, and a system killed with SIGKILL mid-call and
// restarted on the same ports.
#include <gtest/gtest.h>
#include <signal.h>

#include <toml++/toml.h>
#include <set>

#include "systems.hpp"

namespace mcx::test {
namespace {

std::set<std::string> partners_known(const McSystem& system) {
    std::set<std::string> ids;
    const auto status = system.status();
    for (const auto& [id, state] : status["partner_idms_keys"].items()) {
        if (state != "not known yet") ids.insert(id);
    }
    return ids;
}

TEST(Systems, EverySystemIsAPartnerOfEveryOtherAndCallsCross) {
    auto systems = SystemsBuilder({"A", "B", "C"})
                       .users("A", {{"alice", "pw-a"}})
                       .users("C", {{"carol", "pw-c"}})
                       .start();
    EXPECT_EQ(partners_known(systems->system("A")), (std::set<std::string>{"B", "C"}));
    EXPECT_EQ(partners_known(systems->system("B")), (std::set<std::string>{"A", "C"}));
    EXPECT_EQ(partners_known(systems->system("C")), (std::set<std::string>{"A", "B"}));
    for (const auto& id : systems->ids()) {
        const auto& m = systems->member(id);
        ASSERT_TRUE(m.system->interconnect()) << id;
        EXPECT_EQ(m.system->interconnect()->port, m.interconnect_port) << id;
        EXPECT_EQ(m.system->sip().port, m.sip_port) << id;
        EXPECT_EQ(m.system->http_url(), "http://127.0.0.1:" + std::to_string(m.http_port)) << id;
    }
    EXPECT_EQ(systems->domain("C"), "c.mcx");

    auto alice = ClientProcess::start(systems->system("A"), "alice", "pw-a");
    auto carol = ClientProcess::start(systems->system("C"), "carol", "pw-c");
    ASSERT_TRUE(alice->wait("registered"));
    ASSERT_TRUE(carol->wait("registered"));
    alice->send("call sip:carol@c.mcx");
    ASSERT_TRUE(alice->wait("connected")) << "A -> C did not cross the interconnect";
    ASSERT_TRUE(carol->wait("connected"));
    carol->send("hangup");
    ASSERT_TRUE(alice->wait("released"));
}

TEST(Systems, LeftOutPairOwnDomainAndExtraToml) {
    auto systems = SystemsBuilder({"A", "B", "C"})
                       .without_pair("A", "C")
                       .without_partner("B", "A")
                       .domain("C", "c.example")
                       .extra_toml("A", "[sip]\nleg_thread = false\n")
                       .configure("B", [](McSystem::Options& o) { o.max_calls_per_user = 1; })
                       .start();
    const auto& a = systems->system("A");
    EXPECT_EQ(partners_known(a), (std::set<std::string>{"B"}));
    EXPECT_EQ(partners_known(systems->system("B")), (std::set<std::string>{"C"}));
    EXPECT_EQ(partners_known(systems->system("C")), (std::set<std::string>{"B"}));
    EXPECT_EQ(systems->system("C").domain(), "c.example");
    // The builder's SIP port went into A's own [sip] table.
    EXPECT_EQ(a.sip().port, systems->member("A").sip_port);
    EXPECT_FALSE(a.sip_legs()) << "leg_thread = false was not applied";
    EXPECT_TRUE(systems->system("B").sip_legs());
}

TEST(Systems, ClientConfigurationListsEverySystem) {
    auto systems = SystemsBuilder({"A", "B"})
                       .users("A", {{"alice", "pw \"a\""}})
                       .wait_for_partner_keys(false)
                       .start();
    const auto path = systems->write_client_config("A", "alice");
    EXPECT_EQ(path, systems->client_config_path("A", "alice"));
    auto parsed = toml::parse_file(path);
    EXPECT_EQ(parsed["client"]["user"].value_or(""), std::string("sip:alice@a.mcx"));
    EXPECT_EQ(parsed["client"]["password"].value_or(""), std::string("pw \"a\""));
    EXPECT_EQ(parsed["client"]["home"].value_or(""), std::string("A"));
    const auto& a = systems->system("A");
    EXPECT_EQ(parsed["client"]["transport"].value_or("udp"),
              std::string(a.client_tls() ? "tls" : "udp"));
    if (a.client_tls()) {
        EXPECT_EQ(parsed["client"]["ca_file"].value_or(""), a.client_ca());
    }
    const auto* list = parsed["systems"].as_array();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2u);
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto& entry = *(*list)[i].as_table();
        const auto& system = systems->system(i == 0 ? "A" : "B");
        EXPECT_EQ(entry["id"].value_or(""), system.id());
        EXPECT_EQ(entry["domain"].value_or(""), system.domain());
        // The address the clients use: the TLS listener by default (issue 16).
        EXPECT_EQ(entry["sip_server"].value_or(""), system.client_sip().to_string());
        EXPECT_EQ(entry["idms_url"].value_or(""), system.http_url());
        EXPECT_EQ(entry["cms_url"].value_or(""), system.http_url());
    }
    EXPECT_THROW(systems->write_client_config("B", "nobody"), std::invalid_argument);
    EXPECT_EQ(toml::parse_file(systems->write_client_config("B", "carol", "pw-c"))["client"]["user"]
                  .value_or(""),
              std::string("sip:carol@b.mcx"));
}

TEST(Systems, KilledMidCallAndRestartedOnTheSamePorts) {
    auto systems = SystemsBuilder({"A", "B"})
                       .users("A", {{"alice", "pw-a"}})
                       .users("B", {{"carol", "pw-c"}})
                       .start();
    auto& a = systems->system("A");
    auto alice = ClientProcess::start(a, "alice", "pw-a");
    auto carol = ClientProcess::start(systems->system("B"), "carol", "pw-c");
    ASSERT_TRUE(alice->wait("registered"));
    ASSERT_TRUE(carol->wait("registered"));
    alice->send("call sip:carol@b.mcx");
    ASSERT_TRUE(carol->wait("connected"));
    ASSERT_TRUE(alice->wait("connected"));

    const auto sip = a.sip();
    const auto http = a.http_url();
    const auto interconnect = a.interconnect();
    const auto first_pcap = a.pcap_path();
    EXPECT_EQ(a.kill(), -SIGKILL);
    EXPECT_FALSE(a.running());
    EXPECT_TRUE(a.status().is_null()) << "A still answers";
    EXPECT_EQ(a.stop(), -SIGKILL) << "stop after kill reports the kill";

    a.restart();
    EXPECT_TRUE(a.running());
    EXPECT_EQ(a.sip().to_string(), sip.to_string());
    EXPECT_EQ(a.http_url(), http);
    ASSERT_TRUE(a.interconnect() && interconnect);
    EXPECT_EQ(a.interconnect()->to_string(), interconnect->to_string());
    EXPECT_NE(a.pcap_path(), first_pcap) << "the killed run's pcap is kept";
    EXPECT_EQ(a.status()["active_calls"], 0) << "a restarted system starts without calls";
    ASSERT_TRUE(systems->wait_for_partner_keys());
    // The store, the key and the interconnect work as before: B calls into A again.
    alice.reset();
    alice = ClientProcess::start(a, "alice", "pw-a");
    ASSERT_TRUE(alice->wait("registered")) << "A's IdMS or registrar after the restart";
    carol->send("call sip:alice@a.mcx");
    EXPECT_TRUE(alice->wait("connected", 8s)) << "B -> A after A's restart";
    auto connected = carol->wait("connected", 8s);
    ASSERT_TRUE(connected) << "B -> A after A's restart";
    EXPECT_EQ((*connected)["peer"], "sip:alice@a.mcx");
}

}  // namespace
}  // namespace mcx::test
