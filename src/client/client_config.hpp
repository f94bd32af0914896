#pragma once
// What an MC service client needs to reach its MC system (the essentials of the UE initial
// configuration, TS 24.484 / stage3-digest 4.3), read from TOML and/or the command line.

#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "net/endpoint.hpp"

namespace mcx::client {

struct ClientConfig {
    McServiceId user;
    std::string password;
    std::string domain;              // the MC system's domain, e.g. "a.mcx"
    net::Endpoint sip_server;        // SIP core / MC server of that system
    std::string idms_url;            // e.g. "http://127.0.0.1:8080"
    std::string host = "127.0.0.1";  // local address for SIP and media
    net::Transport transport = net::Transport::udp;
    std::string psi;        // Request-URI of private calls; default sip:mcptt-orig@domain
    std::string client_id;  // MCPTT client ID; default: a random urn:uuid
    std::uint32_t register_expires = 600;
    std::uint32_t max_calls = 4;         // busy above this (N10)
    bool implicit_floor_request = true;  // mc_implicit_request in our offers (TS 24.380 6.2.1)
    bool floor_queueing = true;          // mc_queueing: we accept to wait in the queue
    std::uint8_t floor_priority = 1;     // mc_priority we ask for
    std::string speak_file;              // speech sent (AMR-WB) whenever we hold the floor
    std::string record_file;             // speech received, decoded, written as 16 kHz WAV

    std::string private_call_psi() const { return psi.empty() ? "sip:mcptt-orig@" + domain : psi; }
};

// Reads [client] from a TOML file; keys absent there keep their values in `into`.
Result<void> load_client_config(const std::string& path, ClientConfig& into);
Result<net::Endpoint> parse_endpoint(const std::string& text);  // "127.0.0.1:5060"
std::string random_client_id();  // urn:uuid:<version 4 UUID> (RFC 4122 4.4)

}  // namespace mcx::client
