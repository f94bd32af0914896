#include "common/system_config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

namespace mcx {

namespace {

// A list of MC service IDs where "*" stands for any user (PrivateCallList, TS 24.484).
struct TargetList {
    bool any_user = false;
    std::vector<McServiceId> ids;
};

// Reads the tables of one configuration file: every error names the file and, where there is
// one, the line (file:line: what), and for a number its range (config/README.md).
class Reader {
  public:
    Reader(const std::string& source, const std::string& base_dir)
        : source_(source), base_dir_(base_dir) {}

    const std::string& source() const { return source_; }

    Error at(const toml::source_region& where, const std::string& what) const {
        return Error{Errc::invalid_argument,
                     source_ + ":" + std::to_string(where.begin.line) + ": " + what};
    }
    tl::unexpected<Error> fail_at(const toml::source_region& where, const std::string& what) const {
        return tl::unexpected(at(where, what));
    }

    // A misspelt key must not be ignored silently.
    Result<void> only_known_keys(const toml::table& table,
                                 std::initializer_list<std::string_view> known,
                                 const std::string& where) const {
        for (const auto& [key, node] : table) {
            if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
                return fail_at(node.source(),
                               "unknown key '" + std::string(key.str()) + "' in " + where);
            }
        }
        return {};
    }

    // A string or boolean key; absent: `fallback`.
    template <class T>
    Result<T> value(const toml::table& table, std::string_view key, T fallback,
                    const std::string& where) const {
        const auto* node = table.get(key);
        if (!node) return fallback;
        if (auto v = node->value_exact<T>()) return *v;
        return fail_at(node->source(), wrong_type(*node, key, where, expected<T>()));
    }

    // An integer key within [lo, hi]: a negative or absurd value would wrap around or disable a
    // safeguard (issue 17).
    Result<std::int64_t> integer(const toml::table& table, std::string_view key,
                                 std::int64_t fallback, std::int64_t lo, std::int64_t hi,
                                 const std::string& where) const {
        const auto* node = table.get(key);
        if (!node) return fallback;
        const auto range = std::to_string(lo) + ".." + std::to_string(hi);
        const auto v = node->value_exact<std::int64_t>();
        if (!v)
            return fail_at(node->source(), wrong_type(*node, key, where, "an integer " + range));
        if (*v < lo || *v > hi) {
            return fail_at(node->source(), where + " " + std::string(key) + " must be " + range +
                                               ", not " + std::to_string(*v));
        }
        return *v;
    }
    template <class Field>
    Result<void> integer_into(Field& field, const toml::table& table, std::string_view key,
                              std::int64_t lo, std::int64_t hi, const std::string& where) const {
        auto v = integer(table, key, static_cast<std::int64_t>(field), lo, hi, where);
        if (!v) return tl::unexpected(v.error());
        field = static_cast<Field>(*v);
        return {};
    }
    // A number key (integer or float) within [lo, hi]; absent: `field` stays.
    Result<void> number_into(double& field, const toml::table& table, std::string_view key,
                             double lo, double hi, const std::string& where) const {
        const auto* node = table.get(key);
        if (!node) return {};
        const auto range = number_text(lo) + ".." + number_text(hi);
        std::optional<double> v = node->value_exact<double>();
        if (!v) {
            if (auto i = node->value_exact<std::int64_t>()) v = static_cast<double>(*i);
        }
        if (!v) return fail_at(node->source(), wrong_type(*node, key, where, "a number " + range));
        if (!(*v >= lo && *v <= hi)) {
            return fail_at(node->source(), where + " " + std::string(key) + " must be " + range +
                                               ", not " + number_text(*v));
        }
        field = *v;
        return {};
    }
    static std::string number_text(double v) {
        std::ostringstream out;
        out << v;
        return out.str();
    }
    template <class T>
    Result<void> value_into(T& field, const toml::table& table, std::string_view key,
                            const std::string& where) const {
        auto v = value<T>(table, key, field, where);
        if (!v) return tl::unexpected(v.error());
        field = std::move(*v);
        return {};
    }

    // A listening port, 0..65535 (0: any free port).
    Result<std::uint16_t> port(const toml::table& table, std::string_view key,
                               const std::string& where) const {
        const auto* node = table.get(key);
        const auto v = node ? node->value_exact<std::int64_t>() : std::optional<std::int64_t>(0);
        if (!v || *v < 0 || *v > 65535) {
            return fail_at(node->source(), where + " '" + std::string(key) +
                                               "' is not a port number: must be 0..65535, not " +
                                               value_text(*node));
        }
        return static_cast<std::uint16_t>(*v);
    }

    // A file named relative to the configuration file; absent: "".
    Result<std::string> file(const toml::table& table, std::string_view key,
                             const std::string& where) const {
        auto name = value<std::string>(table, key, "", where);
        if (!name) return name;
        return resolve(*name);
    }
    std::string resolve(const std::string& name) const {
        if (name.empty() || std::filesystem::path(name).is_absolute()) return name;
        return (std::filesystem::path(base_dir_) / name).string();
    }

    // A list of strings; absent: none.
    Result<std::vector<std::string>> strings(const toml::table& table, std::string_view key,
                                             const std::string& where) const {
        std::vector<std::string> out;
        const auto* node = table.get(key);
        if (!node) return out;
        const auto* array = node->as_array();
        if (!array) return fail_at(node->source(), wrong_type(*node, key, where, "a list"));
        for (const auto& item : *array) {
            const auto text = item.value_exact<std::string>();
            if (!text) {
                return fail_at(item.source(),
                               where + " " + std::string(key) + " holds a non-string");
            }
            out.push_back(*text);
        }
        return out;
    }

    // MC service IDs, "*" for any user; absent: any user.
    Result<TargetList> targets(const toml::table& table, std::string_view key,
                               const std::string& where) const {
        if (!table.contains(key)) return TargetList{true, {}};
        auto texts = strings(table, key, where);
        if (!texts) return tl::unexpected(texts.error());
        TargetList out;
        const auto& items = *table.get(key)->as_array();
        for (std::size_t i = 0; i < texts->size(); ++i) {
            const auto& text = (*texts)[i];
            if (text == "*") {
                out.any_user = true;
                continue;
            }
            auto id = McServiceId::parse(text);
            if (!id) {
                return fail_at(items[i].source(), where + " " + std::string(key) + ": target '" +
                                                      text + "': " + id.error().reason);
            }
            out.ids.push_back(*id);
        }
        return out;
    }

    // IPv4 networks ("10.0.0.0/8", "192.0.2.7"); absent: none.
    Result<std::vector<Ipv4Network>> networks(const toml::table& table, std::string_view key,
                                              const std::string& where) const {
        std::vector<Ipv4Network> out;
        const auto* node = table.get(key);
        if (!node) return out;
        if (!node->is_array()) {
            return fail_at(node->source(), where + " " + std::string(key) +
                                               " must be a list of networks such as "
                                               "\"10.0.0.0/8\"");
        }
        for (const auto& item : *node->as_array()) {
            const auto text = item.value_exact<std::string>();
            auto network = text ? Ipv4Network::parse(*text)
                                : fail(Errc::invalid_argument, "an entry is not a string");
            if (!network) {
                return fail_at(item.source(),
                               where + " " + std::string(key) + ": " + network.error().reason);
            }
            out.push_back(*network);
        }
        return out;
    }

  private:
    template <class T>
    static const char* expected() {
        if constexpr (std::is_same_v<T, bool>) return "true or false";
        return "a string";
    }
    static std::string value_text(const toml::node& node) {
        std::ostringstream out;
        node.visit([&out](const auto& n) { out << n; });
        return out.str();
    }
    static std::string wrong_type(const toml::node& node, std::string_view key,
                                  const std::string& where, const std::string& expectation) {
        std::ostringstream type;
        type << node.type();
        return where + " '" + std::string(key) + "' has the wrong type (" + type.str() +
               "): " + std::string(key) + " must be " + expectation;
    }

    const std::string& source_;
    const std::string& base_dir_;
};

// Each section reads its table of the file into `config` ([system] is required, the others
// keep their defaults when absent).
using Section = Result<void> (*)(const Reader&, const toml::table&, SystemConfig&);

Result<void> read_system(const Reader& in, const toml::table& t, SystemConfig& config) {
    if (auto r = in.only_known_keys(t, {"id", "domain", "host"}, "[system]"); !r) return r;
    for (auto [key, field] :
         {std::pair{"id", &config.system_id}, std::pair{"domain", &config.domain}}) {
        if (auto r = in.value_into(*field, t, key, "[system]"); !r) return r;
        if (field->empty()) {
            return in.fail_at(t.source(), std::string("[system] ") + key + " is required");
        }
    }
    return in.value_into(config.host, t, "host", "[system]");
}

Result<void> read_sip(const Reader& in, const toml::table& t, SystemConfig& config) {
    const std::string where = "[sip]";
    if (auto r = in.only_known_keys(
            t,
            {"port", "registration_max_expires", "invite_timeout_seconds", "leg_thread", "tls_port",
             "tls_certificate", "udp_access", "tcp_access", "stream_max_connections",
             "stream_max_connections_per_source", "stream_max_head_bytes",
             "stream_max_message_bytes", "stream_message_timeout_ms"},
            where);
        !r) {
        return r;
    }
    auto port = in.port(t, "port", where);
    if (!port) return tl::unexpected(port.error());
    config.sip_port = *port;
    auto& access = config.sip_access;
    if (t.contains("tls_port")) {
        auto tls_port = in.port(t, "tls_port", where);
        if (!tls_port) return tl::unexpected(tls_port.error());
        access.tls = true;
        access.tls_port = *tls_port;
    }
    auto certificate = in.file(t, "tls_certificate", where);
    if (!certificate) return tl::unexpected(certificate.error());
    access.tls_certificate_file = *certificate;
    // Below the registrar's own minimum (30 s, 423 Interval Too Brief) no binding could live.
    for (auto r : {in.integer_into(config.registration_max_expires, t, "registration_max_expires",
                                   30, 7 * 86400, where),
                   in.integer_into(config.invite_timeout_seconds, t, "invite_timeout_seconds", 1,
                                   600, where),
                   in.value_into(config.sip_leg_thread, t, "leg_thread", where),
                   in.value_into(access.udp, t, "udp_access", where),
                   in.value_into(access.tcp, t, "tcp_access", where)}) {
        if (!r) return r;
    }
    // SIP over TCP and TLS (net::SipStreamGuard); 64 KiB is what libre's transport buffers.
    auto& stream = config.sip_stream;
    for (auto r :
         {in.integer_into(stream.max_connections, t, "stream_max_connections", 1, 1'000'000, where),
          in.integer_into(stream.max_connections_per_source, t, "stream_max_connections_per_source",
                          1, 1'000'000, where),
          in.integer_into(stream.max_head_bytes, t, "stream_max_head_bytes", 512, 64 * 1024, where),
          in.integer_into(stream.max_message_bytes, t, "stream_max_message_bytes", 512, 64 * 1024,
                          where),
          in.integer_into(stream.message_timeout_ms, t, "stream_message_timeout_ms", 100, 600'000,
                          where)}) {
        if (!r) return r;
    }
    return {};
}

// [http]: the port, and the limits of both HTTP listeners (HttpLimitsConfig; their ranges in
// config/README.md).
Result<void> read_http(const Reader& in, const toml::table& t, SystemConfig& config) {
    const std::string where = "[http]";
    if (auto r = in.only_known_keys(
            t,
            {"port", "max_head_bytes", "max_header_fields", "max_line_bytes", "max_body_bytes",
             "request_timeout_ms", "idle_timeout_ms", "handshake_timeout_ms", "write_timeout_ms",
             "linger_timeout_ms", "max_connections_per_source", "max_connections",
             "max_requests_per_connection", "worker_threads"},
            where);
        !r) {
        return r;
    }
    auto port = in.port(t, "port", where);
    if (!port) return tl::unexpected(port.error());
    config.http_port = *port;
    auto& limits = config.http_limits;
    // cpp-httplib parses no line beyond 8 KiB (CPPHTTPLIB_HEADER_MAX_LENGTH, compiled into
    // Debian's library); below 1 KiB a line or a head with an access token may not fit.
    for (auto r :
         {in.integer_into(limits.max_head_bytes, t, "max_head_bytes", 1024, 1024 * 1024, where),
          in.integer_into(limits.max_header_fields, t, "max_header_fields", 1, 10'000, where),
          in.integer_into(limits.max_line_bytes, t, "max_line_bytes", 1024, 8 * 1024, where),
          in.integer_into(limits.max_body_bytes, t, "max_body_bytes", 1024, 16 * 1024 * 1024,
                          where),
          in.integer_into(limits.request_timeout_ms, t, "request_timeout_ms", 100, 600'000, where),
          in.integer_into(limits.idle_timeout_ms, t, "idle_timeout_ms", 100, 3'600'000, where),
          in.integer_into(limits.handshake_timeout_ms, t, "handshake_timeout_ms", 100, 600'000,
                          where),
          in.integer_into(limits.write_timeout_ms, t, "write_timeout_ms", 100, 600'000, where),
          in.integer_into(limits.linger_timeout_ms, t, "linger_timeout_ms", 0, 60'000, where),
          in.integer_into(limits.max_connections_per_source, t, "max_connections_per_source", 1,
                          100'000, where),
          in.integer_into(limits.max_connections, t, "max_connections", 1, 100'000, where),
          in.integer_into(limits.max_requests_per_connection, t, "max_requests_per_connection", 1,
                          1'000'000, where),
          in.integer_into(limits.worker_threads, t, "worker_threads", 1, 256, where)}) {
        if (!r) return r;
    }
    return {};
}

// [idms]: the token lifetime, and failed-login throttling and where password hashes are
// computed (idms::LoginThrottleLimits, idms::PasswordHashPool; docs/identity.md).
Result<void> read_idms(const Reader& in, const toml::table& t, SystemConfig& config) {
    const std::string where = "[idms]";
    if (auto r = in.only_known_keys(
            t,
            {"key_file", "token_lifetime_seconds", "login_user_failures", "login_source_failures",
             "login_hold_seconds", "login_max_hold_seconds", "login_forget_seconds",
             "login_tracked_entries", "password_hash_threads", "password_hash_queue",
             "password_hash_iterations"},
            where);
        !r) {
        return r;
    }
    auto key = in.file(t, "key_file", where);
    if (!key) return tl::unexpected(key.error());
    config.idms_key_file = *key;
    auto& login = config.login;
    for (auto r :
         {in.integer_into(config.token_lifetime_seconds, t, "token_lifetime_seconds", 60, 7 * 86400,
                          where),
          in.integer_into(login.user_failures, t, "login_user_failures", 1, 1'000'000, where),
          in.integer_into(login.source_failures, t, "login_source_failures", 1, 1'000'000, where),
          in.integer_into(login.hold_seconds, t, "login_hold_seconds", 1, 86'400, where),
          in.integer_into(login.max_hold_seconds, t, "login_max_hold_seconds", 1, 7 * 86'400,
                          where),
          in.integer_into(login.forget_seconds, t, "login_forget_seconds", 1, 7 * 86'400, where),
          in.integer_into(login.tracked_entries, t, "login_tracked_entries", 1, 10'000'000, where),
          in.integer_into(login.hash_threads, t, "password_hash_threads", 1, 64, where),
          in.integer_into(login.hash_queue, t, "password_hash_queue", 0, 1024, where),
          in.integer_into(login.hash_iterations, t, "password_hash_iterations", 1000, 10'000'000,
                          where)}) {
        if (!r) return r;
    }
    if (login.max_hold_seconds < login.hold_seconds) {
        return in.fail_at(t.source(),
                          "[idms] login_max_hold_seconds must not be below login_hold_seconds");
    }
    return {};
}

Result<void> read_overload(const Reader& in, const toml::table& t, SystemConfig& config) {
    const std::string where = "[overload]";
    if (auto r = in.only_known_keys(
            t,
            {"delay_target_ms", "interval_ms", "increase", "decrease", "max_refused_share",
             "source_failures_per_second", "source_failure_burst", "max_sources"},
            where);
        !r) {
        return r;
    }
    auto& o = config.overload;
    for (auto r : {in.integer_into(o.delay_target_ms, t, "delay_target_ms", 1, 10'000, where),
                   in.integer_into(o.interval_ms, t, "interval_ms", 10, 10'000, where),
                   in.number_into(o.increase, t, "increase", 0.001, 1, where),
                   in.number_into(o.decrease, t, "decrease", 0.001, 1, where),
                   in.number_into(o.max_refused_share, t, "max_refused_share", 0, 1, where),
                   in.number_into(o.source_failures_per_second, t, "source_failures_per_second",
                                  0.001, 1e6, where),
                   in.number_into(o.source_failure_burst, t, "source_failure_burst", 1, 1e6, where),
                   in.integer_into(o.max_sources, t, "max_sources", 1, 10'000'000, where)}) {
        if (!r) return r;
    }
    return {};
}

Result<void> read_private_call(const Reader& in, const toml::table& t, SystemConfig& config) {
    const std::string where = "[private_call]";
    if (auto r = in.only_known_keys(t, {"max_calls_per_user", "inactivity_seconds"}, where); !r) {
        return r;
    }
    if (auto r = in.integer_into(config.max_private_calls_per_user, t, "max_calls_per_user", 1,
                                 1'000'000, where);
        !r) {
        return r;
    }
    return in.integer_into(config.call_inactivity_seconds, t, "inactivity_seconds", 0, 86400,
                           where);
}

Result<void> read_floor_control(const Reader& in, const toml::table& t, SystemConfig& config) {
    const std::string where = "[floor_control]";
    if (auto r = in.only_known_keys(t, {"queueing", "max_priority"}, where); !r) return r;
    if (auto r = in.value_into(config.floor_queueing, t, "queueing", where); !r) return r;
    // mc_priority is one octet (TS 24.380 8.2.3.2).
    return in.integer_into(config.max_floor_priority, t, "max_priority", 1, 255, where);
}

Result<void> read_media(const Reader& in, const toml::table& t, SystemConfig& config) {
    if (auto r = in.only_known_keys(t, {"allowed_networks"}, "[media]"); !r) return r;
    auto networks = in.networks(t, "allowed_networks", "[media]");
    if (!networks) return tl::unexpected(networks.error());
    config.media_networks = std::move(*networks);
    return {};
}

Result<void> read_store(const Reader& in, const toml::table& t, SystemConfig& config) {
    if (auto r = in.only_known_keys(t, {"path"}, "[store]"); !r) return r;
    return in.value_into(config.store_path, t, "path", "[store]");
}

Result<void> read_interconnect(const Reader& in, const toml::table& t, SystemConfig& config) {
    const std::string where = "[interconnect]";
    if (auto r = in.only_known_keys(
            t, {"port", "certificate", "ca", "timeout_seconds", "https_port"}, where);
        !r) {
        return r;
    }
    auto& ic = config.interconnect;
    ic.enabled = true;
    auto port = in.port(t, "port", where);
    if (!port) return tl::unexpected(port.error());
    ic.port = *port;
    auto certificate = in.file(t, "certificate", where);
    if (!certificate) return tl::unexpected(certificate.error());
    auto ca = in.file(t, "ca", where);
    if (!ca) return tl::unexpected(ca.error());
    ic.certificate_file = *certificate;
    ic.ca_file = *ca;
    if (ic.certificate_file.empty() || ic.ca_file.empty()) {
        return in.fail_at(t.source(),
                          "[interconnect] needs certificate and ca (see `mcx admin certs`)");
    }
    if (auto r = in.integer_into(ic.timeout_seconds, t, "timeout_seconds", 1, 120, where); !r) {
        return r;
    }
    if (t.contains("https_port")) {
        auto https = in.port(t, "https_port", where);
        if (!https) return tl::unexpected(https.error());
        ic.https = true;
        ic.https_port = *https;
    }
    return {};
}

Result<void> read_migration(const Reader& in, const toml::table& t, SystemConfig& config) {
    const std::string where = "[migration]";
    if (auto r = in.only_known_keys(
            t, {"accept", "assigned_id", "private_call", "private_call_targets"}, where);
        !r) {
        return r;
    }
    auto& policy = config.migration;
    for (auto r : {in.value_into(policy.accept, t, "accept", where),
                   in.value_into(policy.assigned_id, t, "assigned_id", where),
                   in.value_into(policy.private_call, t, "private_call", where)}) {
        if (!r) return r;
    }
    auto targets = in.targets(t, "private_call_targets", where);
    if (!targets) return tl::unexpected(targets.error());
    policy.private_call_to_any_user = targets->any_user;
    policy.private_call_targets = std::move(targets->ids);
    return {};
}

// "host:port" of a partner's interconnect listener.
Result<void> read_partner_sip(const Reader& in, const toml::table& t, PartnerConfig& partner) {
    auto sip = in.value<std::string>(t, "sip", "", "[[partners]]");
    if (!sip) return tl::unexpected(sip.error());
    if (sip->empty()) return {};
    const auto colon = sip->rfind(':');
    unsigned port = 0;
    const auto* end = sip->data() + sip->size();
    if (colon == std::string::npos || colon == 0 ||
        std::from_chars(sip->data() + colon + 1, end, port).ptr != end || port == 0 ||
        port > 65535) {
        return in.fail_at(t.source(),
                          "partner sip must be host:port, not '" + *sip + "' (port 1..65535)");
    }
    partner.sip_host = sip->substr(0, colon);
    partner.sip_port = static_cast<std::uint16_t>(port);
    return {};
}

Result<PartnerConfig> read_partner(const Reader& in, const toml::table& t,
                                   const SystemConfig& config) {
    const std::string where = "[[partners]]";
    if (auto r = in.only_known_keys(t,
                                    {"id", "domain", "idms_url", "idms_public_key_file", "cms_url",
                                     "sip", "media_networks", "plain_http", "key_refresh_seconds"},
                                    where);
        !r) {
        return tl::unexpected(r.error());
    }
    PartnerConfig partner;
    for (auto r : {in.value_into(partner.id, t, "id", where),
                   in.value_into(partner.domain, t, "domain", where),
                   in.value_into(partner.idms_url, t, "idms_url", where),
                   in.value_into(partner.cms_url, t, "cms_url", where),
                   in.value_into(partner.plain_http, t, "plain_http", where),
                   in.integer_into(partner.key_refresh_seconds, t, "key_refresh_seconds", 10,
                                   7 * 86400, where),
                   read_partner_sip(in, t, partner)}) {
        if (!r) return tl::unexpected(r.error());
    }
    auto networks = in.networks(t, "media_networks", where);
    if (!networks) return tl::unexpected(networks.error());
    partner.media_networks = std::move(*networks);
    // docs/security.md, "Partner trust over TLS": https:// (mutual TLS), or http:// only where
    // the configuration says so (lab use).
    for (const auto* url : {&partner.idms_url, &partner.cms_url}) {
        if (url->empty() || url->starts_with("https://")) continue;
        if (!url->starts_with("http://")) {
            return in.fail_at(t.source(), "partner URL must be https://host:port: " + *url);
        }
        if (!partner.plain_http) {
            return in.fail_at(t.source(), "partner " + partner.id + ": " + *url +
                                              " is plain HTTP; use https:// (the partner's "
                                              "[interconnect] https_port) or, for lab use only, "
                                              "plain_http = true");
        }
    }
    if (partner.id.empty() || partner.domain.empty()) {
        return in.fail_at(t.source(), "a partner needs id and domain");
    }
    if (partner.id == config.system_id || partner.domain == config.domain) {
        return in.fail_at(t.source(), "a partner cannot be this system");
    }
    auto key_file = in.file(t, "idms_public_key_file", where);
    if (!key_file) return tl::unexpected(key_file.error());
    if (!key_file->empty()) {
        std::ifstream file(*key_file);
        if (!file) return in.fail_at(t.source(), "cannot read " + *key_file);
        std::stringstream pem;
        pem << file.rdbuf();
        partner.idms_public_key = pem.str();
    }
    if (partner.idms_public_key.empty() && partner.idms_url.empty()) {
        return in.fail_at(t.source(),
                          "partner " + partner.id + " needs idms_url or idms_public_key_file");
    }
    if (config.find_partner(partner.id)) {
        return in.fail_at(t.source(), "partner " + partner.id + " listed twice");
    }
    return partner;
}

Result<UserConfig> read_user(const Reader& in, const toml::table& t, const SystemConfig& config) {
    const std::string where = "[[users]]";
    if (auto r = in.only_known_keys(t,
                                    {"id", "password", "private_call", "private_call_targets",
                                     "may_be_called", "mcvideo", "migrate_to", "admin"},
                                    where);
        !r) {
        return tl::unexpected(r.error());
    }
    const auto uri = t["id"].value_exact<std::string>();
    if (!uri) return in.fail_at(t.source(), "user without 'id'");
    auto parsed = McServiceId::parse(*uri);
    if (!parsed) {
        return in.fail_at(t.source(), "user id '" + *uri + "': " + parsed.error().reason);
    }
    if (parsed->domain() != config.domain) {
        return in.fail_at(t.source(), "user " + *uri + " is not in domain " + config.domain);
    }
    UserConfig user;
    user.id = *parsed;
    if (const auto* admin = t.get("admin"); admin && !admin->is_boolean()) {
        return in.fail_at(admin->source(), "admin must be true or false");
    }
    for (auto r : {in.value_into(user.password, t, "password", where),
                   in.value_into(user.private_call_allowed, t, "private_call", where),
                   in.value_into(user.may_receive_private_calls, t, "may_be_called", where),
                   in.value_into(user.mcvideo_authorised, t, "mcvideo", where),
                   in.value_into(user.admin, t, "admin", where)}) {
        if (!r) return tl::unexpected(r.error());
    }
    auto migrate_to = in.strings(t, "migrate_to", where);
    if (!migrate_to) return tl::unexpected(migrate_to.error());
    user.migrate_to = std::move(*migrate_to);
    auto targets = in.targets(t, "private_call_targets", where);
    if (!targets) return tl::unexpected(targets.error());
    user.private_call_to_any_user = targets->any_user;
    user.private_call_targets = std::move(targets->ids);
    return user;
}

// An array of tables ([[name]]), each entry read by `read_entry` into `out`.
template <class Entry, class ReadEntry>
Result<void> read_entries(const Reader& in, const toml::node& node, const std::string& name,
                          const SystemConfig& config, std::vector<Entry>& out,
                          ReadEntry read_entry) {
    const auto* entries = node.as_array();
    if (!entries) return in.fail_at(node.source(), name + " must be an array of tables");
    for (const auto& entry : *entries) {
        const auto* table = entry.as_table();
        if (!table) return in.fail_at(entry.source(), name + " entry is not a table");
        auto read = read_entry(in, *table, config);
        if (!read) return tl::unexpected(read.error());
        out.push_back(std::move(*read));
    }
    return {};
}

Result<void> read_partners(const Reader& in, const toml::node& node, SystemConfig& config) {
    return read_entries(in, node, "[[partners]]", config, config.partners, read_partner);
}

Result<void> read_users(const Reader& in, const toml::node& node, SystemConfig& config) {
    if (auto r = read_entries(in, node, "[[users]]", config, config.users, read_user); !r) return r;
    std::set<McServiceId> seen;
    const auto& entries = *node.as_array();
    for (std::size_t i = 0; i < config.users.size(); ++i) {
        if (!seen.insert(config.users[i].id).second) {
            return in.fail_at(entries[i].source(),
                              "user " + config.users[i].id.uri() + " listed twice");
        }
    }
    return {};
}

// What no single section can check: defaults taken from other sections and keys that need each
// other.
Result<void> check_across_sections(const Reader& in, SystemConfig& config) {
    const auto& source = in.source();
    if (config.store_path.empty()) config.store_path = config.system_id + ".db";
    config.store_path = in.resolve(config.store_path);
    for (const auto& partner : config.partners) {
        const bool https =
            partner.idms_url.starts_with("https://") || partner.cms_url.starts_with("https://");
        if (https && !config.interconnect.enabled) {
            return fail(Errc::invalid_argument,
                        source + ": partner " + partner.id +
                            " is reached over HTTPS with mutual TLS, which needs [interconnect] "
                            "certificate and ca (see `mcx admin certs`)");
        }
    }
    auto& access = config.sip_access;
    if (access.tls && access.tls_certificate_file.empty()) {
        access.tls_certificate_file = config.interconnect.certificate_file;
        if (access.tls_certificate_file.empty()) {
            return fail(Errc::invalid_argument,
                        source +
                            ": [sip] tls_port needs tls_certificate (or an [interconnect] "
                            "certificate; see `mcx admin certs`)");
        }
    }
    if (!access.udp && !access.tcp && !access.tls) {
        return fail(Errc::invalid_argument,
                    source +
                        ": [sip] udp_access and tcp_access are false and no tls_port is "
                        "given: no client could register");
    }
    return {};
}

}  // namespace

const PartnerConfig* SystemConfig::find_partner(std::string_view id) const {
    for (const auto& p : partners) {
        if (p.id == id) return &p;
    }
    return nullptr;
}

const PartnerConfig* SystemConfig::partner_by_domain(std::string_view wanted) const {
    for (const auto& p : partners) {
        if (p.domain == wanted) return &p;
    }
    return nullptr;
}

const PartnerConfig* SystemConfig::partner_by_issuer(std::string_view issuer) const {
    for (const auto& p : partners) {
        if (p.idms_issuer() == issuer) return &p;
    }
    return nullptr;
}

const UserConfig* SystemConfig::find_user(const McServiceId& id) const {
    for (const auto& user : users) {
        if (user.id == id) return &user;
    }
    return nullptr;
}

Result<SystemConfig> parse_system_config(std::string_view text, const std::string& source,
                                         const std::string& base_dir) {
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        return fail(Errc::invalid_argument, source + ":" + std::to_string(e.source().begin.line) +
                                                ": " + std::string(e.description()));
    }
    const Reader in(source, base_dir);
    if (auto r = in.only_known_keys(
            root,
            {"system", "sip", "http", "idms", "private_call", "floor_control", "users", "store",
             "partners", "migration", "interconnect", "media", "overload"},
            "the top level");
        !r) {
        return tl::unexpected(r.error());
    }
    SystemConfig config;
    const auto* system = root["system"].as_table();
    if (!system) return fail(Errc::invalid_argument, source + ": missing [system] table");
    if (auto r = read_system(in, *system, config); !r) return tl::unexpected(r.error());
    // In this order: [[partners]] and [[users]] need [system]'s id and domain.
    const std::pair<const char*, Section> tables[] = {{"sip", read_sip},
                                                      {"http", read_http},
                                                      {"overload", read_overload},
                                                      {"idms", read_idms},
                                                      {"private_call", read_private_call},
                                                      {"floor_control", read_floor_control},
                                                      {"media", read_media},
                                                      {"store", read_store},
                                                      {"interconnect", read_interconnect},
                                                      {"migration", read_migration}};
    for (const auto& [name, read] : tables) {
        const auto* node = root.get(name);
        if (!node) continue;
        const auto* table = node->as_table();
        if (!table) {
            return tl::unexpected(
                in.at(node->source(), "[" + std::string(name) + "] must be a table"));
        }
        if (auto r = read(in, *table, config); !r) return tl::unexpected(r.error());
    }
    if (const auto* partners = root.get("partners")) {
        if (auto r = read_partners(in, *partners, config); !r) return tl::unexpected(r.error());
    }
    if (const auto* users = root.get("users")) {
        if (auto r = read_users(in, *users, config); !r) return tl::unexpected(r.error());
    }
    if (auto r = check_across_sections(in, config); !r) return tl::unexpected(r.error());
    return config;
}

Result<SystemConfig> load_system_config(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        return fail(Errc::not_found, "configuration file " + path + " does not exist");
    }
    std::ifstream in(path);
    if (!in) return fail(Errc::io, "cannot read configuration file " + path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const auto base = std::filesystem::path(path).parent_path().string();
    return parse_system_config(buffer.str(), path, base.empty() ? "." : base);
}

}  // namespace mcx
