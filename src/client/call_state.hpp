#pragma once
// The MC service client's view of one on-network private call (TS 23.379 10.7.2.2 automatic
// and manual commencement; TS 24.379 11.1.1.2 / 11.1.1.4). Pure: events in, state out.
// States are [mcx-defined] (TS 24.379 names no client states for on-network private calls).
// Migration during a private call (TS 23.280 10.16.3): step 1 releases the call and keeps it
// `suspended`; step 3 resumes it as a new call from the new MC system (`resume`), or the peer's
// resume INVITE is answered at once (`resume_incoming`); a call not resumed in time `expire`s,
// and one the new profile restricts (NOTE 2) is `refused`. Diagram: call_state.dot.

#include <array>
#include <optional>
#include <string_view>

namespace mcx::client {

enum class CallState {
    idle,
    originating,      // INVITE sent, no answer yet
    remote_alerting,  // 180 received: the callee's user is being alerted (manual commencement)
    incoming,         // INVITE received with manual commencement: our user must accept/reject
    connected,
    released,
    suspended,  // released for migration, to be re-created in the new MC system (10.16.3)
};

enum class CallEvent {
    dial,             // user asks for a call
    alerting,         // 180 Ringing received
    answered,         // 2xx received (caller) / ACK received or auto-answer (callee)
    refused,          // final non-2xx, or no response
    incoming_manual,  // INVITE asking for manual commencement
    incoming_auto,    // INVITE with automatic commencement
    user_accept,
    user_reject,
    remote_release,   // BYE or CANCEL received
    local_release,    // user hangs up
    suspend,          // migration step 1 (TS 23.280 10.16.3)
    resume,           // step 3: our resume INVITE in the new MC system
    resume_incoming,  // the peer's resume INVITE, answered automatically
    expire,           // the suspended call was not resumed in time
};

inline constexpr std::array kCallStates{
    CallState::idle,      CallState::originating, CallState::remote_alerting, CallState::incoming,
    CallState::connected, CallState::released,    CallState::suspended,
};
inline constexpr std::array kCallEvents{
    CallEvent::dial,
    CallEvent::alerting,
    CallEvent::answered,
    CallEvent::refused,
    CallEvent::incoming_manual,
    CallEvent::incoming_auto,
    CallEvent::user_accept,
    CallEvent::user_reject,
    CallEvent::remote_release,
    CallEvent::local_release,
    CallEvent::suspend,
    CallEvent::resume,
    CallEvent::resume_incoming,
    CallEvent::expire,
};

const char* to_string(CallState state);
const char* to_string(CallEvent event);

// The next state, or nullopt when the event is not allowed in `state` (a counted error, the
// state is kept).
std::optional<CallState> next_state(CallState state, CallEvent event);

}  // namespace mcx::client
