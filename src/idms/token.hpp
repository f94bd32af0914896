#pragma once
// Access tokens (TS 33.180 Annex B: a signed JWT, RFC 7519) issued by the IdMS and checked by
// the MC server and the CMS. libjwt 1.10 checks only the signature; every claim check lives here.

#include <cstdint>
#include <map>
#include <string>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "idms/keys.hpp"

namespace mcx::idms {

struct AccessTokenClaims {
    std::string issuer;    // iss: the issuing IdMS, e.g. "mcx-idms:A"
    std::string subject;   // sub: the MC service ID
    std::string audience;  // aud: the MC system the token is for, e.g. "mcx:A"
    std::string client_id;
    std::string scope;
    std::int64_t issued_at = 0;   // iat, seconds since the epoch
    std::int64_t expires_at = 0;  // exp

    McServiceId mc_service_id() const;
};

class TokenIssuer {
  public:
    TokenIssuer(SigningKey key, std::string issuer, std::string audience,
                std::int64_t lifetime_seconds);
    Result<std::string> issue(const McServiceId& subject, const std::string& client_id,
                              std::int64_t now_seconds) const;
    const std::string& issuer() const { return issuer_; }
    std::int64_t lifetime_seconds() const { return lifetime_; }

  private:
    SigningKey key_;
    std::string issuer_;
    std::string audience_;
    std::int64_t lifetime_;
};

class TokenVerifier {
  public:
    explicit TokenVerifier(std::string audience) : audience_(std::move(audience)) {}
    // Trusts tokens signed by `issuer` with this public key (own IdMS; partners later).
    void trust(const std::string& issuer, const std::string& public_pem);

    // Signature (ES256 only), issuer trusted and matching the key, audience, expiry, subject.
    Result<AccessTokenClaims> verify(const std::string& token, std::int64_t now_seconds) const;

  private:
    std::string audience_;
    std::map<std::string, std::string> trusted_;  // issuer -> public PEM
};

}  // namespace mcx::idms
