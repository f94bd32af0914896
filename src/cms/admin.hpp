#pragma once
// `mcx admin`: offline administration of an MC system's store (users, profiles, import,
// integrity). It opens the SQLite file directly; mcxd may run meanwhile (WAL), but its call
// policy cache only sees changes made through it after its next store write or restart.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "idms/password.hpp"

namespace mcx::cms {

struct AdminCommand {
    std::string store_path;
    std::vector<std::string> words;  // e.g. {"user", "add", "sip:x@a.mcx"}
    std::string password;            // user add
    bool admin = false;              // user add: the administrator role (else none)
    std::uint32_t index = 0;         // profile show/remove
    // user add: PBKDF2 iterations of the hash ([idms] password_hash_iterations with --config).
    int hash_iterations = idms::kPasswordHashIterations;
};

// Runs one command; prints results to `out` and errors to `err`; returns the exit status.
int run_admin(const AdminCommand& command, std::ostream& out, std::ostream& err);

}  // namespace mcx::cms
