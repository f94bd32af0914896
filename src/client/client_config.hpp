#pragma once
// What an MC service client needs to reach the MC systems that may serve it (the essentials of
// the UE initial configuration, TS 24.484 / stage3-digest 4.3): its primary system and the
// partner systems it may migrate to (TS 23.280 10.1.6.1: connectivity information for partner
// systems), read from TOML and/or the command line. Which partners the user may migrate to is
// the profile's say (<mcx:partner-systems>); their addresses come from here (docs/migration.md).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/migration_manager.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "net/endpoint.hpp"

namespace mcx::client {

// Where one MC system's entities are, seen from the client.
struct SystemAddress {
    std::string id;            // MC system ID, e.g. "A"
    std::string domain;        // e.g. "a.mcx"
    net::Endpoint sip_server;  // SIP core / MC server of that system
    std::string idms_url;      // e.g. "http://127.0.0.1:8080"
    std::string cms_url;       // empty: the profile is not retrieved there
    std::string psi;           // Request-URI of private calls; default sip:mcptt-orig@domain

    std::string private_call_psi() const { return psi.empty() ? "sip:mcptt-orig@" + domain : psi; }
};

// [migration] of the client configuration (docs/migration.md).
struct MigrationConfig {
    // NOTE 3: a private call request that arrives while a call is suspended. [mcx-defined]
    IncomingDuringResume incoming_during_resume = IncomingDuringResume::reject;
    // A call suspended because the peer migrates ends if not resumed by then (both ends).
    std::chrono::milliseconds resume_timeout{30000};
    // Keep-alive (SIP OPTIONS) towards the serving system; lost after keepalive_timeout
    // without an answer. 0: no keep-alive.
    std::chrono::milliseconds keepalive_interval{500};
    std::chrono::milliseconds keepalive_timeout{2000};
    // Time to reach the target's network before authenticating there: emulates the bearer
    // set-up to the partner's PDN (TS 23.280 10.1.6.2 pre-condition 2) on one machine. 0: none.
    std::chrono::milliseconds attach_delay{0};
    bool automatic = true;     // migrate when the serving system is lost
    bool return_home = false;  // migrate back when the primary answers again
    bool prepare = false;      // automatic trigger: keep a standby in the first partner
    MigrationTimers timers;    // the migration manager's guard timers
};

struct ClientConfig {
    McServiceId user;  // the primary MC service ID
    std::string password;
    std::string home;                    // ID of the primary MC system
    std::vector<SystemAddress> systems;  // every MC system that may serve this client
    std::string host = "127.0.0.1";      // local address for SIP and media
    net::Transport transport = net::Transport::udp;
    // transport "tls": the CAs the SIP servers' certificates must chain to (PEM); each server's
    // certificate must name the host of its sip_server (docs/security.md, "SIP access").
    std::string ca_file;
    std::string client_id;  // MCPTT client ID; default: a random urn:uuid
    std::uint32_t register_expires = 600;
    std::uint32_t max_calls = 4;         // busy above this (N10)
    bool implicit_floor_request = true;  // mc_implicit_request in our offers (TS 24.380 6.2.1)
    bool floor_queueing = true;          // mc_queueing: we accept to wait in the queue
    std::uint8_t floor_priority = 1;     // mc_priority we ask for
    std::string speak_file;              // speech sent (AMR-WB) whenever we hold the floor
    std::string record_file;             // speech received, decoded, written as 16 kHz WAV
    MigrationConfig migration;

    const SystemAddress* system(std::string_view id) const;
    SystemAddress* system(std::string_view id);
    // The primary system, created (empty) when absent.
    SystemAddress& ensure_home_system();
    const SystemAddress* home_system() const { return system(home); }
    // Consistency: a user, a home system with a SIP address and an IdMS, unique system IDs.
    Result<void> check() const;
};

// Reads [client], [[systems]] and [migration] from a TOML file; keys absent keep their values
// in `into`. [client] sip_server/idms_url/cms_url/domain/psi describe the home system.
Result<void> load_client_config(const std::string& path, ClientConfig& into);
Result<net::Endpoint> parse_endpoint(const std::string& text);  // "127.0.0.1:5060"
std::string random_client_id();  // urn:uuid:<version 4 UUID> (RFC 4122 4.4)
// "a.mcx" -> "A": the system ID assumed for a domain when none is configured.
std::string system_id_for_domain(std::string_view domain);

}  // namespace mcx::client
