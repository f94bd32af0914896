// Partner trust over TLS (issue 16 item 6, docs/security.md): partner IdMS keys and CMS
// requests go over HTTPS with mutual TLS, with real mcxd processes on 127.0.0.1.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "idms/certificates.hpp"
#include "net/http.hpp"
#include "systems.hpp"
#include "test_support.hpp"

namespace mcx::test {
namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The first line of `path` that holds every one of `parts`, waited for up to `timeout`.
std::string log_line(const std::string& path, const std::vector<std::string>& parts,
                     std::chrono::milliseconds timeout = 5s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    do {
        std::istringstream lines(read_text(path));
        for (std::string line; std::getline(lines, line);) {
            bool all = true;
            for (const auto& p : parts) all &= line.find(p) != std::string::npos;
            if (all) return line;
        }
        std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < until);
    return {};
}

// (a) The keys come over HTTPS with mutual TLS, and a migration (B's CMS asks A's over the
// same listener) and a call across the interconnect work with them.
TEST(PartnerKeyTls, KeysAndMigrationProfileOverMutualTls) {
    auto systems = SystemsBuilder({"A", "B"})
                       .users("A", {user("alice", "pw-a", {"B"}), user("bob", "pw-b")})
                       .users("B", {user("carol", "pw-c")})
                       .start();
    auto& a = systems->system("A");
    auto& b = systems->system("B");
    ASSERT_TRUE(a.https() && b.https()) << "the ready line names the partner HTTPS listener";
    const auto b_key_url = "https://" + b.https()->to_string() + "/idms/public-key";
    EXPECT_EQ(a.status()["partner_idms_keys"]["B"], "fetched");
    EXPECT_NE(log_line(a.log_path(), {"partner IdMS mcx-idms:B: key", "fetched from " + b_key_url}),
              "");

    // Our own client against B's listener: A's certificate passes, one of another CA does not.
    const net::HttpTls as_a{systems->certs_dir() + "/A.pem", systems->certs_dir() + "/ca.pem"};
    auto key = net::http_get(b_key_url, {}, 3s, &as_a);
    ASSERT_TRUE(key) << key.error().reason;
    EXPECT_EQ(key->status, 200);
    EXPECT_NE(key->body.find("BEGIN PUBLIC KEY"), std::string::npos);
    const auto stranger_dir = systems->dir() + "/certs-stranger";
    ASSERT_TRUE(idms::write_interconnect_certificates(stranger_dir, {"X"}));
    const net::HttpTls as_stranger{stranger_dir + "/X.pem", systems->certs_dir() + "/ca.pem"};
    auto refused = net::http_get(b_key_url, {}, 3s, &as_stranger);
    EXPECT_FALSE(refused && refused->status == 200) << "a client certificate of another CA";
    EXPECT_NE(log_line(b.log_path(), {"HTTPS: client certificate", "CN=X", "refused"}), "");
    EXPECT_FALSE(net::http_get(b_key_url, {}, 3s)) << "https:// without a certificate";

    // Migration: B's CMS fetches alice's migration profile from A's CMS over mutual TLS.
    auto alice = systems->client("A", "alice");
    ASSERT_TRUE(alice->wait("registered"));
    alice->send("migrate B");
    auto migrated = alice->wait("migrated", 15s);
    ASSERT_TRUE(migrated) << "see " << b.log_path();
    EXPECT_EQ((*migrated)["mc_service_id"], "sip:alice.a@b.mcx");
    EXPECT_NE(log_line(a.log_path(), {"CMS: migration profile", "sent to B"}), "");
    // And a call across the interconnect (system tokens verified with the fetched keys).
    auto carol = systems->client("B", "carol");
    ASSERT_TRUE(carol->wait("registered"));
    auto bob = systems->client("A", "bob");
    ASSERT_TRUE(bob->wait("registered"));
    bob->send("call sip:carol@b.mcx");
    EXPECT_TRUE(bob->wait("connected", 8s));
    EXPECT_TRUE(carol->wait("connected", 8s));
}

// (b) A partner whose certificate another `mcx admin certs` run made: A refuses its HTTPS
// server, with a clear log line, and does not learn its key.
TEST(PartnerKeyTls, ServerCertificateOfAnotherCaIsRefused) {
    auto systems = SystemsBuilder({"A", "B"}).own_ca("B").start();
    auto& a = systems->system("A");
    const auto b_key_url =
        "https://127.0.0.1:" + std::to_string(systems->member("B").https_port) + "/idms/public-key";
    const auto line = log_line(a.log_path(), {"cannot fetch a partner's IdMS key from " + b_key_url,
                                              "server certificate refused"});
    EXPECT_NE(line, "") << "see " << a.log_path();
    EXPECT_EQ(a.status()["partner_idms_keys"]["B"], "not known yet");
    EXPECT_NE(
        log_line(systems->system("B").log_path(),
                 {"cannot fetch a partner's IdMS key from https://", "server certificate refused"}),
        "");
}

}  // namespace
}  // namespace mcx::test
