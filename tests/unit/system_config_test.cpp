#include "common/system_config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "http_api/routes.hpp"
#include "net/http.hpp"

namespace mcx {
namespace {

TEST(SystemConfig, ShippedExampleLoads) {
    auto config = load_system_config(MCX_TEST_SOURCE_DIR "/config/system-a.toml");
    ASSERT_TRUE(config) << config.error().reason;
    EXPECT_EQ(config->system_id, "A");
    EXPECT_EQ(config->sip_port, 5060);
    ASSERT_EQ(config->users.size(), 3u);
    EXPECT_FALSE(config->users[0].admin);
    EXPECT_TRUE(config->users[2].admin) << config->users[2].id.uri();
    const auto* alice = config->find_user(*McServiceId::parse("sip:alice@a.mcx"));
    ASSERT_NE(alice, nullptr);
    EXPECT_FALSE(alice->private_call_to_any_user);
    ASSERT_EQ(alice->private_call_targets.size(), 1u);
    EXPECT_EQ(alice->private_call_targets[0].uri(), "sip:bob@a.mcx");
    EXPECT_TRUE(config->users[1].private_call_to_any_user);
    EXPECT_EQ(config->idms_key_file, MCX_TEST_SOURCE_DIR "/config/a-idms-key.pem");
}

TEST(SystemConfig, ErrorsNameFileAndLine) {
    struct Case {
        const char* toml;
        const char* expected;
    };
    const Case cases[] = {
        {"[system]\nid = \"A\"\n", "domain is required"},
        {"[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[sip]\nprot = 5060\n",
         "t.toml:5: unknown key 'prot'"},
        {"[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[sip]\nport = 70000\n", "not a port"},
        {"[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[[users]]\nid = \"sip:bob@b.mcx\"\n",
         "not in domain"},
        {"[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[[users]]\nid = \"bob\"\n", "user id 'bob'"},
        {"[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[[users]]\nid = \"sip:b@a.mcx\"\n[[users]]\nid "
         "= \"sip:b@a.mcx\"\n",
         "listed twice"},
        {"[system\n", "t.toml:1"},
        {"[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[interconnect]\nprot = 1\n",
         "unknown key 'prot'"},
        {"[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[interconnect]\nport = 1\n",
         "needs certificate and ca"},
        {"[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[[partners]]\nid = \"B\"\ndomain = "
         "\"b.mcx\"\nidms_url = \"http://b\"\nsip = \"127.0.0.1:x\"\n",
         "t.toml:4: partner sip must be host:port, not '127.0.0.1:x'"},
        {"[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[[partners]]\nid = \"B\"\ndomain = "
         "\"b.mcx\"\nidms_url = \"http://b\"\nsip = \"127.0.0.1:70000\"\n",
         "partner sip must be host:port"},
    };
    for (const auto& c : cases) {
        auto config = parse_system_config(c.toml, "t.toml", ".");
        ASSERT_FALSE(config) << c.toml;
        EXPECT_NE(config.error().reason.find(c.expected), std::string::npos)
            << config.error().reason << " lacks " << c.expected;
    }
}

// Nonsense numbers are refused at load, naming the key, the range and the line (issue 17):
// -1 would wrap to 2^32-1 (unlimited), 10 s registrations could never be granted.
TEST(SystemConfig, NumbersOutOfRangeAreRefused) {
    const std::string head = "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n";
    struct Case {
        std::string table, key, value, expected;
    };
    const Case cases[] = {
        {"sip", "registration_max_expires", "-1",
         "t.toml:5: [sip] registration_max_expires must be 30..604800, not -1"},
        {"sip", "registration_max_expires", "10", "must be 30..604800, not 10"},
        {"sip", "invite_timeout_seconds", "-1", "[sip] invite_timeout_seconds must be 1..600"},
        {"sip", "invite_timeout_seconds", "0", "invite_timeout_seconds must be 1..600, not 0"},
        {"private_call", "max_calls_per_user", "-1",
         "[private_call] max_calls_per_user must be 1..1000000"},
        {"private_call", "max_calls_per_user", "0", "not 0"},
        {"idms", "token_lifetime_seconds", "-100",
         "[idms] token_lifetime_seconds must be 60..604800, not -100"},
    };
    for (const auto& c : cases) {
        const auto toml = head + "[" + c.table + "]\n" + c.key + " = " + c.value + "\n";
        auto config = parse_system_config(toml, "t.toml", ".");
        ASSERT_FALSE(config) << toml;
        EXPECT_NE(config.error().reason.find(c.expected), std::string::npos)
            << config.error().reason << " lacks " << c.expected;
    }
    auto edges = parse_system_config(head +
                                         "[sip]\nregistration_max_expires = 30\n"
                                         "invite_timeout_seconds = 600\n[private_call]\n"
                                         "max_calls_per_user = 1000000\n[idms]\n"
                                         "token_lifetime_seconds = 60\n",
                                     "t.toml", ".");
    ASSERT_TRUE(edges) << edges.error().reason;
    EXPECT_EQ(edges->registration_max_expires, 30u);
    EXPECT_EQ(edges->invite_timeout_seconds, 600u);
    EXPECT_EQ(edges->max_private_calls_per_user, 1'000'000u);
    EXPECT_EQ(edges->token_lifetime_seconds, 60);
}

// [overload]: overload control's settings (issue 17 item 1), each within its range.
TEST(SystemConfig, OverloadSettings) {
    const std::string head = "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[overload]\n";
    auto defaults = parse_system_config(head, "t.toml", ".");
    ASSERT_TRUE(defaults) << defaults.error().reason;
    EXPECT_EQ(defaults->overload.delay_target_ms, OverloadSettings{}.delay_target_ms);
    auto set = parse_system_config(head +
                                       "delay_target_ms = 50\ninterval_ms = 200\nincrease = 0.2\n"
                                       "decrease = 1\nmax_refused_share = 0\n"
                                       "source_failures_per_second = 2.5\n"
                                       "source_failure_burst = 20\nmax_sources = 10\n",
                                   "t.toml", ".");
    ASSERT_TRUE(set) << set.error().reason;
    EXPECT_EQ(set->overload.delay_target_ms, 50);
    EXPECT_EQ(set->overload.interval_ms, 200);
    EXPECT_DOUBLE_EQ(set->overload.increase, 0.2);
    EXPECT_DOUBLE_EQ(set->overload.decrease, 1.0) << "an integer is a number too";
    EXPECT_DOUBLE_EQ(set->overload.max_refused_share, 0.0);
    EXPECT_DOUBLE_EQ(set->overload.source_failures_per_second, 2.5);
    EXPECT_DOUBLE_EQ(set->overload.source_failure_burst, 20.0);
    EXPECT_EQ(set->overload.max_sources, 10u);
    const std::pair<std::string, std::string> refused[] = {
        {"delay_target_ms = 0", "t.toml:5: [overload] delay_target_ms must be 1..10000, not 0"},
        {"interval_ms = -1", "[overload] interval_ms must be 10..10000, not -1"},
        {"increase = 0", "[overload] increase must be 0.001..1, not 0"},
        {"decrease = 1.5", "[overload] decrease must be 0.001..1, not 1.5"},
        {"max_refused_share = -0.1", "max_refused_share must be 0..1, not -0.1"},
        {"max_refused_share = nan", "max_refused_share must be 0..1, not nan"},
        {"source_failure_burst = 0.5", "source_failure_burst must be 1..1e+06, not 0.5"},
        {"max_sources = 0", "[overload] max_sources must be 1..10000000, not 0"},
        {"increase = \"0.1\"", "a number 0.001..1"},
        {"increas = 0.1", "unknown key 'increas' in [overload]"},
    };
    for (const auto& [line, expected] : refused) {
        auto config = parse_system_config(head + line + "\n", "t.toml", ".");
        ASSERT_FALSE(config) << line;
        EXPECT_NE(config.error().reason.find(expected), std::string::npos)
            << config.error().reason << " lacks " << expected;
    }
}

// [sip] stream_*: the caps of SIP over TCP and TLS (net::SipStreamGuard), each with its range.
TEST(SystemConfig, SipStreamLimits) {
    const std::string head = "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[sip]\n";
    auto defaults = parse_system_config(head, "t.toml", ".");
    ASSERT_TRUE(defaults) << defaults.error().reason;
    EXPECT_EQ(defaults->sip_stream.max_connections, SipStreamLimits{}.max_connections);
    EXPECT_EQ(defaults->sip_stream.max_head_bytes, 16u * 1024);
    auto set = parse_system_config(head +
                                       "stream_max_connections = 10\n"
                                       "stream_max_connections_per_source = 2\n"
                                       "stream_max_head_bytes = 512\n"
                                       "stream_max_message_bytes = 65536\n"
                                       "stream_message_timeout_ms = 100\n",
                                   "t.toml", ".");
    ASSERT_TRUE(set) << set.error().reason;
    EXPECT_EQ(set->sip_stream.max_connections, 10u);
    EXPECT_EQ(set->sip_stream.max_connections_per_source, 2u);
    EXPECT_EQ(set->sip_stream.max_head_bytes, 512u);
    EXPECT_EQ(set->sip_stream.max_message_bytes, 65536u);
    EXPECT_EQ(set->sip_stream.message_timeout_ms, 100u);
    const std::pair<std::string, std::string> refused[] = {
        {"stream_max_connections = 0",
         "t.toml:5: [sip] stream_max_connections must be 1..1000000, not 0"},
        {"stream_max_connections_per_source = -1",
         "[sip] stream_max_connections_per_source must be 1..1000000, not -1"},
        {"stream_max_head_bytes = 100", "[sip] stream_max_head_bytes must be 512..65536, not 100"},
        {"stream_max_message_bytes = 65537",
         "[sip] stream_max_message_bytes must be 512..65536, not 65537"},
        {"stream_message_timeout_ms = 99",
         "[sip] stream_message_timeout_ms must be 100..600000, not 99"},
        {"stream_max_head_bytes = 1.5", "an integer 512..65536"},
    };
    for (const auto& [line, expected] : refused) {
        auto config = parse_system_config(head + line + "\n", "t.toml", ".");
        ASSERT_FALSE(config) << line;
        EXPECT_NE(config.error().reason.find(expected), std::string::npos)
            << config.error().reason << " lacks " << expected;
    }
}

// [[users]] admin: the administrator role seeded into the store (issue 16 item 4); off unless
// it says true, and only a boolean (a typo such as "yes" must not quietly mean "no").
TEST(SystemConfig, UsersAdminKey) {
    constexpr const char* head = "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n";
    auto config = parse_system_config(std::string(head) +
                                          "[[users]]\nid = \"sip:root@a.mcx\"\nadmin = true\n"
                                          "[[users]]\nid = \"sip:alice@a.mcx\"\n",
                                      "t.toml", ".");
    ASSERT_TRUE(config) << config.error().reason;
    ASSERT_EQ(config->users.size(), 2u);
    EXPECT_TRUE(config->users[0].admin);
    EXPECT_FALSE(config->users[1].admin);
    auto typo = parse_system_config(
        std::string(head) + "[[users]]\nid = \"sip:root@a.mcx\"\nadmin = \"yes\"\n", "t.toml", ".");
    ASSERT_FALSE(typo);
    EXPECT_NE(typo.error().reason.find("t.toml:6: admin must be true or false"), std::string::npos)
        << typo.error().reason;
}

TEST(SystemConfig, LoginProtectionKeys) {
    constexpr const char* head = "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[idms]\n";
    auto defaults = parse_system_config(head, "t.toml", ".");
    ASSERT_TRUE(defaults) << defaults.error().reason;
    EXPECT_EQ(defaults->login.user_failures, 5u);
    EXPECT_EQ(defaults->login.source_failures, 100u);
    EXPECT_EQ(defaults->login.hash_threads, 1u);
    EXPECT_EQ(defaults->login.hash_queue, 4u);
    EXPECT_EQ(defaults->login.hash_iterations, 20000u);

    auto set = parse_system_config(std::string(head) +
                                       "login_user_failures = 3\nlogin_source_failures = 40\n"
                                       "login_hold_seconds = 10\nlogin_max_hold_seconds = 600\n"
                                       "login_forget_seconds = 1200\nlogin_tracked_entries = 500\n"
                                       "password_hash_threads = 2\npassword_hash_queue = 0\n"
                                       "password_hash_iterations = 1000\n",
                                   "t.toml", ".");
    ASSERT_TRUE(set) << set.error().reason;
    EXPECT_EQ(set->login.user_failures, 3u);
    EXPECT_EQ(set->login.source_failures, 40u);
    EXPECT_EQ(set->login.hold_seconds, 10);
    EXPECT_EQ(set->login.max_hold_seconds, 600);
    EXPECT_EQ(set->login.forget_seconds, 1200);
    EXPECT_EQ(set->login.tracked_entries, 500u);
    EXPECT_EQ(set->login.hash_threads, 2u);
    EXPECT_EQ(set->login.hash_queue, 0u);
    EXPECT_EQ(set->login.hash_iterations, 1000u);

    for (const auto& [line, expected] : std::initializer_list<std::pair<const char*, const char*>>{
             {"login_user_failures = 0\n", "t.toml:5: [idms] login_user_failures must be 1.."},
             {"password_hash_threads = 0\n", "password_hash_threads must be 1..64"},
             {"password_hash_queue = -1\n", "password_hash_queue must be 0..1024"},
             {"login_hold_seconds = 60\nlogin_max_hold_seconds = 30\n",
              "login_max_hold_seconds must not be below login_hold_seconds"},
             {"login_user_failures = \"5\"\n", "'login_user_failures' has the wrong type"},
             {"login_failures = 5\n", "unknown key 'login_failures' in [idms]"}}) {
        auto config = parse_system_config(std::string(head) + line, "t.toml", ".");
        ASSERT_FALSE(config) << line;
        EXPECT_NE(config.error().reason.find(expected), std::string::npos)
            << config.error().reason << " lacks " << expected;
    }
}

// [http] limits (docs/security.md, "HTTP that cannot be starved"): absent, they are what
// net::HttpLimits holds (mcxd's behaviour before the keys); each is read, and each bound of its
// range holds, a value just outside it stopping mcxd with file:line and the range (issue 17).
TEST(SystemConfig, HttpLimitsKeys) {
    const std::string head = "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n[http]\nport = 8080\n";
    auto defaults = parse_system_config(head, "t.toml", ".");
    ASSERT_TRUE(defaults) << defaults.error().reason;
    const net::HttpLimits server;
    const auto limits = http_api::http_limits(defaults->http_limits);
    EXPECT_EQ(limits.max_head_bytes, server.max_head_bytes);
    EXPECT_EQ(limits.max_header_fields, server.max_header_fields);
    EXPECT_EQ(limits.max_line_bytes, server.max_line_bytes);
    EXPECT_EQ(limits.max_body_bytes, server.max_body_bytes);
    EXPECT_EQ(limits.request_timeout, server.request_timeout);
    EXPECT_EQ(limits.idle_timeout, server.idle_timeout);
    EXPECT_EQ(limits.handshake_timeout, server.handshake_timeout);
    EXPECT_EQ(limits.write_timeout, server.write_timeout);
    EXPECT_EQ(limits.linger_timeout, server.linger_timeout);
    EXPECT_EQ(limits.max_connections_per_source, server.max_connections_per_source);
    EXPECT_EQ(limits.max_connections, server.max_connections);
    EXPECT_EQ(limits.max_requests_per_connection, server.max_requests_per_connection);
    EXPECT_EQ(limits.worker_threads, server.worker_threads);

    auto set = parse_system_config(head +
                                       "max_head_bytes = 4096\nmax_header_fields = 20\n"
                                       "max_line_bytes = 2048\nmax_body_bytes = 65536\n"
                                       "request_timeout_ms = 1500\nidle_timeout_ms = 700\n"
                                       "handshake_timeout_ms = 3000\nwrite_timeout_ms = 900\n"
                                       "linger_timeout_ms = 0\nmax_connections_per_source = 4\n"
                                       "max_connections = 64\nmax_requests_per_connection = 7\n"
                                       "worker_threads = 3\n",
                                   "t.toml", ".");
    ASSERT_TRUE(set) << set.error().reason;
    EXPECT_EQ(set->http_port, 8080);
    const auto given = http_api::http_limits(set->http_limits);
    EXPECT_EQ(given.max_head_bytes, 4096u);
    EXPECT_EQ(given.max_header_fields, 20u);
    EXPECT_EQ(given.max_line_bytes, 2048u);
    EXPECT_EQ(given.max_body_bytes, 65536u);
    EXPECT_EQ(given.request_timeout, std::chrono::milliseconds(1500));
    EXPECT_EQ(given.idle_timeout, std::chrono::milliseconds(700));
    EXPECT_EQ(given.handshake_timeout, std::chrono::milliseconds(3000));
    EXPECT_EQ(given.write_timeout, std::chrono::milliseconds(900));
    EXPECT_EQ(given.linger_timeout, std::chrono::milliseconds(0));
    EXPECT_EQ(given.max_connections_per_source, 4u);
    EXPECT_EQ(given.max_connections, 64u);
    EXPECT_EQ(given.max_requests_per_connection, 7u);
    EXPECT_EQ(given.worker_threads, 3u);

    struct Range {
        const char* key;
        long long lo, hi;
    };
    const std::vector<Range> ranges = {
        {"max_head_bytes", 1024, 1048576},
        {"max_header_fields", 1, 10000},
        {"max_line_bytes", 1024, 8192},
        {"max_body_bytes", 1024, 16777216},
        {"request_timeout_ms", 100, 600000},
        {"idle_timeout_ms", 100, 3600000},
        {"handshake_timeout_ms", 100, 600000},
        {"write_timeout_ms", 100, 600000},
        {"linger_timeout_ms", 0, 60000},
        {"max_connections_per_source", 1, 100000},
        {"max_connections", 1, 100000},
        {"max_requests_per_connection", 1, 1000000},
        {"worker_threads", 1, 256},
    };
    for (const auto& r : ranges) {
        const auto range = std::to_string(r.lo) + ".." + std::to_string(r.hi);
        for (const auto value : {r.lo, r.hi}) {
            const auto toml = head + r.key + " = " + std::to_string(value) + "\n";
            auto config = parse_system_config(toml, "t.toml", ".");
            EXPECT_TRUE(config) << toml << (config ? "" : config.error().reason);
        }
        for (const auto value : {r.lo - 1, r.hi + 1}) {
            const auto toml = head + r.key + " = " + std::to_string(value) + "\n";
            auto config = parse_system_config(toml, "t.toml", ".");
            ASSERT_FALSE(config) << toml;
            const auto expected = "t.toml:6: [http] " + std::string(r.key) + " must be " + range +
                                  ", not " + std::to_string(value);
            EXPECT_EQ(config.error().reason, expected);
        }
    }
    for (const auto& [line, expected] : std::initializer_list<std::pair<const char*, const char*>>{
             {"worker_threads = \"4\"\n",
              "t.toml:6: [http] 'worker_threads' has the wrong type (string): worker_threads must "
              "be an integer 1..256"},
             {"max_header_fields = 1.5\n", "'max_header_fields' has the wrong type"},
             {"max_headers = 10\n", "t.toml:6: unknown key 'max_headers' in [http]"}}) {
        auto config = parse_system_config(head + line, "t.toml", ".");
        ASSERT_FALSE(config) << line;
        EXPECT_NE(config.error().reason.find(expected), std::string::npos)
            << config.error().reason << " lacks " << expected;
    }
}

// docs/security.md "SIP access": the clients' TLS listener and the transports users may use.
TEST(SystemConfig, SipAccessKeys) {
    const std::string head = "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n";
    auto defaults = parse_system_config(head, "t.toml", "/etc/mcx");
    ASSERT_TRUE(defaults) << defaults.error().reason;
    EXPECT_FALSE(defaults->sip_access.tls);
    EXPECT_TRUE(defaults->sip_access.udp);
    EXPECT_TRUE(defaults->sip_access.tcp);

    auto own = parse_system_config(head +
                                       "[sip]\ntls_port = 5061\ntls_certificate = \"a.pem\"\n"
                                       "udp_access = false\ntcp_access = false\n",
                                   "t.toml", "/etc/mcx");
    ASSERT_TRUE(own) << own.error().reason;
    EXPECT_TRUE(own->sip_access.tls);
    EXPECT_EQ(own->sip_access.tls_port, 5061);
    EXPECT_EQ(own->sip_access.tls_certificate_file, "/etc/mcx/a.pem");
    EXPECT_FALSE(own->sip_access.udp);
    EXPECT_FALSE(own->sip_access.tcp);

    // Without its own certificate the listener uses the interconnect's.
    auto shared = parse_system_config(head +
                                          "[sip]\ntls_port = 0\n[interconnect]\n"
                                          "certificate = \"ic.pem\"\nca = \"ca.pem\"\n",
                                      "t.toml", "/etc/mcx");
    ASSERT_TRUE(shared) << shared.error().reason;
    EXPECT_EQ(shared->sip_access.tls_certificate_file, "/etc/mcx/ic.pem");

    for (const auto& [lines, expected] : std::initializer_list<std::pair<const char*, const char*>>{
             {"[sip]\ntls_port = 0\n", "tls_port needs tls_certificate"},
             {"[sip]\nudp_access = false\ntcp_access = false\n", "no client could register"},
             {"[sip]\nudp_access = \"no\"\n", "'udp_access' has the wrong type"},
             {"[sip]\ntls_port = 65536\n", "not a port"}}) {
        auto config = parse_system_config(head + lines, "t.toml", ".");
        ASSERT_FALSE(config) << lines;
        EXPECT_NE(config.error().reason.find(expected), std::string::npos)
            << config.error().reason << " lacks " << expected;
    }
}

}  // namespace
}  // namespace mcx

namespace mcx {
namespace {

// docs/security.md, "Partner trust over TLS": partner URLs are https:// (mutual TLS with the
// [interconnect] certificate and CA), http:// only with plain_http = true (lab use).
TEST(SystemConfig, PartnerUrlsAreHttpsUnlessPlainHttpIsSaid) {
    const std::string head = "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n";
    const std::string interconnect =
        "[interconnect]\ncertificate = \"/c/A.pem\"\nca = \"/c/ca.pem\"\nhttps_port = 0\n";
    const std::string partner = "[[partners]]\nid = \"B\"\ndomain = \"b.mcx\"\n";
    struct Case {
        std::string toml, expected;
    };
    const Case refused[] = {
        {head + partner + "idms_url = \"http://b:1\"\n", "http://b:1 is plain HTTP; use https://"},
        {head + interconnect + partner + "idms_url = \"https://b:1\"\ncms_url = \"http://b:1\"\n",
         "plain_http = true"},
        {head + partner + "idms_url = \"ftp://b\"\n", "must be https://host:port"},
        {head + partner + "idms_url = \"https://b:1\"\n", "needs [interconnect] certificate"},
        {head + interconnect + partner + "idms_url = \"https://b:1\"\nkey_refresh_seconds = 5\n",
         "key_refresh_seconds must be 10..604800, not 5"},
        {head + interconnect + partner + "idms_url = \"https://b:1\"\nplain_http = \"yes\"\n",
         "'plain_http' has the wrong type"},
        {head + "[interconnect]\ncertificate = \"c\"\nca = \"c\"\nhttps_port = 70000\n",
         "'https_port' is not a port number"},
    };
    for (const auto& c : refused) {
        auto config = parse_system_config(c.toml, "t.toml", ".");
        ASSERT_FALSE(config) << c.toml;
        EXPECT_NE(config.error().reason.find(c.expected), std::string::npos)
            << config.error().reason << " lacks " << c.expected;
    }

    auto https = parse_system_config(
        head + interconnect + partner +
            "idms_url = \"https://127.0.0.1:9\"\ncms_url = \"https://127.0.0.1:9\"\n"
            "key_refresh_seconds = 600\n",
        "t.toml", ".");
    ASSERT_TRUE(https) << https.error().reason;
    EXPECT_TRUE(https->interconnect.https);
    EXPECT_EQ(https->interconnect.https_port, 0);
    EXPECT_FALSE(https->partners[0].plain_http);
    EXPECT_EQ(https->partners[0].key_refresh_seconds, 600u);

    auto lab = parse_system_config(
        head + partner + "idms_url = \"http://b:1\"\ncms_url = \"http://b:1\"\nplain_http = true\n",
        "t.toml", ".");
    ASSERT_TRUE(lab) << lab.error().reason;
    EXPECT_TRUE(lab->partners[0].plain_http);
    EXPECT_EQ(lab->partners[0].key_refresh_seconds, 3600u) << "the default";
    EXPECT_FALSE(lab->interconnect.https) << "no https_port: no HTTPS listener";
}

}  // namespace
}  // namespace mcx

namespace mcx {
namespace {

// Every number of the file has its range (config/README.md): a value out of it, a negative one
// and one of another type are refused, naming file:line, the key and the range; the bounds
// themselves are taken.
TEST(SystemConfig, EveryNumberOutOfItsRangeOrOfAnotherTypeIsRefusedWithFileLineAndRange) {
    struct Key {
        std::string table;  // "sip", or "[partners]" for an array of tables
        std::string key;
        std::int64_t lo, hi;
        std::string more;  // further lines the table needs
    };
    const std::string certificates = "certificate = \"c.pem\"\nca = \"ca.pem\"\n";
    const std::string partner =
        "id = \"B\"\ndomain = \"b.mcx\"\nidms_url = \"http://b:1\"\nplain_http = true\n";
    const Key keys[] = {
        {"sip", "port", 0, 65535, ""},
        {"sip", "tls_port", 0, 65535, "tls_certificate = \"c.pem\"\n"},
        {"sip", "registration_max_expires", 30, 604800, ""},
        {"sip", "invite_timeout_seconds", 1, 600, ""},
        {"http", "port", 0, 65535, ""},
        {"idms", "token_lifetime_seconds", 60, 604800, ""},
        {"idms", "login_user_failures", 1, 1'000'000, ""},
        {"idms", "login_source_failures", 1, 1'000'000, ""},
        {"idms", "login_hold_seconds", 1, 86400, "login_max_hold_seconds = 604800\n"},
        {"idms", "login_max_hold_seconds", 1, 604800, "login_hold_seconds = 1\n"},
        {"idms", "login_forget_seconds", 1, 604800, ""},
        {"idms", "login_tracked_entries", 1, 10'000'000, ""},
        {"idms", "password_hash_threads", 1, 64, ""},
        {"idms", "password_hash_queue", 0, 1024, ""},
        {"idms", "password_hash_iterations", 1000, 10'000'000, ""},
        {"private_call", "max_calls_per_user", 1, 1'000'000, ""},
        {"private_call", "inactivity_seconds", 0, 86400, ""},
        {"floor_control", "max_priority", 1, 255, ""},
        {"interconnect", "port", 0, 65535, certificates},
        {"interconnect", "timeout_seconds", 1, 120, certificates},
        {"interconnect", "https_port", 0, 65535, certificates},
        {"[partners]", "key_refresh_seconds", 10, 604800, partner},
    };
    const std::string head = "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n";
    for (const auto& k : keys) {
        // The key on line 5, right after the table's header.
        const auto toml = [&](const std::string& value) {
            return head + "[" + k.table + "]\n" + k.key + " = " + value + "\n" + k.more;
        };
        const auto range = std::to_string(k.lo) + ".." + std::to_string(k.hi);
        const auto where = "[" + k.table + "]";
        for (const auto& bad : {std::to_string(k.lo - 1), std::to_string(k.hi + 1),
                                std::string("-1"), std::string("\"5\""), std::string("5.0")}) {
            auto config = parse_system_config(toml(bad), "t.toml", ".");
            ASSERT_FALSE(config) << k.key << " = " << bad << " was taken";
            const auto& reason = config.error().reason;
            EXPECT_TRUE(reason.starts_with("t.toml:5: " + where + " ")) << reason;
            EXPECT_NE(reason.find(k.key), std::string::npos) << reason;
            EXPECT_NE(reason.find(range), std::string::npos) << reason << " lacks " << range;
        }
        for (const auto edge : {k.lo, k.hi}) {
            auto config = parse_system_config(toml(std::to_string(edge)), "t.toml", ".");
            EXPECT_TRUE(config) << k.key << " = " << edge << ": " << config.error().reason;
        }
    }
}

TEST(SystemConfig, OutOfRangeNamesTheValueAndWrongTypesTheType) {
    const std::string head = "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n";
    for (const auto& [lines, expected] : std::initializer_list<std::pair<const char*, const char*>>{
             {"[private_call]\ninactivity_seconds = -5\n",
              "t.toml:5: [private_call] inactivity_seconds must be 0..86400, not -5"},
             {"[floor_control]\nmax_priority = 256\n",
              "t.toml:5: [floor_control] max_priority must be 1..255, not 256"},
             {"[http]\nport = -1\n",
              "t.toml:5: [http] 'port' is not a port number: must be "
              "0..65535, not -1"},
             {"[sip]\ninvite_timeout_seconds = \"32\"\n",
              "t.toml:5: [sip] 'invite_timeout_seconds' has the wrong type (string): "
              "invite_timeout_seconds must be an integer 1..600"},
             {"[sip]\nleg_thread = 1\n",
              "t.toml:5: [sip] 'leg_thread' has the wrong type (integer): leg_thread must be "
              "true or false"},
             {"[interconnect]\ncertificate = 1\n", "'certificate' has the wrong type (integer)"},
             {"[http]\nport = 8080\n[[users]]\nid = \"sip:a@a.mcx\"\nprivate_call_targets = [1]\n",
              "t.toml:8: [[users]] private_call_targets holds a non-string"},
             {"[migration]\nprivate_call_targets = [\"bob\"]\n",
              "t.toml:5: [migration] private_call_targets: target 'bob'"}}) {
        auto config = parse_system_config(head + lines, "t.toml", ".");
        ASSERT_FALSE(config) << lines;
        EXPECT_NE(config.error().reason.find(expected), std::string::npos)
            << config.error().reason << " lacks " << expected;
    }
    auto not_a_table = parse_system_config("sip = 5\n" + head, "t.toml", ".");
    ASSERT_FALSE(not_a_table);
    EXPECT_NE(not_a_table.error().reason.find("t.toml:1: [sip] must be a table"), std::string::npos)
        << not_a_table.error().reason;
}

// The target lists of [[users]] and [migration] are read the same way: "*" is any user, no
// list is any user, a list without "*" only those named.
TEST(SystemConfig, TargetListsOfUsersAndMigration) {
    const std::string head = "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n";
    auto config = parse_system_config(
        head +
            "[migration]\nprivate_call_targets = [\"sip:bob@a.mcx\"]\n"
            "[[users]]\nid = \"sip:a@a.mcx\"\nprivate_call_targets = [\"*\", \"sip:bob@a.mcx\"]\n"
            "[[users]]\nid = \"sip:b@a.mcx\"\n"
            "[[users]]\nid = \"sip:c@a.mcx\"\nprivate_call_targets = [\"sip:bob@a.mcx\"]\n",
        "t.toml", ".");
    ASSERT_TRUE(config) << config.error().reason;
    EXPECT_FALSE(config->migration.private_call_to_any_user);
    ASSERT_EQ(config->migration.private_call_targets.size(), 1u);
    EXPECT_EQ(config->migration.private_call_targets[0].uri(), "sip:bob@a.mcx");
    EXPECT_TRUE(config->users[0].private_call_to_any_user);
    EXPECT_EQ(config->users[0].private_call_targets.size(), 1u);
    EXPECT_TRUE(config->users[1].private_call_to_any_user) << "no list: anyone";
    EXPECT_FALSE(config->users[2].private_call_to_any_user);
    auto defaults = parse_system_config(head, "t.toml", ".");
    ASSERT_TRUE(defaults);
    EXPECT_TRUE(defaults->migration.private_call_to_any_user);
}

}  // namespace
}  // namespace mcx
