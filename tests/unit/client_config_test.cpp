// The client configuration: the primary system, the systems that may serve the client and
// the [migration] policy (docs/migration.md, config/README.md); and the IdM/CM client answers.
#include "client/client_config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <utility>

#include "client/cm_client.hpp"
#include "client/idm_client.hpp"

namespace mcx::client {
namespace {

namespace fs = std::filesystem;

std::string write(const std::string& text) {
    const auto path = fs::temp_directory_path() /
                      ("mcx-client-" + std::to_string(::getpid()) + "-" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml");
    std::ofstream(path) << text;
    return path.string();
}

TEST(ClientConfig, SystemsAndMigrationPolicy) {
    ClientConfig c;
    auto loaded = load_client_config(write(R"(
[client]
user = "sip:alice@a.mcx"
password = "pw"
home = "A"
[[systems]]
id = "A"
domain = "a.mcx"
sip_server = "127.0.0.1:5060"
idms_url = "http://127.0.0.1:8080"
cms_url = "http://127.0.0.1:8080"
[[systems]]
id = "B"
domain = "b.mcx"
sip_server = "127.0.0.1:5062"
idms_url = "http://127.0.0.1:8082"
[migration]
incoming_during_resume = "accept"
resume_timeout_ms = 5000
keepalive_interval_ms = 0
return_home = true
prepare = true
)"),
                                     c);
    ASSERT_TRUE(loaded) << loaded.error().reason;
    ASSERT_EQ(c.systems.size(), 2u);
    EXPECT_EQ(std::as_const(c).home_system()->id, "A");
    EXPECT_EQ(c.system("B")->sip_server.port, 5062);
    EXPECT_EQ(c.system("B")->private_call_psi(), "sip:mcptt-orig@b.mcx");
    EXPECT_EQ(c.migration.incoming_during_resume, IncomingDuringResume::accept);
    EXPECT_EQ(c.migration.resume_timeout, std::chrono::milliseconds(5000));
    EXPECT_EQ(c.migration.keepalive_interval.count(), 0);
    EXPECT_TRUE(c.migration.return_home);
    EXPECT_TRUE(c.migration.prepare);
    EXPECT_TRUE(c.check());
}

TEST(ClientConfig, OneSystemFileDescribesTheHomeSystem) {
    ClientConfig c;
    ASSERT_TRUE(load_client_config(write(R"(
[client]
user = "sip:bob@a.mcx"
sip_server = "127.0.0.1:5060"
idms_url = "http://127.0.0.1:8080"
)"),
                                   c));
    EXPECT_EQ(c.home, "A") << "the ID assumed for a.mcx";
    ASSERT_NE(std::as_const(c).home_system(), nullptr);
    EXPECT_EQ(std::as_const(c).home_system()->domain, "a.mcx");
    EXPECT_TRUE(c.check());
}

TEST(ClientConfig, MistakesAreNamed) {
    ClientConfig c;
    auto bad_policy = load_client_config(
        write(
            "[client]\nuser = \"sip:a@a.mcx\"\n[migration]\nincoming_during_resume = \"maybe\"\n"),
        c);
    ASSERT_FALSE(bad_policy);
    EXPECT_NE(bad_policy.error().reason.find("incoming_during_resume"), std::string::npos);
    ClientConfig d;
    auto bad_time = load_client_config(
        write("[client]\nuser = \"sip:a@a.mcx\"\n[migration]\nstep_timeout_ms = -5\n"), d);
    ASSERT_FALSE(bad_time);
    EXPECT_NE(bad_time.error().reason.find("step_timeout_ms"), std::string::npos);
    ClientConfig e;
    auto no_id = load_client_config(
        write("[client]\nuser = \"sip:a@a.mcx\"\n[[systems]]\ndomain = \"b.mcx\"\n"), e);
    ASSERT_FALSE(no_id);
    EXPECT_NE(no_id.error().reason.find("id and domain are required"), std::string::npos);
    ClientConfig f;
    f.user = *McServiceId::parse("sip:a@a.mcx");
    f.home = "A";
    EXPECT_FALSE(f.check()) << "no primary system";
}

TEST(IdmClient, TokenAnswersAndRefusals) {
    auto ok = parse_token_response(
        200,
        R"({"access_token":"t","mcptt_id":"sip:alice.a@b.mcx","primary_mcptt_id":"sip:alice@a.mcx","expires_in":60})",
        "B");
    ASSERT_TRUE(ok) << ok.error().reason;
    EXPECT_EQ(ok->mc_service_id.uri(), "sip:alice.a@b.mcx");
    EXPECT_EQ(ok->primary_id->uri(), "sip:alice@a.mcx");
    auto refused = parse_token_response(
        400, R"({"error":"unauthorized_client","error_description":"B does not accept"})", "B");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().reason, "B refused: unauthorized_client: B does not accept");
    EXPECT_FALSE(parse_token_response(200, "not json", "B"));
    EXPECT_FALSE(parse_token_response(200, R"({"access_token":"t","mcptt_id":"bogus"})", "B"));
}

TEST(CmClient, ProfileAnswersAndRefusals) {
    EXPECT_EQ(profile_url("http://c", *McServiceId::parse("sip:a@b.mcx"), 0),
              "http://c/cms/org.3gpp.mcptt.user-profile/users/sip:a@b.mcx/user-profile-0.xml");
    auto refused = parse_profile_response(403, "A refused: not allowed\nmore", "the CMS");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().reason, "the CMS answered 403: A refused: not allowed");
    EXPECT_FALSE(parse_profile_response(200, "<broken", "the CMS"));
}

}  // namespace
}  // namespace mcx::client
