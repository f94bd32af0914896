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

    // The public key as a JSON Web Key Set (RFC 7517, EC P-256: RFC 7518 6.2), with key id
    // `kid` — what an OIDC provider publishes at its jwks_uri.
    Result<std::string> jwks(const std::string& kid) const;
    // RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key: the `kid` of its tokens.
    Result<std::string> key_id() const { return public_key_id(public_pem); }
    static Result<std::string> public_key_id(const std::string& public_pem);
};

}  // namespace mcx::idms
