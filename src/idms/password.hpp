#pragma once
// Salted password hashes (PBKDF2-HMAC-SHA256, RFC 8018); plain passwords are never stored.
// Format: "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>".

#include <optional>
#include <string>

#include "common/error.hpp"

namespace mcx::idms {

// PBKDF2 iterations of a new hash unless [idms] password_hash_iterations says otherwise.
inline constexpr int kPasswordHashIterations = 20000;
// The range that setting allows: NIST SP 800-132 5.2 asks for 1000 at least; a stored hash with
// more than the upper bound is refused as malformed (verify_password), not computed.
inline constexpr int kMinPasswordHashIterations = 1000;
inline constexpr int kMaxPasswordHashIterations = 10'000'000;

// A fresh random 16-byte salt.
std::string hash_password(const std::string& password, int iterations = kPasswordHashIterations);
std::string hash_password(const std::string& password, const std::string& salt, int iterations);
// Constant-time comparison; false for a malformed stored hash.
bool verify_password(const std::string& password, const std::string& stored);
// Whether `stored` has the format above (verify_password would compute a hash for it).
bool is_password_hash(const std::string& stored);

// The one PBKDF2 computation a checked login costs, behind a seam: the token endpoint calls it
// exactly once per password attempt it does not hold back, for known and unknown users alike.
class PasswordHasher {
  public:
    virtual ~PasswordHasher() = default;
    // Whether `password` matches `stored`; nullopt when no capacity is free now (the caller
    // answers 503 at once rather than queueing without bound).
    virtual std::optional<bool> verify(const std::string& password, const std::string& stored) = 0;
};

// Computes on the calling thread; never busy.
class InlinePasswordHasher final : public PasswordHasher {
  public:
    std::optional<bool> verify(const std::string& password, const std::string& stored) override {
        return verify_password(password, stored);
    }
};

}  // namespace mcx::idms
