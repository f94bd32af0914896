#pragma once
// Authorisation of an on-network private call request at the controlling function
// (TS 23.379 10.7.2.2, checks listed in shared/spec/stage2-digest.md 4.3; TS 24.379 11.1.1.3).
// Pure: every input is passed in.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/ids.hpp"
#include "proto/user_profile.hpp"
#include "proto/warning.hpp"

namespace mcx::server {

struct Rejection {
    std::uint16_t status;
    std::string reason;
    std::optional<proto::McWarning> warning;
    std::string detail;
};

struct PrivateCallRequest {
    McServiceId caller;                // bound from the registration, not from the request
    std::vector<std::string> callees;  // <entry uri> values of the resource-lists
};

struct CallPartyState {
    bool registered = false;
    std::uint32_t active_calls = 0;
};

class PrivateCallPolicy {
  public:
    using PartyState = std::function<CallPartyState(const McServiceId&)>;
    // The user profile (TS 24.484) valid in this MC system, or nullopt for an unknown user.
    using ProfileLookup = std::function<std::optional<proto::UserProfile>(const McServiceId&)>;

    PrivateCallPolicy(std::uint32_t max_calls_per_user, ProfileLookup profiles,
                      PartyState party_state)
        : max_calls_(max_calls_per_user),
          profiles_(std::move(profiles)),
          party_state_(std::move(party_state)) {}

    // A call between two users of this system: the callee on success, else the rejection.
    std::variant<McServiceId, Rejection> authorise(const PrivateCallRequest& request) const;
    // The caller's side (originating participating + controlling function): authorised to make
    // private calls, below N10, allowed to call this callee (local or in a partner system).
    std::optional<Rejection> check_caller(const McServiceId& caller,
                                          const McServiceId& callee) const;
    // The callee's side (terminating participating function): known here, may be called,
    // registered, below N10.
    std::optional<Rejection> check_callee(const McServiceId& callee) const;
    // The single <entry> of the resource-lists.
    static std::variant<McServiceId, Rejection> called_party(
        const std::vector<std::string>& callees);

  private:
    std::uint32_t max_calls_;
    ProfileLookup profiles_;
    PartyState party_state_;
};

}  // namespace mcx::server
