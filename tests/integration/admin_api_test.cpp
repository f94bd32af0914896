// The admin and monitoring API on a real mcxd (issue 16 item 4): GET /status and GET /metrics
// answer only an administrator's token of this system's IdMS (scope mcx-admin); without a
// token 401, with a bad one 401 invalid_token, with a user's token 403 insufficient_scope
// (RFC 6750 3); the IdMS grants the scope to administrators only (400 invalid_scope, RFC 6749
// 5.2); /metrics is Prometheus text (format 0.0.4) of the gauges and counters of /status.
#include <gtest/gtest.h>
#include <strings.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "harness.hpp"
#include "net/http.hpp"

namespace mcx::test {
namespace {

std::string header(const net::HttpResponse& response, const std::string& name) {
    for (const auto& [k, v] : response.headers) {
        if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    }
    return {};
}

net::HttpResponse get(const McSystem& system, const std::string& path,
                      const std::string& token = {}) {
    std::map<std::string, std::string> headers;
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    auto r = net::http_get(system.http_url() + path, headers, 3s);
    EXPECT_TRUE(r) << path;
    return r ? *r : net::HttpResponse{0, "", "", {}};
}

// POST /idms/token, password grant with `scope` (none when empty).
std::pair<int, Json> login(const McSystem& system, const std::string& name,
                           const std::string& password, const std::string& scope = {}) {
    std::map<std::string, std::string> form{
        {"grant_type", "password"}, {"username", system.uri(name)}, {"password", password}};
    if (!scope.empty()) form["scope"] = scope;
    auto r = net::http_post_form(system.http_url() + "/idms/token", form, 3s);
    if (!r) return {0, Json()};
    return {r->status, Json::parse(r->body, nullptr, false)};
}

struct Exposition {
    std::map<std::string, std::string> types;  // family → counter|gauge
    std::map<std::string, double> values;      // "name{labels}" → value
    std::vector<std::string> problems;
};

// Every line a HELP or TYPE comment or a sample `name{label="value",...} value`, each sample's
// name with a TYPE line before it (format 0.0.4).
Exposition parse_exposition(const std::string& text) {
    static const std::regex sample(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")"
        R"((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? )"
        R"((-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|\+Inf|-Inf)$)");
    static const std::regex type_line(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$)");
    static const std::regex help_line(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)");
    Exposition out;
    std::istringstream lines(text);
    std::string line;
    std::smatch m;
    while (std::getline(lines, line)) {
        if (std::regex_match(line, m, type_line)) {
            if (!out.types.emplace(m[1], m[2]).second)
                out.problems.push_back("TYPE twice: " + line);
        } else if (std::regex_match(line, m, help_line)) {
        } else if (std::regex_match(line, m, sample)) {
            if (!out.types.count(m[1])) out.problems.push_back("no TYPE before: " + line);
            out.values[m[1].str() + m[2].str()] = std::stod(m[3]);
        } else {
            out.problems.push_back("not a sample: '" + line + "'");
        }
    }
    if (!text.ends_with("\n")) out.problems.push_back("the last line has no line feed");
    return out;
}

class AdminApi : public ::testing::Test {
  protected:
    void SetUp() override {
        McSystem::Options options;
        options.users = {{"alice", "pw-a", {"*"}}, {"bob", "pw-b", {"*"}}};
        run_ = start_alice_and_bob(options);
        ASSERT_FALSE(run_.system->admin_token().empty())
            << "the harness's administrator could not log in";
    }
    McSystem& system() { return *run_.system; }
    AliceAndBob run_;
};

TEST_F(AdminApi, WithoutATokenStatusAndMetricsAnswer401WithTheRealm) {
    for (const auto* path : {"/status", "/metrics"}) {
        const auto r = get(system(), path);
        EXPECT_EQ(r.status, 401) << path;
        EXPECT_EQ(header(r, "WWW-Authenticate"), "Bearer realm=\"a.mcx\"") << path;
        EXPECT_EQ(r.body.find("registrations"), std::string::npos) << path << ": " << r.body;
    }
}

TEST_F(AdminApi, ABadTokenIs401InvalidToken) {
    auto forged = system().admin_token();
    forged[forged.size() - 3] = forged[forged.size() - 3] == 'x' ? 'y' : 'x';
    for (const auto* path : {"/status", "/metrics"}) {
        for (const auto& token : {std::string("not-a-token"), forged}) {
            const auto r = get(system(), path, token);
            EXPECT_EQ(r.status, 401) << path << " " << token;
            EXPECT_EQ(header(r, "WWW-Authenticate"),
                      "Bearer realm=\"a.mcx\", error=\"invalid_token\"")
                << path;
        }
    }
}

TEST_F(AdminApi, AUsersTokenIs403InsufficientScope) {
    const auto alice = system().token("alice", "pw-a");
    ASSERT_FALSE(alice.empty());
    // An administrator's login without scope=mcx-admin is a user's token too.
    const auto [status, plain] = login(system(), McSystem::kAdminName, McSystem::kAdminPassword);
    ASSERT_EQ(status, 200);
    EXPECT_EQ(plain["scope"], "openid 3gpp:mc:ptt_service");
    for (const auto* path : {"/status", "/metrics"}) {
        for (const auto& token : {alice, plain["access_token"].get<std::string>()}) {
            const auto r = get(system(), path, token);
            EXPECT_EQ(r.status, 403) << path;
            EXPECT_EQ(header(r, "WWW-Authenticate"),
                      "Bearer realm=\"a.mcx\", error=\"insufficient_scope\", scope=\"mcx-admin\"")
                << path;
            EXPECT_EQ(r.body.find("registrations"), std::string::npos) << path << ": " << r.body;
        }
    }
}

TEST_F(AdminApi, AUserWhoIsNoAdministratorGetsInvalidScope) {
    const auto [status, body] = login(system(), "alice", "pw-a", "mcx-admin");
    EXPECT_EQ(status, 400);
    EXPECT_EQ(body.value("error", ""), "invalid_scope") << body;
    EXPECT_FALSE(body.contains("access_token"));
    const auto [wrong, refused] =
        login(system(), McSystem::kAdminName, "wrong-password", "mcx-admin");
    EXPECT_EQ(wrong, 400);
    EXPECT_EQ(refused.value("error", ""), "invalid_grant") << "the password is checked first";
}

TEST_F(AdminApi, AnAdministratorsTokenReadsStatusAndMetrics) {
    const auto [status, grant] =
        login(system(), McSystem::kAdminName, McSystem::kAdminPassword, "mcx-admin");
    ASSERT_EQ(status, 200) << grant;
    EXPECT_EQ(grant["scope"], "mcx-admin");
    const auto token = grant["access_token"].get<std::string>();

    const auto s = get(system(), "/status", token);
    ASSERT_EQ(s.status, 200) << s.body;
    const auto json = Json::parse(s.body, nullptr, false);
    ASSERT_TRUE(json.is_object()) << s.body;
    EXPECT_EQ(json["registrations"], 2);

    const auto m = get(system(), "/metrics", token);
    ASSERT_EQ(m.status, 200) << m.body;
    EXPECT_EQ(header(m, "Content-Type"), "text/plain; version=0.0.4");
    const auto metrics = parse_exposition(m.body);
    EXPECT_TRUE(metrics.problems.empty()) << ::testing::PrintToString(metrics.problems);
    // The gauges and counters of /status, named per the Prometheus conventions.
    EXPECT_EQ(metrics.types.at("mcx_registrations"), "gauge");
    EXPECT_EQ(metrics.values.at("mcx_registrations"), 2);
    EXPECT_EQ(metrics.types.at("mcx_calls_active"), "gauge");
    EXPECT_EQ(metrics.values.at("mcx_calls_active"), json["active_calls"].get<double>());
    for (const auto& [name, value] : json["counters"].items()) {
        const auto family = "mcx_" + name + "_total";
        ASSERT_TRUE(metrics.types.count(family)) << family << " missing:\n" << m.body;
        EXPECT_EQ(metrics.types.at(family), "counter") << family;
        EXPECT_EQ(metrics.values.at(family), value.get<double>()) << family;
    }
    EXPECT_EQ(metrics.values.at("mcx_register_ok_total"), 2);
    for (const auto& [result, value] : json["logins"].items()) {
        const auto sample = "mcx_logins_total{result=\"" + result + "\"}";
        ASSERT_TRUE(metrics.values.count(sample)) << sample << " missing";
        EXPECT_GE(metrics.values.at(sample), value.get<double>()) << sample;
    }
    for (const auto& [family, type] : metrics.types) {
        EXPECT_TRUE(family.starts_with("mcx_")) << family;
        if (type == "counter") {
            EXPECT_TRUE(family.ends_with("_total")) << family;
        }
    }
}

// The IdMS's public parts stay open: clients and partners fetch them without credentials.
TEST_F(AdminApi, TheIdmsKeyAndDiscoveryStayOpen) {
    EXPECT_EQ(get(system(), "/idms/public-key").status, 200);
    const auto discovery = get(system(), "/.well-known/openid-configuration");
    ASSERT_EQ(discovery.status, 200);
    const auto scopes = Json::parse(discovery.body)["scopes_supported"];
    EXPECT_NE(std::find(scopes.begin(), scopes.end(), "mcx-admin"), scopes.end()) << scopes;
}

int run(const std::string& command, std::string* out = nullptr) {
    std::string text;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return -1;
    char buf[4096];
    while (const auto n = fread(buf, 1, sizeof(buf), pipe)) text.append(buf, n);
    const int rc = pclose(pipe);
    if (out) *out = text;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// `mcx token --admin` prints an administrator's token; taking the role away with `mcx admin`
// while mcxd runs refuses that token at the next request.
TEST_F(AdminApi, McxTokenAdminAndTheRoleTakenAwayWhileMcxdRuns) {
    std::string token;
    ASSERT_EQ(
        run(mcx_binary() + " token --admin --user " + system().uri(McSystem::kAdminName) +
                " --password " + McSystem::kAdminPassword + " --idms-url " + system().http_url(),
            &token),
        0);
    while (!token.empty() && token.back() == '\n') token.pop_back();
    EXPECT_EQ(get(system(), "/metrics", token).status, 200);
    EXPECT_EQ(run(mcx_binary() + " token --admin --user " + system().uri("alice") +
                  " --password pw-a --idms-url " + system().http_url() + " 2>/dev/null"),
              1)
        << "alice is no administrator";

    std::string said;
    ASSERT_EQ(run(mcx_binary() + " admin --config " + system().config_path() + " user admin " +
                      system().uri(McSystem::kAdminName) + " off",
                  &said),
              0)
        << said;
    EXPECT_EQ(get(system(), "/status", token).status, 403) << "the role is read at each request";
    EXPECT_EQ(get(system(), "/metrics", token).status, 403);
    ASSERT_EQ(run(mcx_binary() + " admin --config " + system().config_path() + " user admin " +
                  system().uri(McSystem::kAdminName) + " on > /dev/null"),
              0);
    EXPECT_EQ(get(system(), "/status", token).status, 200);
}

}  // namespace
}  // namespace mcx::test
