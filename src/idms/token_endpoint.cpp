#include "idms/token_endpoint.hpp"

#include <openssl/rand.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

namespace mcx::idms {

namespace {

constexpr std::size_t kMaxDescription = 400;

// RFC 6749 5.2 error response. error_description may carry only %x20-21 / %x23-5B / %x5D-7E,
// and parts of it come from the request (a token's claims, form fields): anything else is '?'
// (also keeps invalid UTF-8 away from the JSON encoder).
HttpReply error(int status, const char* code, std::string description) {
    if (description.size() > kMaxDescription) description.resize(kMaxDescription);
    for (auto& c : description) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e || c == '"' || c == '\\') c = '?';
    }
    nlohmann::json body{{"error", code}, {"error_description", description}};
    return HttpReply{status, "application/json", body.dump(), {}};
}

std::string field(const std::map<std::string, std::string>& form, const char* name) {
    auto it = form.find(name);
    return it == form.end() ? std::string{} : it->second;
}

// RFC 6749 A.1: client-id = *VSCHAR (%x20-7E). It goes into the token as a JSON string, which
// must be UTF-8, and into the ledger's key, which must not stop at a NUL.
bool is_vschar(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// "mcx-idms:A" -> "A", for messages.
std::string system_of(const std::string& issuer) {
    const auto colon = issuer.find(':');
    return colon == std::string::npos ? issuer : issuer.substr(colon + 1);
}

// RFC 8693 2.2.1 answer.
HttpReply exchanged(const std::string& token, std::int64_t expires_in, const McServiceId& user,
                    const std::optional<McServiceId>& primary_id) {
    nlohmann::json body{{"access_token", token},  {"issued_token_type", kTokenTypeAccessToken},
                        {"token_type", "Bearer"}, {"expires_in", expires_in},
                        {"mcptt_id", user.uri()}, {"scope", kUserScope}};
    if (primary_id) body["primary_mcptt_id"] = primary_id->uri();
    return HttpReply{200, "application/json", body.dump(), {}};
}

// RFC 6749 5.2: one answer for every credential that does not check out (unknown user,
// malformed username, wrong password), so that it tells nobody which users exist.
HttpReply bad_credentials() {
    return error(400, "invalid_grant", "unknown user or wrong password");
}

// RFC 6585 4 / RFC 9110 10.2.3. [mcx-defined] error code: "slow_down" is the one RFC 8628 3.5
// registers for a client asking the token endpoint too often; RFC 6749 5.2 has none for it.
HttpReply held(const LoginHold& hold) {
    const auto seconds = std::to_string(hold.retry_after_seconds);
    auto reply =
        error(429, "slow_down",
              std::string("too many failed logins ") +
                  (hold.holder == LoginHold::Holder::user ? "for this user" : "from this address") +
                  ": try again in " + seconds + " s");
    reply.headers.emplace_back("Retry-After", seconds);
    return reply;
}

// RFC 9110 15.6.4 503 with Retry-After: every password hashing slot is taken. [mcx-defined]
// error code "temporarily_unavailable" (RFC 6749 4.1.2.1's word for an overloaded server).
HttpReply busy() {
    auto reply = error(503, "temporarily_unavailable",
                       "too many logins are being checked: try again in 1 s");
    reply.headers.emplace_back("Retry-After", "1");
    return reply;
}

// A hash of a random password with the parameters of stored ones (hash_password's).
std::string make_dummy_hash(int iterations) {
    std::array<unsigned char, 16> random{};
    RAND_bytes(random.data(), static_cast<int>(random.size()));
    return hash_password(std::string(random.begin(), random.end()), iterations);
}

}  // namespace

TokenEndpoint::TokenEndpoint(const CredentialStore& credentials, const TokenIssuer& issuer,
                             std::string own_audience, AudiencePolicy audience_policy,
                             int hash_iterations)
    : credentials_(credentials),
      issuer_(issuer),
      own_audience_(std::move(own_audience)),
      audience_policy_(std::move(audience_policy)),
      dummy_hash_(make_dummy_hash(hash_iterations)) {}

void TokenEndpoint::protect_logins(const LoginThrottleLimits& limits, PasswordHasher& hasher) {
    std::lock_guard lock(throttle_mutex_);
    throttle_ = LoginThrottle(limits);
    hasher_ = &hasher;
}

LoginCounters TokenEndpoint::login_counters() const {
    return {counters_.succeeded.load(), counters_.failed.load(), counters_.held_user.load(),
            counters_.held_source.load(), counters_.busy.load()};
}

void TokenEndpoint::enable_token_exchange(const TokenVerifier& subject_tokens,
                                          MigrationIntake intake) {
    subject_tokens_ = &subject_tokens;
    intake_ = std::move(intake);
}

std::optional<HttpReply> TokenEndpoint::track(const McServiceId& subject,
                                              const std::string& client_id,
                                              const IssuedToken& issued, std::int64_t now) const {
    if (!ledger_) return std::nullopt;
    if (auto recorded = ledger_->issued(subject, client_id, issued, now); !recorded) {
        return error(500, "server_error", "cannot record the token: " + recorded.error().reason);
    }
    return std::nullopt;
}

void TokenEndpoint::enable_revocation(const TokenVerifier& verifier, Revoked on_revoked) {
    revocation_verifier_ = &verifier;
    on_revoked_ = std::move(on_revoked);
}

// RFC 7009 2.1. The token is its own credential (our clients are public clients, RFC 6749
// 2.1: they hold no secret): whoever holds it may end it, as whoever holds it may use it.
// 200 for a token that is unknown, invalid, expired, already retired or not ours (2.2): the
// answer tells nothing about the token, and there is nothing left to do with it either way.
HttpReply TokenEndpoint::revoke(const std::map<std::string, std::string>& form,
                                std::int64_t now) const {
    const auto token = field(form, "token");
    if (token.empty()) return error(400, "invalid_request", "token is missing");
    // token_type_hint (access_token, refresh_token or another) only speeds up a search
    // (2.1: the server extends it past the hint): we have access tokens only, so it is ignored.
    const HttpReply done{200, "text/plain", "", {}};
    if (!revocation_verifier_ || !ledger_) return done;
    auto claims = revocation_verifier_->verify(token, now);
    if (!claims) return done;
    // 2.1: the server checks that the token was issued to the client asking, when it says
    // which client it is.
    const auto client_id = field(form, "client_id");
    if (!client_id.empty() && client_id != claims->client_id) {
        return error(400, "invalid_client", "the token was not issued to this client");
    }
    auto revoked = ledger_->revoke(*claims);
    if (!revoked) return error(503, "temporarily_unavailable", revoked.error().reason);
    if (*revoked && on_revoked_) on_revoked_(*claims);
    return done;
}

std::vector<std::string> TokenEndpoint::grant_types() const {
    if (!subject_tokens_) return {"password"};
    return {"password", kGrantTokenExchange, kGrantJwtBearer};
}

HttpReply TokenEndpoint::handle(const std::map<std::string, std::string>& form, std::int64_t now,
                                std::string_view source) const {
    const auto grant_type = field(form, "grant_type");
    if (grant_type.empty()) return error(400, "invalid_request", "grant_type is missing");
    if (!is_vschar(field(form, "client_id"))) {
        return error(400, "invalid_request",
                     "client_id may hold only the characters %x20-7E (RFC 6749 A.1)");
    }
    if (grant_type == "password") return password_grant(form, now, source);
    if (subject_tokens_ && (grant_type == kGrantTokenExchange || grant_type == kGrantJwtBearer)) {
        return exchange_grant(form, grant_type == kGrantJwtBearer, now);
    }
    std::string supported;
    for (const auto& g : grant_types()) supported += (supported.empty() ? "" : ", ") + g;
    return error(400, "unsupported_grant_type", "supported grant_type values: " + supported);
}

HttpReply TokenEndpoint::password_grant(const std::map<std::string, std::string>& form,
                                        std::int64_t now, std::string_view source) const {
    const auto username = field(form, "username");
    const auto password = field(form, "password");
    if (username.empty() || password.empty()) {
        return error(400, "invalid_request", "username and password are required");
    }
    auto user = McServiceId::parse(username);
    // Throttled by the name asked for, known or not: a hold must not tell which users exist.
    const auto throttle_key = user ? user->uri() : username;
    {
        std::lock_guard lock(throttle_mutex_);
        if (auto hold = throttle_.check(source, throttle_key, now)) {
            ++(hold->holder == LoginHold::Holder::user ? counters_.held_user
                                                       : counters_.held_source);
            return held(*hold);
        }
    }
    // The same work for every attempt: one PBKDF2 against the user's hash, or against the dummy
    // hash for an unknown user (or a stored hash that is not one).
    const auto stored = user ? credentials_.password_hash(*user) : std::string{};
    const bool known = !stored.empty() && is_password_hash(stored);
    const auto matched = hasher_->verify(password, known ? stored : dummy_hash_);
    if (!matched) {
        ++counters_.busy;
        return busy();
    }
    if (!*matched || !known) {
        {
            std::lock_guard lock(throttle_mutex_);
            throttle_.failed(source, throttle_key, now);
        }
        ++counters_.failed;
        return bad_credentials();
    }
    {
        std::lock_guard lock(throttle_mutex_);
        throttle_.succeeded(throttle_key);
    }
    ++counters_.succeeded;
    const auto client_id = field(form, "client_id");
    // RFC 8707 resource indicator style: "audience" names the MC system the token is for.
    auto audience = field(form, "audience");
    if (audience.empty()) audience = own_audience_;
    // RFC 6749 3.3: other requested scopes are ignored (the user's token carries kUserScope);
    // mcx-admin is granted alone, for this system, to administrators only (5.2 invalid_scope).
    const auto scope = field(form, "scope");
    if (has_scope(scope, kAdminScope)) {
        if (scope != kAdminScope) {
            return error(400, "invalid_scope",
                         "mcx-admin is granted alone: ask for scope=mcx-admin without others");
        }
        if (audience != own_audience_) {
            return error(
                400, "invalid_scope",
                "an mcx-admin token is for " + own_audience_ + " only, not for " + audience);
        }
        if (!credentials_.is_admin(*user)) {
            return error(400, "invalid_scope",
                         user->uri() + " is no administrator of this MC system");
        }
        IssuedToken issued;
        auto token = issuer_.issue_admin(*user, client_id, now, &issued);
        if (!token) return error(500, "server_error", token.error().reason);
        if (auto refused = track(*user, client_id, issued, now)) return *refused;
        nlohmann::json body{{"access_token", *token},
                            {"token_type", "Bearer"},
                            {"expires_in", issuer_.lifetime_seconds()},
                            {"audience", audience},
                            {"scope", kAdminScope}};
        return HttpReply{200, "application/json", body.dump(), {}};
    }
    if (audience != own_audience_) {
        auto allowed = audience_policy_
                           ? audience_policy_(*user, audience)
                           : fail(Errc::forbidden, "only " + own_audience_ + " is served");
        if (!allowed) return error(400, "invalid_target", allowed.error().reason);
    }
    IssuedToken issued;
    auto token = issuer_.issue_for(*user, client_id, audience, now, &issued);
    if (!token) return error(500, "server_error", token.error().reason);
    // Only tokens for this system are tracked: one for a partner's audience is checked there.
    if (audience == own_audience_) {
        if (auto refused = track(*user, client_id, issued, now)) return *refused;
    }
    nlohmann::json body{{"access_token", *token},
                        {"token_type", "Bearer"},
                        {"expires_in", issuer_.lifetime_seconds()},
                        {"mcptt_id", user->uri()},
                        {"audience", audience},
                        {"scope", kUserScope}};
    return HttpReply{200, "application/json", body.dump(), {}};
}

// RFC 8693 2.1 (subject_token, subject_token_type) or RFC 7523 2.1 (assertion): a user's access
// token from its primary IdMS, or from this one for a user of this system.
HttpReply TokenEndpoint::exchange_grant(const std::map<std::string, std::string>& form,
                                        bool jwt_bearer, std::int64_t now) const {
    const char* token_field = jwt_bearer ? "assertion" : "subject_token";
    const auto subject_token = field(form, token_field);
    if (subject_token.empty()) {
        return error(400, "invalid_request",
                     std::string(token_field) +
                         " is missing: the access token from the IdMS of your primary system");
    }
    if (!jwt_bearer) {
        const auto type = field(form, "subject_token_type");
        if (type.empty()) {
            return error(
                400, "invalid_request",
                std::string("subject_token_type is missing: use ") + kTokenTypeAccessToken);
        }
        if (type != kTokenTypeAccessToken && type != kTokenTypeJwt) {
            return error(400, "invalid_request",
                         "subject_token_type '" + type + "' is not supported: use " +
                             kTokenTypeAccessToken + " or " + kTokenTypeJwt);
        }
        if (!field(form, "actor_token").empty()) {
            return error(400, "invalid_request",
                         "actor_token is not supported: no delegation, the user's own token only");
        }
        const auto requested = field(form, "requested_token_type");
        if (!requested.empty() && requested != kTokenTypeAccessToken) {
            return error(400, "invalid_request",
                         "requested_token_type '" + requested + "' cannot be issued: only " +
                             kTokenTypeAccessToken);
        }
    }
    const auto client_id = field(form, "client_id");
    if (client_id.empty()) {
        return error(400, "invalid_request",
                     "client_id is required: the MC client ID the subject token was issued to");
    }
    const auto audience = field(form, "audience");
    if (!audience.empty() && audience != own_audience_) {
        return error(400, "invalid_target",
                     "this IdMS issues tokens for " + own_audience_ + " only, not for " + audience +
                         ": ask the IdMS of that MC system");
    }

    auto claims = subject_tokens_->verify_subject_token(subject_token, now);
    if (!claims) {
        return error(400, "invalid_grant",
                     std::string(token_field) + " refused: " + claims.error().reason);
    }
    if (jwt_bearer && claims->audience != own_audience_) {
        // RFC 7523 3 (3): the assertion must name this authorisation server.
        return error(400, "invalid_grant",
                     "the assertion is for " + claims->audience + ", not " + own_audience_ +
                         ": get one with audience=" + own_audience_ + " from the IdMS of " +
                         system_of(claims->issuer) + ", or use grant_type=" + kGrantTokenExchange);
    }
    if (claims->primary_id) {
        // Migration starts from the primary system, never from another partner's token.
        return error(400, "invalid_grant",
                     std::string(token_field) + " is for " + claims->subject +
                         ", a user migrated to " + system_of(claims->issuer) +
                         ": present the token of the primary system's IdMS for " +
                         claims->primary_id->uri());
    }
    if (claims->client_id.empty()) {
        return error(400, "invalid_grant",
                     std::string(token_field) +
                         " names no client_id: log in again at your primary IdMS with "
                         "client_id=" +
                         client_id);
    }
    if (claims->client_id != client_id) {
        return error(400, "invalid_grant",
                     std::string(token_field) + " was issued to client " + claims->client_id +
                         ", not " + client_id);
    }
    const auto user = claims->mc_service_id();

    if (claims->issuer == issuer_.issuer()) {
        // A user of this system (back home from a partner): a token of its own, expiring no
        // later than the one presented (else exchanging a token for itself would renew it
        // for ever without a password).
        if (credentials_.password_hash(user).empty()) {
            return error(400, "invalid_grant",
                         user.uri() + " is no longer a user of this MC system");
        }
        const auto expires_at = std::min(now + issuer_.lifetime_seconds(), claims->expires_at);
        if (expires_at <= now) {
            return error(400, "invalid_grant",
                         std::string(token_field) + " has expired: log in again");
        }
        IssuedToken issued;
        auto token = issuer_.issue_until(user, client_id, now, expires_at, &issued);
        if (!token) return error(500, "server_error", token.error().reason);
        if (auto refused = track(user, client_id, issued, now)) return *refused;
        return exchanged(*token, expires_at - now, user, std::nullopt);
    }

    const auto home =
        intake_.partner_system ? intake_.partner_system(claims->issuer) : std::nullopt;
    if (!home) {
        return error(400, "invalid_grant",
                     "the issuer " + claims->issuer + " is not the IdMS of a partner MC system");
    }
    if (!intake_.accept) {
        return error(400, "unauthorized_client",
                     "this MC system (" + own_audience_ +
                         ") does not accept users of partner systems; stay with " + *home);
    }
    auto assigned = intake_.assigned_id
                        ? intake_.assigned_id(user, *home)
                        : fail(Errc::internal, "no MC service IDs are assigned to migrating users");
    if (!assigned) {
        return error(
            500, "server_error",
            "cannot assign an MC service ID to " + user.uri() + ": " + assigned.error().reason);
    }
    IssuedToken issued;
    auto token = issuer_.issue_migrated(*assigned, user, client_id, now, &issued);
    if (!token) return error(500, "server_error", token.error().reason);
    if (auto refused = track(*assigned, client_id, issued, now)) return *refused;
    return exchanged(*token, issuer_.lifetime_seconds(), *assigned, user);
}

}  // namespace mcx::idms
