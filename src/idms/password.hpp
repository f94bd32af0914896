#pragma once
// Salted password hashes (PBKDF2-HMAC-SHA256, RFC 8018); plain passwords are never stored.
// Format: "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>".

#include <string>

#include "common/error.hpp"

namespace mcx::idms {

std::string hash_password(const std::string& password);
std::string hash_password(const std::string& password, const std::string& salt, int iterations);
// Constant-time comparison; false for a malformed stored hash.
bool verify_password(const std::string& password, const std::string& stored);

}  // namespace mcx::idms
