#pragma once
// The IdMS token endpoint (RFC 6749 3.2) with the resource owner password credentials grant
// (RFC 6749 4.3); docs/identity.md says why this grant. Pure: the HTTP server hands over the
// form parameters and sends back what this returns.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "idms/token.hpp"

namespace mcx::idms {

struct HttpReply {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
};

class CredentialStore {
  public:
    virtual ~CredentialStore() = default;
    // Stored salted hash for the user, or empty when unknown.
    virtual std::string password_hash(const McServiceId& user) const = 0;
};

class TokenEndpoint {
  public:
    TokenEndpoint(const CredentialStore& credentials, const TokenIssuer& issuer)
        : credentials_(credentials), issuer_(issuer) {}

    HttpReply handle(const std::map<std::string, std::string>& form, std::int64_t now) const;

  private:
    const CredentialStore& credentials_;
    const TokenIssuer& issuer_;
};

}  // namespace mcx::idms
