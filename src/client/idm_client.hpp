#pragma once
// The IdM client of the UE (TS 33.180 5.1.4, TS 24.482): logs the user in at its primary IdMS
// (OAuth 2.0 password grant, docs/identity.md) and, for migration, presents the primary-issued
// token to the IdMS of the target system (RFC 8693 token exchange, TS 33.180 5.1.4.2: the UE
// talks to the partner IdMS directly). Requests run off the event loop (net::HttpWorker);
// results come back on the loop thread.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "net/http_worker.hpp"

namespace mcx::client {

struct TokenGrant {
    std::string access_token;
    McServiceId mc_service_id;              // the ID valid where the token is for
    std::optional<McServiceId> primary_id;  // token exchange: the user's primary ID
    std::int64_t expires_in = 0;
};

// Reads a token endpoint answer (RFC 6749 5.1 / 5.2): the error names what the IdMS said.
// `who`: for messages, e.g. "IdMS of B".
Result<TokenGrant> parse_token_response(int status, std::string_view body, const std::string& who);

inline constexpr std::string_view kTokenExchangeGrant =
    "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr std::string_view kAccessTokenType =
    "urn:ietf:params:oauth:token-type:access_token";

class IdmClient {
  public:
    using Done = std::function<void(Result<TokenGrant>)>;

    explicit IdmClient(net::HttpWorker& http,
                       std::chrono::milliseconds timeout = std::chrono::seconds(3))
        : http_(http), timeout_(timeout) {}

    // Password grant; `audience` empty: a token for the IdMS's own system.
    void password_login(const std::string& idms_url, const McServiceId& user,
                        const std::string& password, const std::string& client_id,
                        const std::string& audience, Done done);
    // RFC 8693 token exchange at `idms_url` of the target system.
    void exchange(const std::string& idms_url, const std::string& subject_token,
                  const std::string& client_id, Done done);

    // RFC 7009 revocation of `token` at `idms_url` (logout): the IdMS retires it.
    void revoke(const std::string& idms_url, const std::string& token, const std::string& client_id,
                std::function<void(Result<void>)> done);

  private:
    net::HttpWorker& http_;
    std::chrono::milliseconds timeout_;
};

}  // namespace mcx::client
