// mcxd's HTTP routes (http_api/routes.hpp) served without a socket (HttpServer::serve): a
// login, the profile it opens, the monitoring API for administrators only, and the MC server's
// figures spliced into /status or answered 503 when its loop is busy. The clock is fixed.
#include "http_api/routes.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cms/profiles.hpp"
#include "http_api/idms_wiring.hpp"
#include "idms/keys.hpp"
#include "idms/token_ledger.hpp"
#include "store/sqlite_store.hpp"
#include "test_support.hpp"

namespace mcx::http_api {
namespace {

namespace fs = std::filesystem;
using test::http_status_of;
constexpr std::int64_t kNow = 1'800'000'000;

constexpr const char* kConfig = R"([system]
id = "A"
domain = "a.mcx"

[[users]]
id = "sip:alice@a.mcx"
password = "alice-secret"

[[users]]
id = "sip:root@a.mcx"
password = "root-secret"
admin = true
)";

std::string body_of(const std::string& response) {
    const auto at = response.find("\r\n\r\n");
    return at == std::string::npos ? std::string{} : response.substr(at + 4);
}

std::string post_form(const std::string& path, const std::string& form) {
    return "POST " + path +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           "Content-Length: " +
           std::to_string(form.size()) + "\r\n\r\n" + form;
}

std::string get(const std::string& path, const std::string& token = {}) {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
           (token.empty() ? std::string{} : "Authorization: Bearer " + token + "\r\n") + "\r\n";
}

struct HttpRoutes : ::testing::Test {
    fs::path dir = fs::temp_directory_path() /
                   ("mcx-routes-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    SystemConfig config = *parse_system_config(kConfig, "a.toml", ".");
    idms::SigningKey key = *idms::SigningKey::generate();
    std::unique_ptr<store::SqliteStore> store;
    std::unique_ptr<StoreCredentials> credentials;
    std::unique_ptr<StoreTokenRecords> records;
    std::unique_ptr<idms::TokenLedger> ledger;
    std::unique_ptr<idms::TokenIssuer> issuer;
    std::unique_ptr<idms::TokenVerifier> verifier;
    std::unique_ptr<idms::TokenEndpoint> endpoint;
    std::unique_ptr<cms::ConfigurationManagementServer> cms;
    std::optional<std::string> server_status = R"({"calls":0})";
    net::HttpServer http;

    void SetUp() override {
        fs::remove_all(dir);
        fs::create_directories(dir);
        store = std::move(*store::SqliteStore::open((dir / "a.db").string()));
        ASSERT_TRUE(cms::seed_store(*store, config));
        credentials = std::make_unique<StoreCredentials>(*store);
        records = std::make_unique<StoreTokenRecords>(*store);
        ledger = std::make_unique<idms::TokenLedger>(config.idms_issuer(), *records);
        ASSERT_TRUE(ledger->load());
        issuer = std::make_unique<idms::TokenIssuer>(key, config.idms_issuer(),
                                                     config.token_audience(), 3600);
        verifier = std::make_unique<idms::TokenVerifier>(config.token_audience());
        verifier->trust(config.idms_issuer(), {key.public_pem, config.domain, issuer->key_id()});
        verifier->set_status_check([this](const auto& claims) { return ledger->check(claims); });
        endpoint =
            std::make_unique<idms::TokenEndpoint>(*credentials, *issuer, config.token_audience(),
                                                  partner_audience_policy(config, *store));
        endpoint->track_tokens(*ledger);
        cms = std::make_unique<cms::ConfigurationManagementServer>(
            config, *store, *verifier, *issuer,
            [](const std::string&, const std::string&) -> Result<cms::PartnerResponse> {
                return fail(Errc::io, "no partners here");
            },
            [] { return kNow; });
        ServerReports reports{[this] { return server_status; },
                              [] { return std::make_optional(std::vector<prometheus::Family>{}); }};
        register_http_routes(http, HttpApi{config, *store, *endpoint, *verifier, *cms,
                                           key.public_pem, "{}", reports, [] { return kNow; }});
    }
    void TearDown() override { fs::remove_all(dir); }

    std::string serve(const std::string& bytes) {
        return http.serve({bytes, "127.0.0.1", 40000, "127.0.0.1", 8080, nullptr, false}).bytes;
    }
    std::string login(const std::string& user, const std::string& password,
                      const std::string& extra = {}) {
        const auto answer =
            serve(post_form("/idms/token", "grant_type=password&client_id=c1&username=" + user +
                                               "&password=" + password + extra));
        EXPECT_EQ(http_status_of(answer), 200) << answer;
        return nlohmann::json::parse(body_of(answer), nullptr, false).value("access_token", "");
    }
};

TEST_F(HttpRoutes, ALoginOpensItsUsersProfile) {
    const auto refused = serve(
        post_form("/idms/token", "grant_type=password&username=sip:alice@a.mcx&password=wrong"));
    EXPECT_EQ(http_status_of(refused), 400) << refused;
    EXPECT_NE(refused.find("Cache-Control: no-store"), std::string::npos) << refused;
    EXPECT_NE(refused.find("invalid_grant"), std::string::npos) << refused;

    const auto token = login("sip:alice@a.mcx", "alice-secret");
    ASSERT_FALSE(token.empty());
    const auto path =
        cms::ConfigurationManagementServer::profile_path(*McServiceId::parse("sip:alice@a.mcx"), 0);
    const auto profile = serve(get(path, token));
    EXPECT_EQ(http_status_of(profile), 200) << profile;
    EXPECT_NE(profile.find("ETag: "), std::string::npos) << profile;
    EXPECT_EQ(http_status_of(serve(get(path))), 401);
    const auto other = serve(get(
        cms::ConfigurationManagementServer::profile_path(*McServiceId::parse("sip:root@a.mcx"), 0),
        token));
    EXPECT_EQ(http_status_of(other), 403) << other;
}

TEST_F(HttpRoutes, MonitoringIsForAdministratorsAndSaysWhenTheServerIsBusy) {
    EXPECT_EQ(http_status_of(serve(get("/status"))), 401);
    const auto user = login("sip:alice@a.mcx", "alice-secret");
    EXPECT_EQ(http_status_of(serve(get("/status", user))), 403) << "no mcx-admin scope";

    const auto admin = login("sip:root@a.mcx", "root-secret", "&scope=mcx-admin");
    const auto status = serve(get("/status", admin));
    ASSERT_EQ(http_status_of(status), 200) << status;
    const auto json = nlohmann::json::parse(body_of(status), nullptr, false);
    EXPECT_EQ(json.value("calls", -1), 0) << "the MC server's part";
    EXPECT_EQ(json["logins"].value("succeeded", 0), 2) << status;
    EXPECT_EQ(json["store"].value("write_failures", -1), 0) << status;
    const auto metrics = serve(get("/metrics", admin));
    EXPECT_EQ(http_status_of(metrics), 200) << metrics;
    EXPECT_NE(metrics.find("mcx_logins_total{result=\"succeeded\"} 2"), std::string::npos)
        << metrics;
    // The listener's own refusals, every reason of the one listener (none here: no partner one).
    EXPECT_NE(metrics.find("# TYPE mcx_http_refused_total counter\n"), std::string::npos);
    EXPECT_NE(
        metrics.find("\nmcx_http_refused_total{listener=\"http\",reason=\"head_too_large\"} 0\n"),
        std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("mcx_http_refused_total{listener=\"http\",reason=\"connections\"} 0"),
              std::string::npos);
    EXPECT_EQ(metrics.find("listener=\"https\""), std::string::npos);

    server_status.reset();
    EXPECT_EQ(http_status_of(serve(get("/status", admin))), 503);
}

TEST_F(HttpRoutes, TheKeysAreServedAndUnknownPathsAre404) {
    const auto pem = serve(get("/idms/public-key"));
    EXPECT_EQ(http_status_of(pem), 200);
    EXPECT_EQ(body_of(pem), key.public_pem);
    const auto discovery = serve(get("/.well-known/openid-configuration"));
    EXPECT_NE(discovery.find(R"("token_endpoint":"http://127.0.0.1/idms/token")"),
              std::string::npos)
        << discovery;
    const auto ipv6 =
        serve("GET /.well-known/openid-configuration HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    EXPECT_NE(ipv6.find(R"("jwks_uri":"http://[::1]:8080/.well-known/jwks.json")"),
              std::string::npos)
        << ipv6;
    // Found by http_handlers_fuzz: a Host that is not UTF-8 made the JSON encoder throw (500).
    // RFC 9112 3.2: 400 for a Host that is invalid, or missing.
    for (const std::string host : {"Host: 1\xd8KK.0.0.1:8080\r\n", "Host: a b\r\n",
                                   "Host: x:8o\r\n", "Host: [::1\r\n", "Host: \r\n", ""}) {
        const auto answer =
            serve("GET /.well-known/openid-configuration HTTP/1.1\r\n" + host + "\r\n");
        EXPECT_EQ(http_status_of(answer), 400) << host << answer;
        EXPECT_NE(answer.find("RFC 9112 3.2"), std::string::npos) << answer;
    }
    EXPECT_EQ(http_status_of(serve(get("/idms/token"))), 404) << "POST only";
    EXPECT_EQ(http_status_of(serve(get("/cms/nothing"))), 404);
}

}  // namespace
}  // namespace mcx::http_api
