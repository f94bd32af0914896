// A SIPp (sip-tester) scenario acting as an MCPTT client registers with its access token and
// completes a private call with a real `mcx client` through mcxd.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "harness.hpp"

namespace mcx::test {
namespace {

int run_sipp(const std::string& dir, const std::string& scenario, std::uint16_t port,
             const std::vector<std::pair<std::string, std::string>>& keys,
             const net::Endpoint& target) {
    std::string cmd = "cd " + dir + " && sipp -sf " + source_dir() + "/tests/interop/sipp/" +
                      scenario + " -i 127.0.0.1 -p " + std::to_string(port) +
                      " -m 1 -nostdin -timeout 20s -timeout_error -trace_err";
    for (const auto& [k, v] : keys) cmd += " -key " + k + " '" + v + "'";
    cmd += " " + target.to_string() + " > sipp-" + scenario + ".out 2>&1";
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(SippInterop, SippMcpttClientCallsRealMcxClient) {
    if (std::system("command -v sipp >/dev/null 2>&1") != 0) GTEST_SKIP() << "sipp not installed";
    const auto dir = test_output_dir();
    McSystem::Options options;
    options.users = {{"sipp", "sipp-pw", {"*"}}, {"bob", "bob-pw", {"*"}}};
    auto system = McSystem::start(options, dir);
    auto bob = ClientProcess::start(*system, "bob", "bob-pw");
    ASSERT_TRUE(bob->wait("registered"));

    // The client ID of register.xml's <mcptt-client-id>: the token is bound to it.
    const auto token =
        system->token("sipp", "sipp-pw", "urn:uuid:5f0c1a52-7d2e-4c1a-9a53-000000000001");
    ASSERT_FALSE(token.empty());
    const auto port = free_udp_port();
    ASSERT_EQ(
        run_sipp(dir, "register.xml", port,
                 {{"user", "sipp"}, {"domain", system->domain()}, {"token", token}}, system->sip()),
        0)
        << "SIPp REGISTER failed; see " << dir;
    EXPECT_EQ(system->status()["registrations"], 2);

    const auto media = free_udp_port();
    ASSERT_EQ(run_sipp(dir, "private_call.xml", port,
                       {{"user", "sipp"},
                        {"domain", system->domain()},
                        {"callee", system->uri("bob")},
                        {"audio_port", std::to_string(media)},
                        {"floor_port", std::to_string(media + 2)}},
                       system->sip()),
              0)
        << "SIPp private call failed; see " << dir;
    auto connected = bob->wait("connected");
    ASSERT_TRUE(connected);
    EXPECT_EQ((*connected)["peer"], system->uri("sipp"));
    auto released = bob->wait("released");
    ASSERT_TRUE(released);
    EXPECT_EQ((*released)["by"], "remote");
    EXPECT_EQ(system->status()["counters"]["calls_connected"], 1);
    EXPECT_EQ(system->status()["active_calls"], 0);
}

}  // namespace
}  // namespace mcx::test
