#pragma once
// How mcxd's IdMS is put together over the store and the configuration: its users' password
// hashes and current tokens in the store, which partner audiences a user may get a token for,
// whom it takes in from partners, and which keys partners' tokens are checked with. No sockets
// and no clock: mcxd (apps/mcxd) and the fuzz target of its HTTP handlers
// (tests/fuzz/http_handlers_fuzz.cpp) use the same pieces.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/system_config.hpp"
#include "idms/partner_keys.hpp"
#include "idms/token.hpp"
#include "idms/token_endpoint.hpp"
#include "idms/token_ledger.hpp"
#include "store/store.hpp"

namespace mcx::http_api {

// The IdMS's users: password hashes and the administrator role, read from the store at each
// login.
class StoreCredentials : public idms::CredentialStore {
  public:
    explicit StoreCredentials(store::Store& store) : store_(store) {}
    std::string password_hash(const McServiceId& user) const override;
    bool is_admin(const McServiceId& user) const override;

  private:
    store::Store& store_;
};

// The IdMS's current tokens (idms::TokenLedger), kept in the store.
class StoreTokenRecords : public idms::TokenRecords {
  public:
    explicit StoreTokenRecords(store::Store& store) : store_(store) {}
    Result<void> put_current_token(const idms::CurrentToken& token, std::int64_t now) override;
    Result<bool> remove_current_token(const McServiceId& subject, const std::string& client_id,
                                      const std::string& token_id) override;
    Result<std::vector<idms::CurrentToken>> current_tokens() override;

  private:
    store::Store& store_;
};

// [idms] login_*: the token endpoint's failed-login throttle.
idms::LoginThrottleLimits login_throttle_limits(const LoginProtectionConfig& login);

// A token for a partner's audience only for a user whose profile lists that partner with
// migration allowed (TS 33.180 5.1.4.2); any other audience is refused.
idms::TokenEndpoint::AudiencePolicy partner_audience_policy(const SystemConfig& config,
                                                            store::Store& store);

// Partners' users taken in as [migration] says (TS 23.280 10.1.6): the partner of an issuer,
// and the MC service ID assigned here.
idms::MigrationIntake migration_intake(const SystemConfig& config);

// A partner IdMS's key that its IdMS publishes, as idms::PartnerKeyFetcher::key gives it
// (nullopt until it has arrived); `kid` is the key id a token names.
using PublishedPartnerKey = std::function<std::optional<idms::PartnerKeyFetcher::Key>(
    const std::string& issuer, const std::string& kid)>;

// A partner's IdMS key: the one configured ([[partners]] idms_public_key_file), else the
// published one (nullopt while it is not known).
std::optional<idms::TrustedIssuer> partner_key(const PartnerConfig& partner, const std::string& kid,
                                               const PublishedPartnerKey& published);

// Tokens of partners' IdMSs checked with partner_key(), by issuer. `config` must outlive
// `verifier`.
void resolve_partner_keys(idms::TokenVerifier& verifier, const SystemConfig& config,
                          PublishedPartnerKey published);

}  // namespace mcx::http_api
