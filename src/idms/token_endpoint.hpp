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
    // Decides whether `user` may have a token for another MC system's audience (a partner it
    // may migrate to, TS 33.180 5.1.4.2). Absent: only this system's audience.
    using AudiencePolicy =
        std::function<Result<void>(const McServiceId& user, const std::string& audience)>;

    TokenEndpoint(const CredentialStore& credentials, const TokenIssuer& issuer,
                  std::string own_audience, AudiencePolicy audience_policy = {})
        : credentials_(credentials),
          issuer_(issuer),
          own_audience_(std::move(own_audience)),
          audience_policy_(std::move(audience_policy)) {}

    HttpReply handle(const std::map<std::string, std::string>& form, std::int64_t now) const;

  private:
    const CredentialStore& credentials_;
    const TokenIssuer& issuer_;
    std::string own_audience_;
    AudiencePolicy audience_policy_;
};

}  // namespace mcx::idms
