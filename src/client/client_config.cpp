#include "client/client_config.hpp"

#include <toml++/toml.h>

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
    if (auto v = c["domain"].value<std::string>()) into.domain = *v;
    if (auto v = c["sip_server"].value<std::string>()) {
        auto e = parse_endpoint(*v);
        if (!e) return fail(Errc::invalid_argument, path + ": sip_server: " + e.error().reason);
        into.sip_server = *e;
    }
    if (auto v = c["idms_url"].value<std::string>()) into.idms_url = *v;
    if (auto v = c["host"].value<std::string>()) into.host = *v;
    if (auto v = c["psi"].value<std::string>()) into.psi = *v;
    if (auto v = c["client_id"].value<std::string>()) into.client_id = *v;
    if (auto v = c["transport"].value<std::string>()) {
        if (*v == "udp") {
            into.transport = net::Transport::udp;
        } else if (*v == "tcp") {
            into.transport = net::Transport::tcp;
        } else {
            return fail(Errc::invalid_argument, path + ": transport must be udp or tcp");
        }
    }
    if (auto v = c["register_expires"].value<std::int64_t>()) {
        into.register_expires = static_cast<std::uint32_t>(*v);
    }
    if (auto v = c["max_calls"].value<std::int64_t>())
        into.max_calls = static_cast<std::uint32_t>(*v);
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
    return {};
}

}  // namespace mcx::client
