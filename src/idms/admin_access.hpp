#pragma once
// Who may use the admin and monitoring API (GET /status, GET /metrics; issue 16 item 4): the
// bearer of a valid access token of this system's own IdMS with the scope mcx-admin, whose
// subject is still an administrator in the store. RFC 6750: no token → 401 with the realm, a
// bad one → 401 invalid_token, a good one without the scope → 403 insufficient_scope.
// docs/security.md says why a role in the IdMS rather than a listener on 127.0.0.1. No I/O: the
// HTTP handler passes the Authorization header and sends back the refusal.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/ids.hpp"
#include "idms/token.hpp"
#include "idms/token_endpoint.hpp"

namespace mcx::idms {

struct AdminAccess {
    enum class Outcome { allowed, no_token, invalid_token, insufficient_scope };
    Outcome outcome = Outcome::no_token;
    std::string reason;  // why not, for the body and the log
    McServiceId admin;   // when allowed
    bool allowed() const { return outcome == Outcome::allowed; }
};

// The token of an "Authorization: Bearer <token>" header value (RFC 6750 2.1; the scheme is
// case-insensitive); empty when there is none.
std::string bearer_token(const std::string& authorization);

class AdminAuthorizer {
  public:
    // Whether the user has the administrator role now (the store); must be thread-safe.
    using RoleLookup = std::function<bool(const McServiceId&)>;

    // `verifier` checks the token (signature, issuer, audience, expiry; thread-safe); only
    // tokens issued by `own_issuer` ("mcx-idms:A") count. `realm` names the challenge (the
    // system's domain).
    AdminAuthorizer(const TokenVerifier& verifier, std::string own_issuer, std::string realm,
                    RoleLookup is_admin);

    AdminAccess check(const std::string& authorization, std::int64_t now_seconds) const;
    // The 401 or 403 for a refused check: WWW-Authenticate (RFC 6750 3) and a JSON body with
    // error and error_description.
    HttpReply refusal(const AdminAccess& access) const;

  private:
    const TokenVerifier& verifier_;
    std::string own_issuer_;
    std::string realm_;
    RoleLookup is_admin_;
};

}  // namespace mcx::idms
