#pragma once
// Registrar with MCPTT service authorisation in one step (TS 24.379 7.3.1; docs/sip-profile.md):
// the REGISTER carries an mcptt-info body with <mcptt-access-token> and <mcptt-client-id>, the
// token is verified and its subject must be the registered identity. Pure logic: the caller
// passes the request's fields and the current time.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/ids.hpp"
#include "idms/token.hpp"
#include "net/endpoint.hpp"
#include "proto/warning.hpp"

namespace mcx::server {

struct Binding {
    McServiceId user;
    std::string contact_uri;  // addr-spec of the Contact, where calls to the user are sent
    net::Endpoint source;     // where the REGISTER came from: the user's signalling address
    net::Transport transport = net::Transport::udp;
    // TCP/TLS: the connection the REGISTER came on (RFC 5626 flow); the user's requests are
    // taken on it only, and the binding ends when it closes. 0 over UDP.
    net::FlowId flow = 0;
    std::string client_id;     // MCPTT client ID (urn:uuid), the one the token was issued to
    std::string token_issuer;  // the IdMS whose token made this binding (iss)
    std::string token_id;      // and its jti: that token registers only from `source`
    std::int64_t expires_at_ms = 0;
    // A user of another MC system migrated here (TS 23.280 10.16.5): `user` is the ID
    // assigned here, this its primary MC service ID.
    std::optional<McServiceId> primary_id;
};

struct RegisterRequest {
    std::string to_uri;
    std::string contact;  // Contact header value, empty if none; "*" for remove-all
    std::optional<std::uint32_t> expires_header;
    std::string content_type;
    std::string body;
    net::Endpoint source;
    net::Transport transport = net::Transport::udp;
    net::FlowId flow = 0;
};

struct RegisterOutcome {
    std::uint16_t status = 200;
    std::string reason = "OK";
    std::optional<proto::McWarning> warning;
    std::string detail;          // warning detail or plain warning text
    bool ask_for_token = false;  // 401: add WWW-Authenticate: Bearer (RFC 8898)
    std::uint32_t expires = 0;   // granted, for the 200
    std::string contact_uri;     // echoed in the 200
    McServiceId aor;
    std::optional<McServiceId> primary_id;  // the AOR is an ID assigned to a migrated user
    bool removed = false;                   // Expires: 0 took the binding away
};

class Registrar {
  public:
    // Which AOR a verified token may register, and the primary ID behind it when the AOR is
    // an ID this system assigned to a migrated user (nullopt: a user of ours). Without one,
    // only the token's subject may be registered.
    using IdentityCheck = std::function<Result<std::optional<McServiceId>>(
        const idms::AccessTokenClaims& claims, const McServiceId& aor)>;

    Registrar(const idms::TokenVerifier& verifier, std::uint32_t max_expires)
        : verifier_(verifier), max_expires_(max_expires) {}
    void set_identity_check(IdentityCheck check) { identity_check_ = std::move(check); }

    RegisterOutcome handle(const RegisterRequest& request, std::int64_t now_ms);
    // The live binding of a user, or nullptr.
    const Binding* lookup(const McServiceId& user, std::int64_t now_ms) const;
    std::size_t size(std::int64_t now_ms) const;
    // Drops expired bindings and returns them.
    std::vector<Binding> expire(std::int64_t now_ms);
    // Drops the bindings registered on a flow that closed and returns them.
    std::vector<Binding> drop_flow(net::FlowId flow);
    // Drops the bindings for which `retired` holds and returns them.
    std::vector<Binding> remove_if(const std::function<bool(const Binding&)>& retired);

  private:
    const idms::TokenVerifier& verifier_;
    std::uint32_t max_expires_;
    IdentityCheck identity_check_;
    std::unordered_map<McServiceId, Binding> bindings_;
};

// "<sip:alice@127.0.0.1:5070>;expires=60" -> "sip:alice@127.0.0.1:5070", and its expires param.
struct ContactValue {
    std::string uri;
    std::optional<std::uint32_t> expires;
};
std::optional<ContactValue> parse_contact(std::string_view value);

}  // namespace mcx::server
