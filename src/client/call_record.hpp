#pragma once
// A private call as the client keeps it: the lasting CallRecord (peer, service, commencement,
// floor, who held the floor, media format, state history) and the CallLeg that carries it in
// one MC system (dialog, RTP, floor control). A record outlives its leg: released for
// migration it stays suspended and gets a new leg in the next system (TS 23.280 10.16.3).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/call_state.hpp"
#include "client/floor_link.hpp"
#include "client/media_stream.hpp"
#include "client/migration_manager.hpp"
#include "common/ids.hpp"
#include "net/invite_dialog.hpp"
#include "net/timer.hpp"
#include "proto/sdp.hpp"

namespace mcx::client {

enum class Commencement { automatic, manual };

// Why a call (or its leg) ended; told to the user and logged.
enum class ReleaseReason {
    hung_up,                  // our user
    peer_hung_up,             // BYE from the peer
    rejected,                 // our user rejected it
    refused,                  // a final non-2xx to our INVITE
    cancelled,                // the caller cancelled before we answered
    no_ack,                   // our 2xx was never acknowledged
    unusable_answer,          // the answer had no usable SDP
    suspended_for_migration,  // we migrate (10.16.3 step 1): the record stays suspended
    peer_migrating,           // the peer migrates: the record stays suspended for its resume
    not_resumed,              // suspended, not resumed in time
    resume_failed,            // our resume could not be made (restricted, refused, ...)
    serving_system_lost,      // the MC system serving the leg is gone
    shutdown,                 // the client stops
};
const char* to_string(ReleaseReason reason);

enum class FloorHolder { nobody, us, peer };

struct StateChange {
    CallState state;
    CallEvent event;
    std::uint64_t at_ms;  // monotonic
};

// The call in one MC system.
struct CallLeg {
    std::uint64_t serial = 0;  // events of a dialog that is no longer the call's are ignored
    std::string system;        // ID of the MC system the leg runs through
    McServiceId own_id;        // our MC service ID in that system
    std::unique_ptr<net::InviteDialog> dialog;
    std::unique_ptr<MediaStream> media;
    std::unique_ptr<FloorLink> floor;  // when floor control was asked for or negotiated
    proto::SessionDescription offer;   // incoming legs: what the server offered
    bool resume = false;               // this leg re-initiates a suspended call
};

struct CallRecord {
    CallId id = 0;
    McServiceId peer;                         // as the peer is known in the current leg
    std::optional<McServiceId> peer_primary;  // attested by the MC system (mcx:primary-id)
    McService service = McService::mcptt;
    Commencement commencement = Commencement::automatic;
    bool floor_control = true;  // asked for (our offer) or negotiated
    bool originated = false;    // we made the original call (the glare rule needs it)
    FloorHolder floor_holder = FloorHolder::nobody;
    std::string call_ref;  // end-to-end reference (mcx:call-ref), both ends know it
    proto::SdpFormat audio_format;
    CallState state = CallState::idle;
    std::vector<StateChange> history;
    std::optional<ReleaseReason> suspended_because;
    std::uint64_t rtp_sent = 0;      // of earlier legs
    std::uint64_t rtp_received = 0;  // of earlier legs
    std::unique_ptr<CallLeg> leg;
    McServiceId last_own_id;  // our MC service ID in the last leg (a resume names it)
    net::Timer resume_guard;  // suspended by the peer: ends if not resumed in time
};

}  // namespace mcx::client
