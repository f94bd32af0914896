// SIPVicious (Debian `sipvicious`), the scanner attackers run against SIP servers, against a
// real mcxd (issue 17 item 6): svmap finds a SIP server, svwar enumerates no user (REGISTER,
// INVITE, OPTIONS), svcrack cracks nothing (mcxd has no passwords on SIP: bearer tokens), and
// afterwards users still register and call.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "harness.hpp"

namespace mcx::test {
namespace {

bool installed(const char* tool) {
    return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs `command` in `dir`, bound to 127.0.0.1 and a port free now (the tools bind every
// interface and port 5060 by default), with its output in `out`; the output.
std::string run_tool(const std::string& dir, const std::string& command, const std::string& out) {
    const auto path = dir + "/" + out;
    const auto full = "cd " + dir + " && timeout 120 " + command + " -b 127.0.0.1 -P " +
                      std::to_string(free_udp_port()) + " > " + out + " 2>&1";
    (void)std::system(full.c_str());
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The rows of SIPVicious' result table naming `name` ("| alice | reqauth |").
bool table_names(const std::string& output, const std::string& name) {
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("|") && line.find("| " + name + " ") != std::string::npos) return true;
    }
    return false;
}

TEST(SipVicious, ScansFindNoUserCrackNothingAndMcxdKeepsServing) {
    for (const char* tool : {"svmap", "svwar", "svcrack"}) {
        if (!installed(tool)) GTEST_SKIP() << tool << " not installed (Debian package sipvicious)";
    }
    const auto dir = test_output_dir();
    McSystem::Options options;
    options.client_tls = false;  // the scanners speak UDP: let them reach the registrar
    options.users = {
        {"alice", "alice-pw", {"*"}}, {"bob", "bob-pw", {"*"}}, {"1000", "1000-pw", {"*"}}};
    auto system = McSystem::start(options, dir);
    const auto target = system->sip();
    const auto port = std::to_string(target.port);
    {
        std::ofstream names(dir + "/users.txt");
        names << "alice\nbob\n1000\nadmin\nmcx-admin\nroot\n100\n101\n";
        std::ofstream passwords(dir + "/passwords.txt");
        passwords << "123456\npassword\nalice\nalice-pw\nbob-pw\n1000-pw\n";
    }

    const auto map = run_tool(dir, "svmap -p " + port + " 127.0.0.1", "svmap.out");
    EXPECT_NE(map.find("mcxd"), std::string::npos) << "svmap did not see a SIP server:\n" << map;

    for (const char* method : {"REGISTER", "INVITE", "OPTIONS"}) {
        const auto war = run_tool(
            dir, std::string("svwar -m ") + method + " -d users.txt -p " + port + " 127.0.0.1",
            std::string("svwar-") + method + ".out");
        for (const char* name : {"alice", "bob", "1000", "mcx-admin"}) {
            EXPECT_FALSE(table_names(war, name))
                << "svwar -m " << method << " enumerated " << name << ":\n"
                << war;
        }
    }
    for (const char* name : {"alice", "1000"}) {
        const auto crack = run_tool(
            dir, std::string("svcrack -u ") + name + " -d passwords.txt -p " + port + " 127.0.0.1",
            std::string("svcrack-") + name + ".out");
        EXPECT_EQ(crack.find("-pw"), std::string::npos) << "svcrack found a password:\n" << crack;
    }

    // mcxd still serves: a status, a login, a registration and a call.
    ASSERT_FALSE(system->status().is_null()) << "mcxd stopped answering";
    auto alice = ClientProcess::start(*system, "alice", "alice-pw");
    auto bob = ClientProcess::start(*system, "bob", "bob-pw");
    ASSERT_TRUE(alice->wait("registered", 10s));
    ASSERT_TRUE(bob->wait("registered", 10s));
    bob->send("call alice");
    EXPECT_TRUE(bob->wait("connected", 10s));
    EXPECT_TRUE(alice->wait("connected", 10s));
    bob->send("hangup");
    EXPECT_TRUE(alice->wait("released", 10s));
}

}  // namespace
}  // namespace mcx::test
