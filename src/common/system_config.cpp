#include "common/system_config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <type_traits>

namespace mcx {

namespace {

Error config_error(const std::string& source, const toml::source_region& where,
                   const std::string& what) {
    return Error{Errc::invalid_argument,
                 source + ":" + std::to_string(where.begin.line) + ": " + what};
}

template <class T>
Result<T> optional_value(const toml::table& table, std::string_view key, T fallback,
                         const std::string& source) {
    const auto* node = table.get(key);
    if (!node) return fallback;
    if (auto v = node->value<T>()) return *v;
    return tl::unexpected(
        config_error(source, node->source(), "'" + std::string(key) + "' has the wrong type"));
}

Result<std::uint16_t> port_value(const toml::table& table, std::string_view key,
                                 const std::string& source) {
    auto v = optional_value<std::int64_t>(table, key, 0, source);
    if (!v) return tl::unexpected(v.error());
    if (*v < 0 || *v > 65535) {
        return tl::unexpected(config_error(source, table.get(key)->source(),
                                           "'" + std::string(key) + "' is not a port number"));
    }
    return static_cast<std::uint16_t>(*v);
}

// A misspelt key must not be ignored silently.
Result<void> only_known_keys(const toml::table& table,
                             std::initializer_list<std::string_view> known,
                             const std::string& where, const std::string& source) {
    for (const auto& [key, node] : table) {
        if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
            return tl::unexpected(config_error(
                source, node.source(), "unknown key '" + std::string(key.str()) + "' in " + where));
        }
    }
    return {};
}

// A numeric key's value must lie in [lo, hi]: a negative or absurd value would wrap around or
// disable a safeguard (issue 17).
Result<std::int64_t> ranged(const toml::table& table, std::string_view key, std::int64_t fallback,
                            std::int64_t lo, std::int64_t hi, const std::string& where,
                            const std::string& source) {
    auto value = optional_value<std::int64_t>(table, key, fallback, source);
    if (!value) return value;
    if (*value < lo || *value > hi) {
        return tl::unexpected(config_error(source, table.get(key)->source(),
                                           where + " " + std::string(key) + " must be " +
                                               std::to_string(lo) + ".." + std::to_string(hi) +
                                               ", not " + std::to_string(*value)));
    }
    return value;
}

// A list of IPv4 networks ("10.0.0.0/8", "192.0.2.7"); absent: none.
Result<std::vector<Ipv4Network>> network_list(const toml::table& table, std::string_view key,
                                              const std::string& where, const std::string& source) {
    std::vector<Ipv4Network> out;
    const auto* node = table.get(key);
    if (!node) return out;
    const auto* array = node->as_array();
    if (!array) {
        return tl::unexpected(config_error(
            source, node->source(),
            where + " " + std::string(key) + " must be a list of networks such as \"10.0.0.0/8\""));
    }
    for (const auto& item : *array) {
        const auto text = item.value<std::string>();
        auto network = text ? Ipv4Network::parse(*text)
                            : fail(Errc::invalid_argument, "an entry is not a string");
        if (!network) {
            return tl::unexpected(
                config_error(source, item.source(),
                             where + " " + std::string(key) + ": " + network.error().reason));
        }
        out.push_back(*network);
    }
    return out;
}

// An integer key of [idms] within [low, high].
Result<std::int64_t> bounded_value(const toml::table& table, std::string_view key,
                                   std::int64_t fallback, std::int64_t low, std::int64_t high,
                                   const std::string& source) {
    auto v = optional_value<std::int64_t>(table, key, fallback, source);
    if (!v) return v;
    if (*v < low || *v > high) {
        return tl::unexpected(config_error(source, table.get(key)->source(),
                                           "[idms] " + std::string(key) + " must be " +
                                               std::to_string(low) + ".." + std::to_string(high)));
    }
    return v;
}

Result<LoginProtectionConfig> login_protection(const toml::table& idms, const std::string& source) {
    LoginProtectionConfig out;
    auto read = [&](std::string_view key, auto& field, std::int64_t low,
                    std::int64_t high) -> Result<void> {
        auto v = bounded_value(idms, key, static_cast<std::int64_t>(field), low, high, source);
        if (!v) return tl::unexpected(v.error());
        field = static_cast<std::remove_reference_t<decltype(field)>>(*v);
        return {};
    };
    for (auto r : {read("login_user_failures", out.user_failures, 1, 1'000'000),
                   read("login_source_failures", out.source_failures, 1, 1'000'000),
                   read("login_hold_seconds", out.hold_seconds, 1, 86'400),
                   read("login_max_hold_seconds", out.max_hold_seconds, 1, 7 * 86'400),
                   read("login_forget_seconds", out.forget_seconds, 1, 7 * 86'400),
                   read("login_tracked_entries", out.tracked_entries, 1, 10'000'000),
                   read("password_hash_threads", out.hash_threads, 1, 64),
                   read("password_hash_queue", out.hash_queue, 0, 1024)}) {
        if (!r) return tl::unexpected(r.error());
    }
    if (out.max_hold_seconds < out.hold_seconds) {
        return tl::unexpected(
            config_error(source, idms.source(),
                         "[idms] login_max_hold_seconds must not be below login_hold_seconds"));
    }
    return out;
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
    SystemConfig config;
    if (auto r =
            only_known_keys(root,
                            {"system", "sip", "http", "idms", "private_call", "floor_control",
                             "users", "store", "partners", "migration", "interconnect", "media"},
                            "the top level", source);
        !r) {
        return tl::unexpected(r.error());
    }
    struct Section {
        const char* name;
        std::initializer_list<std::string_view> keys;
    };
    for (const auto& section :
         {Section{"system", {"id", "domain", "host"}},
          Section{"sip",
                  {"port", "registration_max_expires", "invite_timeout_seconds", "leg_thread",
                   "tls_port", "tls_certificate", "udp_access", "tcp_access"}},
          Section{"http", {"port"}},
          Section{
              "idms",
              {"key_file", "token_lifetime_seconds", "login_user_failures", "login_source_failures",
               "login_hold_seconds", "login_max_hold_seconds", "login_forget_seconds",
               "login_tracked_entries", "password_hash_threads", "password_hash_queue"}},
          Section{"private_call", {"max_calls_per_user", "inactivity_seconds"}},
          Section{"floor_control", {"queueing", "max_priority"}}, Section{"store", {"path"}},
          Section{"interconnect", {"port", "certificate", "ca", "timeout_seconds", "https_port"}},
          Section{"media", {"allowed_networks"}},
          Section{"migration",
                  {"accept", "assigned_id", "private_call", "private_call_targets"}}}) {
        if (const auto* t = root[section.name].as_table()) {
            if (auto r = only_known_keys(*t, section.keys, std::string("[") + section.name + "]",
                                         source);
                !r) {
                return tl::unexpected(r.error());
            }
        }
    }
    const auto* system = root["system"].as_table();
    if (!system) return fail(Errc::invalid_argument, source + ": missing [system] table");
    const auto id = (*system)["id"].value<std::string>();
    const auto domain = (*system)["domain"].value<std::string>();
    if (!id || id->empty())
        return fail(Errc::invalid_argument, source + ": [system] id is required");
    if (!domain || domain->empty()) {
        return fail(Errc::invalid_argument, source + ": [system] domain is required");
    }
    config.system_id = *id;
    config.domain = *domain;
    if (auto v = optional_value<std::string>(*system, "host", config.host, source); v) {
        config.host = *v;
    } else {
        return tl::unexpected(v.error());
    }

    if (const auto* sip = root["sip"].as_table()) {
        auto port = port_value(*sip, "port", source);
        if (!port) return tl::unexpected(port.error());
        config.sip_port = *port;
        // Below the registrar's own minimum (30 s, 423 Interval Too Brief) no binding could live.
        auto expires = ranged(*sip, "registration_max_expires", config.registration_max_expires, 30,
                              7 * 86400, "[sip]", source);
        if (!expires) return tl::unexpected(expires.error());
        config.registration_max_expires = static_cast<std::uint32_t>(*expires);
        auto timeout = ranged(*sip, "invite_timeout_seconds", config.invite_timeout_seconds, 1, 600,
                              "[sip]", source);
        if (!timeout) return tl::unexpected(timeout.error());
        config.invite_timeout_seconds = static_cast<std::uint32_t>(*timeout);
        auto leg_thread = optional_value<bool>(*sip, "leg_thread", config.sip_leg_thread, source);
        if (!leg_thread) return tl::unexpected(leg_thread.error());
        config.sip_leg_thread = *leg_thread;
        if (sip->contains("tls_port")) {
            auto tls_port = port_value(*sip, "tls_port", source);
            if (!tls_port) return tl::unexpected(tls_port.error());
            config.sip_access.tls = true;
            config.sip_access.tls_port = *tls_port;
        }
        auto certificate = optional_value<std::string>(*sip, "tls_certificate", "", source);
        if (!certificate) return tl::unexpected(certificate.error());
        config.sip_access.tls_certificate_file = *certificate;
        if (!certificate->empty() && std::filesystem::path(*certificate).is_relative()) {
            config.sip_access.tls_certificate_file =
                (std::filesystem::path(base_dir) / *certificate).string();
        }
        auto udp = optional_value<bool>(*sip, "udp_access", true, source);
        if (!udp) return tl::unexpected(udp.error());
        config.sip_access.udp = *udp;
        auto tcp = optional_value<bool>(*sip, "tcp_access", true, source);
        if (!tcp) return tl::unexpected(tcp.error());
        config.sip_access.tcp = *tcp;
    }
    if (const auto* http = root["http"].as_table()) {
        auto port = port_value(*http, "port", source);
        if (!port) return tl::unexpected(port.error());
        config.http_port = *port;
    }
    if (const auto* idms = root["idms"].as_table()) {
        auto key = optional_value<std::string>(*idms, "key_file", "", source);
        if (!key) return tl::unexpected(key.error());
        config.idms_key_file = *key;
        if (!key->empty() && std::filesystem::path(*key).is_relative()) {
            config.idms_key_file = (std::filesystem::path(base_dir) / *key).string();
        }
        auto lifetime = ranged(*idms, "token_lifetime_seconds", config.token_lifetime_seconds, 60,
                               7 * 86400, "[idms]", source);
        if (!lifetime) return tl::unexpected(lifetime.error());
        config.token_lifetime_seconds = *lifetime;
        if (auto login = login_protection(*idms, source); login) {
            config.login = *login;
        } else {
            return tl::unexpected(login.error());
        }
    }
    if (const auto* calls = root["private_call"].as_table()) {
        auto max = ranged(*calls, "max_calls_per_user", config.max_private_calls_per_user, 1,
                          1'000'000, "[private_call]", source);
        if (!max) return tl::unexpected(max.error());
        config.max_private_calls_per_user = static_cast<std::uint32_t>(*max);
        auto inactivity = optional_value<std::int64_t>(*calls, "inactivity_seconds",
                                                       config.call_inactivity_seconds, source);
        if (!inactivity) return tl::unexpected(inactivity.error());
        if (*inactivity < 0 || *inactivity > 86400) {
            return fail(Errc::invalid_argument,
                        source + ": [private_call] inactivity_seconds must be 0..86400");
        }
        config.call_inactivity_seconds = static_cast<std::uint32_t>(*inactivity);
    }

    if (const auto* floor = root["floor_control"].as_table()) {
        auto queueing = optional_value<bool>(*floor, "queueing", config.floor_queueing, source);
        if (!queueing) return tl::unexpected(queueing.error());
        config.floor_queueing = *queueing;
        auto priority =
            optional_value<std::int64_t>(*floor, "max_priority", config.max_floor_priority, source);
        if (!priority) return tl::unexpected(priority.error());
        if (*priority < 1 || *priority > 255) {
            return tl::unexpected(config_error(source, floor->get("max_priority")->source(),
                                               "max_priority must be 1..255"));
        }
        config.max_floor_priority = static_cast<std::uint8_t>(*priority);
    }

    if (const auto* media = root["media"].as_table()) {
        auto networks = network_list(*media, "allowed_networks", "[media]", source);
        if (!networks) return tl::unexpected(networks.error());
        config.media_networks = std::move(*networks);
    }
    if (const auto* store = root["store"].as_table()) {
        auto path = optional_value<std::string>(*store, "path", "", source);
        if (!path) return tl::unexpected(path.error());
        config.store_path = *path;
    }
    if (config.store_path.empty()) config.store_path = config.system_id + ".db";
    if (std::filesystem::path(config.store_path).is_relative()) {
        config.store_path = (std::filesystem::path(base_dir) / config.store_path).string();
    }
    if (const auto* partners = root["partners"].as_array()) {
        for (const auto& node : *partners) {
            const auto* table = node.as_table();
            if (!table)
                return tl::unexpected(
                    config_error(source, node.source(), "[[partners]] entry is not a table"));
            if (auto r =
                    only_known_keys(*table,
                                    {"id", "domain", "idms_url", "idms_public_key_file", "cms_url",
                                     "sip", "media_networks", "plain_http", "key_refresh_seconds"},
                                    "[[partners]]", source);
                !r) {
                return tl::unexpected(r.error());
            }
            PartnerConfig partner;
            partner.id = (*table)["id"].value_or(std::string{});
            partner.domain = (*table)["domain"].value_or(std::string{});
            partner.idms_url = (*table)["idms_url"].value_or(std::string{});
            partner.cms_url = (*table)["cms_url"].value_or(std::string{});
            if (auto sip = (*table)["sip"].value<std::string>()) {
                const auto colon = sip->rfind(':');
                unsigned port = 0;
                const auto* digits = colon == std::string::npos ? nullptr : sip->data() + colon + 1;
                if (!digits || colon == 0 ||
                    std::from_chars(digits, sip->data() + sip->size(), port).ptr !=
                        sip->data() + sip->size() ||
                    port == 0 || port > 65535) {
                    return tl::unexpected(
                        config_error(source, node.source(),
                                     "partner sip must be host:port, not '" + *sip + "'"));
                }
                partner.sip_host = sip->substr(0, colon);
                partner.sip_port = static_cast<std::uint16_t>(port);
            }
            auto networks = network_list(*table, "media_networks", "[[partners]]", source);
            if (!networks) return tl::unexpected(networks.error());
            partner.media_networks = std::move(*networks);
            auto plain = optional_value<bool>(*table, "plain_http", false, source);
            if (!plain) return tl::unexpected(plain.error());
            partner.plain_http = *plain;
            auto refresh = ranged(*table, "key_refresh_seconds", partner.key_refresh_seconds, 10,
                                  7 * 86400, "[[partners]]", source);
            if (!refresh) return tl::unexpected(refresh.error());
            partner.key_refresh_seconds = static_cast<std::uint32_t>(*refresh);
            // docs/security.md, "Partner trust over TLS": https:// (mutual TLS), or http://
            // only where the configuration says so (lab use).
            for (const auto* url : {&partner.idms_url, &partner.cms_url}) {
                if (url->empty() || url->starts_with("https://")) continue;
                if (!url->starts_with("http://")) {
                    return tl::unexpected(config_error(
                        source, node.source(), "partner URL must be https://host:port: " + *url));
                }
                if (!partner.plain_http) {
                    return tl::unexpected(config_error(
                        source, node.source(),
                        "partner " + partner.id + ": " + *url +
                            " is plain HTTP; use https:// (the partner's [interconnect] "
                            "https_port) or, for lab use only, plain_http = true"));
                }
            }
            if (partner.id.empty() || partner.domain.empty()) {
                return tl::unexpected(
                    config_error(source, node.source(), "a partner needs id and domain"));
            }
            if (partner.id == config.system_id || partner.domain == config.domain) {
                return tl::unexpected(
                    config_error(source, node.source(), "a partner cannot be this system"));
            }
            if (auto key = (*table)["idms_public_key_file"].value<std::string>()) {
                auto path = std::filesystem::path(*key);
                if (path.is_relative()) path = std::filesystem::path(base_dir) / path;
                std::ifstream in(path);
                if (!in) {
                    return tl::unexpected(
                        config_error(source, node.source(), "cannot read " + path.string()));
                }
                std::stringstream pem;
                pem << in.rdbuf();
                partner.idms_public_key = pem.str();
            }
            if (partner.idms_public_key.empty() && partner.idms_url.empty()) {
                return tl::unexpected(config_error(
                    source, node.source(),
                    "partner " + partner.id + " needs idms_url or idms_public_key_file"));
            }
            if (config.find_partner(partner.id)) {
                return tl::unexpected(
                    config_error(source, node.source(), "partner " + partner.id + " listed twice"));
            }
            config.partners.push_back(std::move(partner));
        }
    }
    if (const auto* ic = root["interconnect"].as_table()) {
        config.interconnect.enabled = true;
        auto port = port_value(*ic, "port", source);
        if (!port) return tl::unexpected(port.error());
        config.interconnect.port = *port;
        auto resolve = [&base_dir](std::string path) {
            if (!path.empty() && std::filesystem::path(path).is_relative()) {
                path = (std::filesystem::path(base_dir) / path).string();
            }
            return path;
        };
        config.interconnect.certificate_file =
            resolve((*ic)["certificate"].value_or(std::string{}));
        config.interconnect.ca_file = resolve((*ic)["ca"].value_or(std::string{}));
        if (config.interconnect.certificate_file.empty() || config.interconnect.ca_file.empty()) {
            return fail(
                Errc::invalid_argument,
                source + ": [interconnect] needs certificate and ca (see `mcx admin certs`)");
        }
        auto timeout = optional_value<std::int64_t>(*ic, "timeout_seconds", 5, source);
        if (!timeout) return tl::unexpected(timeout.error());
        if (*timeout < 1 || *timeout > 120) {
            return fail(Errc::invalid_argument,
                        source + ": [interconnect] timeout_seconds must be 1..120");
        }
        config.interconnect.timeout_seconds = static_cast<std::uint32_t>(*timeout);
        if (ic->contains("https_port")) {
            auto https = port_value(*ic, "https_port", source);
            if (!https) return tl::unexpected(https.error());
            config.interconnect.https = true;
            config.interconnect.https_port = *https;
        }
    }
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
    if (config.sip_access.tls && config.sip_access.tls_certificate_file.empty()) {
        config.sip_access.tls_certificate_file = config.interconnect.certificate_file;
        if (config.sip_access.tls_certificate_file.empty()) {
            return fail(Errc::invalid_argument,
                        source +
                            ": [sip] tls_port needs tls_certificate (or an [interconnect] "
                            "certificate; see `mcx admin certs`)");
        }
    }
    if (!config.sip_access.udp && !config.sip_access.tcp && !config.sip_access.tls) {
        return fail(Errc::invalid_argument,
                    source +
                        ": [sip] udp_access and tcp_access are false and no tls_port is "
                        "given: no client could register");
    }
    if (const auto* migration = root["migration"].as_table()) {
        config.migration.accept = (*migration)["accept"].value_or(true);
        config.migration.assigned_id =
            (*migration)["assigned_id"].value_or(config.migration.assigned_id);
        config.migration.private_call = (*migration)["private_call"].value_or(true);
        if (const auto* targets = (*migration)["private_call_targets"].as_array()) {
            config.migration.private_call_to_any_user = false;
            for (const auto& t : *targets) {
                const auto target = t.value<std::string>();
                if (target && *target == "*") {
                    config.migration.private_call_to_any_user = true;
                    continue;
                }
                auto target_id =
                    target ? McServiceId::parse(*target) : fail(Errc::malformed, "not a string");
                if (!target_id) {
                    return tl::unexpected(config_error(
                        source, t.source(), "migration target: " + target_id.error().reason));
                }
                config.migration.private_call_targets.push_back(*target_id);
            }
        }
    }

    std::set<McServiceId> seen;
    if (const auto* users = root["users"].as_array()) {
        for (const auto& node : *users) {
            const auto* table = node.as_table();
            if (!table)
                return tl::unexpected(
                    config_error(source, node.source(), "[[users]] entry is not a table"));
            if (auto r = only_known_keys(*table,
                                         {"id", "password", "private_call", "private_call_targets",
                                          "may_be_called", "mcvideo", "migrate_to", "admin"},
                                         "[[users]]", source);
                !r) {
                return tl::unexpected(r.error());
            }
            UserConfig user;
            const auto uri = (*table)["id"].value<std::string>();
            if (!uri)
                return tl::unexpected(config_error(source, node.source(), "user without 'id'"));
            auto parsed = McServiceId::parse(*uri);
            if (!parsed) {
                return tl::unexpected(config_error(
                    source, node.source(), "user id '" + *uri + "': " + parsed.error().reason));
            }
            if (parsed->domain() != config.domain) {
                return tl::unexpected(config_error(
                    source, node.source(), "user " + *uri + " is not in domain " + config.domain));
            }
            if (!seen.insert(*parsed).second) {
                return tl::unexpected(
                    config_error(source, node.source(), "user " + *uri + " listed twice"));
            }
            user.id = *parsed;
            user.password = (*table)["password"].value_or(std::string{});
            user.private_call_allowed = (*table)["private_call"].value_or(true);
            user.may_receive_private_calls = (*table)["may_be_called"].value_or(true);
            user.mcvideo_authorised = (*table)["mcvideo"].value_or(false);
            if (const auto& admin = (*table)["admin"]; admin && !admin.is_boolean()) {
                return tl::unexpected(
                    config_error(source, admin.node()->source(), "admin must be true or false"));
            }
            user.admin = (*table)["admin"].value_or(false);
            if (const auto* migrate = (*table)["migrate_to"].as_array()) {
                for (const auto& m : *migrate) {
                    const auto partner_id = m.value<std::string>();
                    if (!partner_id) {
                        return tl::unexpected(
                            config_error(source, m.source(), "migrate_to holds a non-string"));
                    }
                    user.migrate_to.push_back(*partner_id);
                }
            }
            if (const auto* targets = (*table)["private_call_targets"].as_array()) {
                for (const auto& t : *targets) {
                    const auto target = t.value<std::string>();
                    if (!target)
                        return tl::unexpected(config_error(
                            source, t.source(), "private_call_targets holds a non-string"));
                    if (*target == "*") {
                        user.private_call_to_any_user = true;
                        continue;
                    }
                    auto target_id = McServiceId::parse(*target);
                    if (!target_id) {
                        return tl::unexpected(
                            config_error(source, t.source(),
                                         "target '" + *target + "': " + target_id.error().reason));
                    }
                    user.private_call_targets.push_back(*target_id);
                }
            } else {
                user.private_call_to_any_user = true;  // no list: any user
            }
            config.users.push_back(std::move(user));
        }
    }
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
