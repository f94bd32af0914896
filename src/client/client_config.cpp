#include "client/client_config.hpp"

#include <filesystem>

#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <random>

namespace mcx::client {

Result<net::Endpoint> parse_endpoint(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        return fail(Errc::invalid_argument, "'" + text + "' is not host:port");
    }
    std::uint16_t port = 0;
    const auto* begin = text.data() + colon + 1;
    auto [p, ec] = std::from_chars(begin, text.data() + text.size(), port);
    if (ec != std::errc() || p != text.data() + text.size() || port == 0) {
        return fail(Errc::invalid_argument, "'" + text + "' has no valid port");
    }
    return net::Endpoint{text.substr(0, colon), port};
}

std::string random_client_id() {
    std::random_device rd;
    std::uniform_int_distribution<unsigned> byte(0, 255);
    unsigned char b[16];
    for (auto& x : b) x = static_cast<unsigned char>(byte(rd));
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    char out[64];
    std::snprintf(out, sizeof(out),
                  "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                  b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                  b[13], b[14], b[15]);
    return out;
}

std::string system_id_for_domain(std::string_view domain) {
    std::string id(domain.substr(0, domain.find('.')));
    for (auto& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return id;
}

const SystemAddress* ClientConfig::system(std::string_view id) const {
    for (const auto& s : systems) {
        if (s.id == id) return &s;
    }
    return nullptr;
}

SystemAddress* ClientConfig::system(std::string_view id) {
    for (auto& s : systems) {
        if (s.id == id) return &s;
    }
    return nullptr;
}

SystemAddress& ClientConfig::ensure_home_system() {
    if (home.empty()) home = system_id_for_domain(user.domain());
    if (auto* s = system(home)) return *s;
    SystemAddress added;
    added.id = home;
    added.domain = std::string(user.domain());
    systems.push_back(added);
    return systems.back();
}

Result<void> ClientConfig::check() const {
    if (user.empty()) return fail(Errc::invalid_argument, "no user: give --user");
    const auto* primary = home_system();
    if (!primary) return fail(Errc::invalid_argument, "no primary MC system '" + home + "'");
    if (primary->sip_server.port == 0) {
        return fail(Errc::invalid_argument,
                    "no SIP server for " + home + ": give --sip-server or sip_server");
    }
    if (primary->idms_url.empty()) {
        return fail(Errc::invalid_argument,
                    "no IdMS for " + home + ": give --idms-url or idms_url");
    }
    if (transport == net::Transport::tls && ca_file.empty()) {
        return fail(Errc::invalid_argument,
                    "transport tls needs ca_file (--ca): the CA of the MC systems' certificates");
    }
    for (std::size_t i = 0; i < systems.size(); ++i) {
        if (systems[i].id.empty()) return fail(Errc::invalid_argument, "a system without id");
        for (std::size_t j = i + 1; j < systems.size(); ++j) {
            if (systems[i].id == systems[j].id) {
                return fail(Errc::invalid_argument, "system " + systems[i].id + " listed twice");
            }
        }
    }
    return {};
}

namespace {

Result<void> read_system_keys(const toml::table& t, const std::string& where, SystemAddress& s) {
    if (auto v = t["id"].value<std::string>()) s.id = *v;
    if (auto v = t["domain"].value<std::string>()) s.domain = *v;
    if (auto v = t["sip_server"].value<std::string>()) {
        auto e = parse_endpoint(*v);
        if (!e) return fail(Errc::invalid_argument, where + ": sip_server: " + e.error().reason);
        s.sip_server = *e;
    }
    if (auto v = t["idms_url"].value<std::string>()) s.idms_url = *v;
    if (auto v = t["cms_url"].value<std::string>()) s.cms_url = *v;
    if (auto v = t["psi"].value<std::string>()) s.psi = *v;
    return {};
}

Result<std::chrono::milliseconds> read_ms(const toml::table& t, const char* key,
                                          const std::string& where, std::int64_t min,
                                          std::chrono::milliseconds current) {
    auto node = t[key];
    if (!node) return current;
    auto v = node.value<std::int64_t>();
    if (!v || *v < min || *v > 3'600'000) {
        return fail(Errc::invalid_argument, where + ": " + key + " must be a number of ms from " +
                                                std::to_string(min) + " to 3600000");
    }
    return std::chrono::milliseconds(*v);
}

}  // namespace

Result<void> load_client_config(const std::string& path, ClientConfig& into) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        return fail(Errc::invalid_argument, path + ":" + std::to_string(e.source().begin.line) +
                                                ": " + std::string(e.description()));
    }
    const auto* table = root["client"].as_table();
    if (!table) return fail(Errc::invalid_argument, path + ": missing [client] table");
    const auto& c = *table;
    if (auto v = c["user"].value<std::string>()) {
        auto id = McServiceId::parse(*v);
        if (!id) return fail(Errc::invalid_argument, path + ": user: " + id.error().reason);
        into.user = *id;
    }
    if (auto v = c["password"].value<std::string>()) into.password = *v;
    if (auto v = c["home"].value<std::string>()) into.home = *v;
    if (auto* systems = root["systems"].as_array()) {
        for (std::size_t i = 0; i < systems->size(); ++i) {
            const auto* t = systems->get(i)->as_table();
            const auto where = path + ": systems[" + std::to_string(i) + "]";
            if (!t) return fail(Errc::invalid_argument, where + " is not a table");
            SystemAddress s;
            if (auto r = read_system_keys(*t, where, s); !r) return r;
            if (s.id.empty() || s.domain.empty()) {
                return fail(Errc::invalid_argument, where + ": id and domain are required");
            }
            if (auto* existing = into.system(s.id)) {
                *existing = s;
            } else {
                into.systems.push_back(s);
            }
        }
    }
    // The home system's keys may also sit in [client] (one-system configuration files).
    if (c["sip_server"] || c["idms_url"] || c["cms_url"] || c["domain"] || c["psi"]) {
        if (into.user.empty()) {
            return fail(Errc::invalid_argument, path + ": [client] needs user");
        }
        auto& home = into.ensure_home_system();
        if (auto r = read_system_keys(c, path + ": [client]", home); !r) return r;
        home.id = into.home;
    }
    if (auto v = c["host"].value<std::string>()) into.host = *v;
    if (auto v = c["client_id"].value<std::string>()) into.client_id = *v;
    if (auto v = c["transport"].value<std::string>()) {
        if (*v == "udp") {
            into.transport = net::Transport::udp;
        } else if (*v == "tcp") {
            into.transport = net::Transport::tcp;
        } else if (*v == "tls") {
            into.transport = net::Transport::tls;
        } else {
            return fail(Errc::invalid_argument, path + ": transport must be udp, tcp or tls");
        }
    }
    if (auto v = c["ca_file"].value<std::string>()) {
        into.ca_file = *v;
        if (!into.ca_file.empty() && std::filesystem::path(into.ca_file).is_relative()) {
            into.ca_file = (std::filesystem::path(path).parent_path() / into.ca_file).string();
        }
    }
    if (auto v = c["register_expires"].value<std::int64_t>()) {
        if (*v < 30 || *v > 86400) {
            return fail(Errc::invalid_argument, path + ": register_expires must be 30..86400");
        }
        into.register_expires = static_cast<std::uint32_t>(*v);
    }
    if (auto v = c["max_calls"].value<std::int64_t>()) {
        if (*v < 1 || *v > 64) return fail(Errc::invalid_argument, path + ": max_calls 1..64");
        into.max_calls = static_cast<std::uint32_t>(*v);
    }
    if (auto v = c["implicit_floor_request"].value<bool>()) into.implicit_floor_request = *v;
    if (auto v = c["floor_queueing"].value<bool>()) into.floor_queueing = *v;
    if (auto v = c["speak_file"].value<std::string>()) into.speak_file = *v;
    if (auto v = c["record_file"].value<std::string>()) into.record_file = *v;
    if (auto v = c["floor_priority"].value<std::int64_t>()) {
        if (*v < 1 || *v > 255) {
            return fail(Errc::invalid_argument, path + ": floor_priority must be 1..255");
        }
        into.floor_priority = static_cast<std::uint8_t>(*v);
    }
    if (const auto* m = root["migration"].as_table()) {
        const auto where = path + ": [migration]";
        auto& mc = into.migration;
        if (auto v = (*m)["incoming_during_resume"].value<std::string>()) {
            if (*v == "reject") {
                mc.incoming_during_resume = IncomingDuringResume::reject;
            } else if (*v == "accept") {
                mc.incoming_during_resume = IncomingDuringResume::accept;
            } else {
                return fail(Errc::invalid_argument,
                            where + ": incoming_during_resume must be \"reject\" or \"accept\"");
            }
        }
        struct Key {
            const char* name;
            std::chrono::milliseconds* value;
            std::int64_t min;
        };
        const Key keys[] = {{"resume_timeout_ms", &mc.resume_timeout, 1000},
                            {"keepalive_interval_ms", &mc.keepalive_interval, 0},
                            {"keepalive_timeout_ms", &mc.keepalive_timeout, 100},
                            {"release_timeout_ms", &mc.timers.release, 100},
                            {"step_timeout_ms", &mc.timers.step, 100},
                            {"resume_attempts_ms", &mc.timers.resume, 1000},
                            {"retry_interval_ms", &mc.timers.retry, 50},
                            {"attach_delay_ms", &mc.attach_delay, 0}};
        for (const auto& key : keys) {
            auto v = read_ms(*m, key.name, where, key.min, *key.value);
            if (!v) return tl::unexpected(v.error());
            *key.value = *v;
        }
        if (auto v = (*m)["automatic"].value<bool>()) mc.automatic = *v;
        if (auto v = (*m)["return_home"].value<bool>()) mc.return_home = *v;
        if (auto v = (*m)["prepare"].value<bool>()) mc.prepare = *v;
    }
    return {};
}

}  // namespace mcx::client
