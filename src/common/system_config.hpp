#pragma once
// The configuration of one MC system (one mcxd process), read from a TOML file.
// Every key, its default and its meaning is documented in config/README.md.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/ipv4_network.hpp"
#include "common/overload_settings.hpp"
#include "common/sip_stream_limits.hpp"

namespace mcx {

// MC service user and the parts of the MCPTT user profile (TS 24.484) used for private calls.
struct UserConfig {
    McServiceId id;
    std::string password;              // seed only: hashed when loaded, never stored in plain
    bool private_call_allowed = true;  // "authorised to make a private call" (TS 23.379 A.3)
    bool private_call_to_any_user = false;
    std::vector<McServiceId> private_call_targets;  // PrivateCallList (TS 24.484)
    bool may_receive_private_calls = true;
    bool mcvideo_authorised = false;
    std::vector<std::string> migrate_to;  // partner systems this user may migrate to
    // Seed only: the administrator role in the store (the IdMS's "mcx-admin" scope, for GET
    // /status and /metrics; docs/security.md).
    bool admin = false;
};

// A partner MC system (TS 23.280 10.1.6, 10.6): where its IdMS and CMS are, how to trust it.
struct PartnerConfig {
    std::string id;               // its system ID, e.g. "B"
    std::string domain;           // its MC service ID domain, e.g. "b.mcx"
    std::string idms_url;         // its IdMS base URL; its key is fetched from /idms/public-key
    std::string idms_public_key;  // or its key given here (PEM, read from a file)
    std::string cms_url;          // its CMS base URL (CSC-17)
    std::string sip_host;         // its interconnect (SIP over TLS) address, "host:port" in
    std::uint16_t sip_port = 0;   // the file; 0: no interconnect towards it
    // Besides its interconnect address, networks its media (c= of its offers and answers) may
    // come from, e.g. its media relays' network.
    std::vector<Ipv4Network> media_networks;
    // Lab only: idms_url and cms_url may be http:// (no TLS); otherwise they must be https://
    // and are reached with mutual TLS (docs/security.md, "Partner trust over TLS").
    bool plain_http = false;
    // A published key (idms_url) is fetched again this often; a token naming another key id
    // fetches it sooner (docs/identity.md, "Tokens for a partner MC system").
    std::uint32_t key_refresh_seconds = 3600;
    std::string idms_issuer() const { return "mcx-idms:" + id; }
    std::string token_audience() const { return "mcx:" + id; }
};

// The SIP interconnect towards partner MC systems: SIP over mutually authenticated TLS.
struct InterconnectConfig {
    bool enabled = false;  // a [interconnect] table is present
    std::uint16_t port = 0;
    std::string certificate_file;  // this system's certificate and key (PEM, `mcx admin certs`)
    std::string ca_file;           // CAs whose certificates partners must present
    std::uint32_t timeout_seconds =
        5;  // a partner that does not answer an INVITE by then is given up
    // HTTPS with mutual TLS for partners' IdMS key fetches and CMS requests (CSC-17): same
    // certificate and CA (docs/security.md, "Partner trust over TLS").
    bool https = false;            // `https_port` given
    std::uint16_t https_port = 0;  // 0: any free port
};

// Local policy for users of partner systems who migrate here (TS 23.280 10.1.4.3.2: the
// partner applies its own restrictions to the profile it gets from the primary).
struct MigrationPolicy {
    bool accept = true;
    std::string assigned_id = "{user}.{home}@{domain}";  // MC service ID given to the migrant
    bool private_call = true;
    bool private_call_to_any_user = true;
    std::vector<McServiceId> private_call_targets;
};

// [idms] login_* and password_hash_*: failed-login throttling and where password hashes are
// computed (idms::LoginThrottleLimits, idms::PasswordHashPool; docs/identity.md). The defaults
// equal LoginThrottleLimits' (a unit test checks).
struct LoginProtectionConfig {
    std::uint32_t user_failures = 5;      // failed logins of one username before it is held
    std::uint32_t source_failures = 100;  // failed logins from one address before it is held
    std::int64_t hold_seconds = 30;       // the first hold; doubled by each further failure
    std::int64_t max_hold_seconds = 900;
    std::int64_t forget_seconds = 900;      // quiet time after which failures are forgotten
    std::uint32_t tracked_entries = 10000;  // per table (usernames, addresses)
    std::uint32_t hash_threads = 1;         // threads computing password hashes
    std::uint32_t hash_queue = 4;           // logins that may wait for one; more get 503
    // PBKDF2 iterations of the hashes made: seeded users' and the unknown users' dummy (equal to
    // idms::kPasswordHashIterations, a unit test checks).
    std::uint32_t hash_iterations = 20000;
};

// [sip] tls_port, tls_certificate, udp_access, tcp_access: how users' clients reach the SIP
// server (docs/security.md, "SIP access").
struct SipAccessConfig {
    bool tls = false;                  // a TLS listener for clients (`tls_port` given)
    std::uint16_t tls_port = 0;        // 0: any free port
    std::string tls_certificate_file;  // PEM chain + key; default: [interconnect] certificate
    bool udp = true;                   // users may register and call over UDP
    bool tcp = true;                   // ... over plain TCP
};

// [http] max_*, *_timeout_ms, worker_threads: what one client may hold of the HTTP listener and
// the partner HTTPS listener (net::HttpLimits, http_api::http_limits; docs/security.md, "HTTP
// that cannot be starved"). The defaults equal net::HttpLimits' (a unit test checks).
struct HttpLimitsConfig {
    std::uint32_t max_head_bytes = 16 * 1024;       // request line and header fields; 431 beyond
    std::uint32_t max_header_fields = 100;          // 431 beyond
    std::uint32_t max_line_bytes = 8 * 1024;        // one line of the head; 414 or 431 beyond
    std::uint32_t max_body_bytes = 256 * 1024;      // 413 beyond
    std::uint32_t request_timeout_ms = 10'000;      // 408 unless the request is in by then
    std::uint32_t idle_timeout_ms = 5'000;          // closed when no request begins by then
    std::uint32_t handshake_timeout_ms = 10'000;    // HTTPS: closed without a TLS handshake
    std::uint32_t write_timeout_ms = 5'000;         // closed when a response is not taken
    std::uint32_t linger_timeout_ms = 2'000;        // input dropped after a refusal, at most
    std::uint32_t max_connections_per_source = 16;  // more from one address: 503, closed
    std::uint32_t max_connections = 512;            // more in all: 503, closed
    std::uint32_t max_requests_per_connection = 100;
    std::uint32_t worker_threads = 16;  // run the handlers
};

struct SystemConfig {
    OverloadSettings overload;       // [overload] (docs: config/README.md)
    std::string system_id;           // e.g. "A"
    std::string domain;              // e.g. "a.mcx": the domain of the MC service IDs it serves
    std::string host = "127.0.0.1";  // every listener binds here
    std::uint16_t sip_port = 0;      // 0: any free port, reported on start
    // Callee legs to local users over UDP on a SIP stack and thread of their own (a port of its
    // own, picked free): see net/leg_thread.hpp.
    bool sip_leg_thread = true;
    SipAccessConfig sip_access;
    SipStreamLimits sip_stream;  // [sip] stream_*: SIP over TCP and TLS (net::SipStreamGuard)
    std::uint16_t http_port = 0;
    HttpLimitsConfig http_limits;
    std::string idms_key_file;  // PEM, created when missing; empty: a key in memory only
    std::int64_t token_lifetime_seconds = 3600;
    LoginProtectionConfig login;
    std::uint32_t registration_max_expires = 3600;
    std::uint32_t max_private_calls_per_user = 4;  // N10 (TS 23.379 A.3)
    std::uint32_t call_inactivity_seconds = 120;   // 0: never end an inactive call
    std::uint32_t invite_timeout_seconds = 32;     // callee leg without final answer
    bool floor_queueing = true;                    // queue floor requests (TS 24.380 mc_queueing)
    std::uint8_t max_floor_priority = 7;           // highest mc_priority granted
    // [media] allowed_networks: besides a client's own signalling address, networks the c= of
    // its offers and answers may name (e.g. clients whose media leave from another interface).
    std::vector<Ipv4Network> media_networks;
    std::vector<UserConfig> users;
    std::string store_path;  // SQLite file; default "<id>.db" next to the configuration
    std::vector<PartnerConfig> partners;
    MigrationPolicy migration;
    InterconnectConfig interconnect;

    std::string idms_issuer() const { return "mcx-idms:" + system_id; }
    std::string token_audience() const { return "mcx:" + system_id; }
    const UserConfig* find_user(const McServiceId& id) const;
    const PartnerConfig* find_partner(std::string_view id) const;
    const PartnerConfig* partner_by_domain(std::string_view domain) const;
    const PartnerConfig* partner_by_issuer(std::string_view issuer) const;
};

Result<SystemConfig> parse_system_config(std::string_view toml, const std::string& source_name,
                                         const std::string& base_dir);
Result<SystemConfig> load_system_config(const std::string& path);

}  // namespace mcx
