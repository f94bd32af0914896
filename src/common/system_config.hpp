#pragma once
// The configuration of one MC system (one mcxd process), read from a TOML file.
// Every key, its default and its meaning is documented in config/README.md.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"

namespace mcx {

// MC service user and the parts of the MCPTT user profile (TS 24.484) used for private calls.
struct UserConfig {
    McServiceId id;
    std::string password;              // seed only: hashed when loaded, never stored in plain
    bool private_call_allowed = true;  // "authorised to make a private call" (TS 23.379 A.3)
    bool private_call_to_any_user = false;
    std::vector<McServiceId> private_call_targets;  // PrivateCallList (TS 24.484)
    bool may_receive_private_calls = true;
};

struct SystemConfig {
    std::string system_id;           // e.g. "A"
    std::string domain;              // e.g. "a.mcx": the domain of the MC service IDs it serves
    std::string host = "127.0.0.1";  // every listener binds here
    std::uint16_t sip_port = 0;      // 0: any free port, reported on start
    std::uint16_t http_port = 0;
    std::string idms_key_file;  // PEM, created when missing; empty: a key in memory only
    std::int64_t token_lifetime_seconds = 3600;
    std::uint32_t registration_max_expires = 3600;
    std::uint32_t max_private_calls_per_user = 4;  // N10 (TS 23.379 A.3)
    std::uint32_t invite_timeout_seconds = 32;     // callee leg without final answer
    bool floor_queueing = true;                    // queue floor requests (TS 24.380 mc_queueing)
    std::uint8_t max_floor_priority = 7;           // highest mc_priority granted
    std::vector<UserConfig> users;

    std::string idms_issuer() const { return "mcx-idms:" + system_id; }
    std::string token_audience() const { return "mcx:" + system_id; }
    const UserConfig* find_user(const McServiceId& id) const;
};

Result<SystemConfig> parse_system_config(std::string_view toml, const std::string& source_name,
                                         const std::string& base_dir);
Result<SystemConfig> load_system_config(const std::string& path);

}  // namespace mcx
