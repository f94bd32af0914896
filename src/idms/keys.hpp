#pragma once
// The IdMS signing key: an ECDSA P-256 key pair in PEM (ES256, RFC 7518 3.4).

#include <string>

#include "common/error.hpp"

namespace mcx::idms {

struct SigningKey {
    std::string private_pem;
    std::string public_pem;

    static Result<SigningKey> generate();
    // Reads the private key PEM at `path`, or creates one there (mode 0600) when absent.
    static Result<SigningKey> load_or_create(const std::string& path);
    static Result<SigningKey> from_private_pem(const std::string& pem);
};

}  // namespace mcx::idms
