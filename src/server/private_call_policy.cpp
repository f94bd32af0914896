#include "server/private_call_policy.hpp"

#include <algorithm>

namespace mcx::server {

using proto::McWarning;

std::optional<Rejection> PrivateCallPolicy::check_caller(const McServiceId& caller_id,
                                                         const McServiceId& callee_id) const {
    const auto caller = profiles_(caller_id);
    if (!caller || !caller->allow_private_call) {
        return Rejection{403, "Forbidden", McWarning::not_authorised_private_call, ""};
    }
    if (party_state_(caller_id).active_calls >= max_calls_) {
        return Rejection{403, "Forbidden", McWarning::max_private_calls_reached,
                         "caller has " + std::to_string(max_calls_) + " private calls"};
    }
    if (callee_id == caller_id) {
        return Rejection{403, "Forbidden", McWarning::not_authorised_to_call_this_user,
                         "a user cannot call itself"};
    }
    if (!caller->may_call(callee_id)) {
        return Rejection{403, "Forbidden", McWarning::not_authorised_to_call_this_user,
                         callee_id.uri()};
    }
    return std::nullopt;
}

std::optional<Rejection> PrivateCallPolicy::check_callee(const McServiceId& callee_id) const {
    const auto callee = profiles_(callee_id);
    if (!callee) {
        // [mcx-defined] 404 for a callee this MC system does not know (docs/sip-profile.md).
        return Rejection{404, "Not Found", McWarning::unable_to_determine_called_party,
                         callee_id.uri() + " is not an MC service user of this system"};
    }
    if (!callee->allow_private_call_participation) {
        return Rejection{403, "Forbidden", McWarning::not_authorised_to_be_called, callee_id.uri()};
    }
    const auto callee_state = party_state_(callee_id);
    if (!callee_state.registered) {
        // TS 24.379 11.1.1.3.2: the T-PF has no service settings for an unregistered user.
        return Rejection{480, "Temporarily Unavailable",
                         McWarning::unable_to_determine_service_settings,
                         callee_id.uri() + " is not registered"};
    }
    if (callee_state.active_calls >= max_calls_) {
        return Rejection{486, "Busy Here", McWarning::max_private_calls_reached,
                         callee_id.uri() + " is busy"};
    }
    return std::nullopt;
}

std::variant<McServiceId, Rejection> PrivateCallPolicy::called_party(
    const std::vector<std::string>& callees) {
    // TS 24.379 11.1.1.3.1.1: exactly one <entry> names the called party.
    if (callees.size() != 1) {
        return Rejection{403, "Forbidden", McWarning::unable_to_determine_called_party,
                         callees.empty() ? "resource-lists names no callee"
                                         : "resource-lists names more than one callee"};
    }
    auto callee_id = McServiceId::parse(callees.front());
    if (!callee_id) {
        return Rejection{403, "Forbidden", McWarning::unable_to_determine_called_party,
                         callee_id.error().reason};
    }
    return *callee_id;
}

std::variant<McServiceId, Rejection> PrivateCallPolicy::authorise(
    const PrivateCallRequest& request) const {
    auto callee = called_party(request.callees);
    if (auto* rejection = std::get_if<Rejection>(&callee)) return *rejection;
    const auto callee_id = std::get<McServiceId>(callee);
    // The caller's checks come first, except that an unknown callee is reported as such.
    const auto caller = profiles_(request.caller);
    if (caller && caller->allow_private_call && !profiles_(callee_id)) {
        if (auto r = check_callee(callee_id)) return *r;
    }
    if (auto r = check_caller(request.caller, callee_id)) return *r;
    if (auto r = check_callee(callee_id)) return *r;
    return callee_id;
}

}  // namespace mcx::server
