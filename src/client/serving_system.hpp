#pragma once
// One MC system as it serves (or is about to serve) the client: its addresses, the access
// token issued for it, the registration with service authorisation there (TS 24.379 7.3.1),
// the MC service ID valid there (the primary ID at home, the ID a partner assigned during
// migration, TS 23.280 10.16.5) and the user profile valid there (10.1.4.3.2). The client holds
// several at once while it migrates (the prepared order registers in the target first).

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "client/client_config.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "net/registration_client.hpp"
#include "net/sip_stack.hpp"
#include "proto/user_profile.hpp"

namespace mcx::client {

enum class RegistrationState { none, registering, registered, failed, unregistering };
const char* to_string(RegistrationState state);

class ServingSystem {
  public:
    using RegistrationHandler =
        std::function<void(net::RegistrationEvent, const net::SipMessage* response)>;

    ServingSystem(SystemAddress address, bool primary)
        : address_(std::move(address)), primary_(primary) {}
    ~ServingSystem();
    ServingSystem(const ServingSystem&) = delete;
    ServingSystem& operator=(const ServingSystem&) = delete;

    const SystemAddress& address() const { return address_; }
    const std::string& id() const { return address_.id; }
    bool primary() const { return primary_; }

    // The MC service ID every request in this system uses, and the token for this system.
    McServiceId mc_service_id;
    std::string access_token;
    std::optional<proto::UserProfile> profile;

    // REGISTER with the token in mcptt-info; refreshed at half the granted expiry.
    Result<void> start_registration(net::SipStack& sip, const ClientConfig& config,
                                    RegistrationHandler handler);
    void unregister();         // REGISTER Expires: 0; the handler sees `unregistered`
    void drop_registration();  // forget it without a word (the system is gone)
    void on_registration_event(net::RegistrationEvent event);  // kept by the handler's owner
    RegistrationState registration() const { return registration_state_; }
    bool registered() const { return registration_state_ == RegistrationState::registered; }

  private:
    SystemAddress address_;
    bool primary_;
    std::unique_ptr<net::RegistrationClient> registration_;
    RegistrationState registration_state_ = RegistrationState::none;
};

}  // namespace mcx::client
