#include "server/private_call_policy.hpp"

#include <algorithm>

namespace mcx::server {

std::variant<McServiceId, Rejection> PrivateCallPolicy::authorise(
    const PrivateCallRequest& request) const {
    using proto::McWarning;
    // TS 24.379 11.1.1.3.1.1: exactly one <entry> names the called party.
    if (request.callees.size() != 1) {
        return Rejection{403, "Forbidden", McWarning::unable_to_determine_called_party,
                         request.callees.empty() ? "resource-lists names no callee"
                                                 : "resource-lists names more than one callee"};
    }
    const auto caller = profiles_(request.caller);
    if (!caller || !caller->allow_private_call) {
        return Rejection{403, "Forbidden", McWarning::not_authorised_private_call, ""};
    }
    if (party_state_(request.caller).active_calls >= max_calls_) {
        return Rejection{403, "Forbidden", McWarning::max_private_calls_reached,
                         "caller has " + std::to_string(max_calls_) + " private calls"};
    }
    auto callee_id = McServiceId::parse(request.callees.front());
    if (!callee_id) {
        return Rejection{403, "Forbidden", McWarning::unable_to_determine_called_party,
                         callee_id.error().reason};
    }
    const auto callee = profiles_(*callee_id);
    if (!callee) {
        // [mcx-defined] 404 for a callee this MC system does not know (docs/sip-profile.md).
        return Rejection{404, "Not Found", McWarning::unable_to_determine_called_party,
                         callee_id->uri() + " is not an MC service user of this system"};
    }
    if (*callee_id == request.caller) {
        return Rejection{403, "Forbidden", McWarning::not_authorised_to_call_this_user,
                         "a user cannot call itself"};
    }
    if (!caller->may_call(*callee_id)) {
        return Rejection{403, "Forbidden", McWarning::not_authorised_to_call_this_user,
                         callee_id->uri()};
    }
    if (!callee->allow_private_call_participation) {
        return Rejection{403, "Forbidden", McWarning::not_authorised_to_be_called,
                         callee_id->uri()};
    }
    const auto callee_state = party_state_(*callee_id);
    if (!callee_state.registered) {
        // TS 24.379 11.1.1.3.2: the T-PF has no service settings for an unregistered user.
        return Rejection{480, "Temporarily Unavailable",
                         McWarning::unable_to_determine_service_settings,
                         callee_id->uri() + " is not registered"};
    }
    if (callee_state.active_calls >= max_calls_) {
        return Rejection{486, "Busy Here", McWarning::max_private_calls_reached,
                         callee_id->uri() + " is busy"};
    }
    return *callee_id;
}

}  // namespace mcx::server
