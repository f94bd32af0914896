#include "client/call_state.hpp"

namespace mcx::client {

const char* to_string(CallState state) {
    switch (state) {
        case CallState::idle:
            return "idle";
        case CallState::originating:
            return "originating";
        case CallState::remote_alerting:
            return "remote-alerting";
        case CallState::incoming:
            return "incoming";
        case CallState::connected:
            return "connected";
        case CallState::released:
            return "released";
        case CallState::suspended:
            return "suspended";
    }
    return "unknown";
}

const char* to_string(CallEvent event) {
    switch (event) {
        case CallEvent::dial:
            return "dial";
        case CallEvent::alerting:
            return "alerting";
        case CallEvent::answered:
            return "answered";
        case CallEvent::refused:
            return "refused";
        case CallEvent::incoming_manual:
            return "incoming-manual";
        case CallEvent::incoming_auto:
            return "incoming-auto";
        case CallEvent::user_accept:
            return "user-accept";
        case CallEvent::user_reject:
            return "user-reject";
        case CallEvent::remote_release:
            return "remote-release";
        case CallEvent::local_release:
            return "local-release";
        case CallEvent::suspend:
            return "suspend";
        case CallEvent::resume:
            return "resume";
        case CallEvent::resume_incoming:
            return "resume-incoming";
        case CallEvent::expire:
            return "expire";
    }
    return "unknown";
}

std::optional<CallState> next_state(CallState state, CallEvent event) {
    switch (state) {
        case CallState::idle:
            switch (event) {
                case CallEvent::dial:
                    return CallState::originating;
                case CallEvent::incoming_manual:
                    return CallState::incoming;
                case CallEvent::incoming_auto:
                    return CallState::connected;
                case CallEvent::alerting:
                case CallEvent::answered:
                case CallEvent::refused:
                case CallEvent::user_accept:
                case CallEvent::user_reject:
                case CallEvent::remote_release:
                case CallEvent::local_release:
                case CallEvent::suspend:
                case CallEvent::resume:
                case CallEvent::resume_incoming:
                case CallEvent::expire:
                    return std::nullopt;
            }
            return std::nullopt;
        case CallState::originating:
        case CallState::remote_alerting:
            switch (event) {
                case CallEvent::alerting:
                    return CallState::remote_alerting;
                case CallEvent::answered:
                    return CallState::connected;
                case CallEvent::refused:
                case CallEvent::remote_release:
                case CallEvent::local_release:
                    return CallState::released;
                case CallEvent::suspend:
                    return CallState::suspended;  // migrating before the answer: set up again later
                case CallEvent::dial:
                case CallEvent::incoming_manual:
                case CallEvent::incoming_auto:
                case CallEvent::user_accept:
                case CallEvent::user_reject:
                case CallEvent::resume:
                case CallEvent::resume_incoming:
                case CallEvent::expire:
                    return std::nullopt;
            }
            return std::nullopt;
        case CallState::incoming:
            switch (event) {
                case CallEvent::user_accept:
                    return CallState::connected;
                case CallEvent::user_reject:
                case CallEvent::remote_release:
                case CallEvent::local_release:
                    return CallState::released;
                case CallEvent::dial:
                case CallEvent::alerting:
                case CallEvent::answered:
                case CallEvent::refused:
                case CallEvent::incoming_manual:
                case CallEvent::incoming_auto:
                case CallEvent::suspend:  // not yet accepted: nothing to resume
                case CallEvent::resume:
                case CallEvent::resume_incoming:
                case CallEvent::expire:
                    return std::nullopt;
            }
            return std::nullopt;
        case CallState::connected:
            switch (event) {
                case CallEvent::answered:
                    return CallState::connected;  // the callee's ACK confirms its own answer
                case CallEvent::remote_release:
                case CallEvent::local_release:
                case CallEvent::refused:
                    return CallState::released;
                case CallEvent::suspend:
                    return CallState::suspended;
                case CallEvent::dial:
                case CallEvent::alerting:
                case CallEvent::incoming_manual:
                case CallEvent::incoming_auto:
                case CallEvent::user_accept:
                case CallEvent::user_reject:
                case CallEvent::resume:
                case CallEvent::resume_incoming:
                case CallEvent::expire:
                    return std::nullopt;
            }
            return std::nullopt;
        case CallState::suspended:
            switch (event) {
                case CallEvent::resume:
                    return CallState::originating;  // TS 23.280 10.16.3 step 3
                case CallEvent::resume_incoming:
                    return CallState::connected;
                case CallEvent::expire:
                case CallEvent::local_release:
                case CallEvent::refused:  // e.g. restricted by the new profile (10.16.3 NOTE 2)
                    return CallState::released;
                case CallEvent::dial:
                case CallEvent::alerting:
                case CallEvent::answered:
                case CallEvent::incoming_manual:
                case CallEvent::incoming_auto:
                case CallEvent::user_accept:
                case CallEvent::user_reject:
                case CallEvent::remote_release:
                case CallEvent::suspend:
                    return std::nullopt;
            }
            return std::nullopt;
        case CallState::released:
            return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace mcx::client
