#include "idms/password.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <optional>
#include <vector>

namespace mcx::idms {

namespace {

constexpr int kHashBytes = 32;

std::string to_hex(const unsigned char* data, std::size_t len) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (std::size_t i = 0; i < len; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 0xf];
    }
    return out;
}

}  // namespace

std::string hash_password(const std::string& password, int iterations) {
    unsigned char salt[16];
    RAND_bytes(salt, sizeof(salt));
    return hash_password(password, to_hex(salt, sizeof(salt)), iterations);
}

std::string hash_password(const std::string& password, const std::string& salt, int iterations) {
    unsigned char hash[kHashBytes];
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      reinterpret_cast<const unsigned char*>(salt.data()),
                      static_cast<int>(salt.size()), iterations, EVP_sha256(), kHashBytes, hash);
    return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + salt + "$" +
           to_hex(hash, sizeof(hash));
}

namespace {

struct HashParts {
    int iterations = 0;
    std::string salt;
};

std::optional<HashParts> split_hash(const std::string& stored) {
    const auto p1 = stored.find('$');
    const auto p2 = stored.find('$', p1 + 1);
    const auto p3 = stored.find('$', p2 + 1);
    if (p1 == std::string::npos || p2 == std::string::npos || p3 == std::string::npos ||
        stored.substr(0, p1) != "pbkdf2-sha256") {
        return std::nullopt;
    }
    int iterations = 0;
    auto [ptr, ec] = std::from_chars(stored.data() + p1 + 1, stored.data() + p2, iterations);
    if (ec != std::errc() || iterations < 1 || iterations > kMaxPasswordHashIterations)
        return std::nullopt;
    return HashParts{iterations, stored.substr(p2 + 1, p3 - p2 - 1)};
}

}  // namespace

bool verify_password(const std::string& password, const std::string& stored) {
    const auto parts = split_hash(stored);
    if (!parts) return false;
    const auto expected = hash_password(password, parts->salt, parts->iterations);
    return expected.size() == stored.size() &&
           CRYPTO_memcmp(expected.data(), stored.data(), stored.size()) == 0;
}

bool is_password_hash(const std::string& stored) {
    return split_hash(stored).has_value();
}

}  // namespace mcx::idms
