#pragma once
// Migration of an MC service client to another MC system during ongoing private calls
// (TS 23.280 10.16.3, the change request in shared/seed): release each call and keep it
// suspended (step 1), authenticate, register and retrieve the profile valid in the target
// system (step 2, 10.1.4.3.2), re-initiate a private call to every suspended peer under the new
// profile's restrictions (step 3, NOTE 2), and tell the user the outcome of each call.
//
// Pure: events in, effects out (as FloorParticipant). No sockets, no clock: timers are
// commands with generations, and the glue (McClient) stamps the notices with the time.
// Every state change is a row of kMigrationTransitions, which migration_manager.dot draws
// (tests/unit/migration_manager_test.cpp keeps the two in sync). States and the prepared
// order are [mcx-defined] (docs/migration.md).

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fsm_timer.hpp"
#include "common/ids.hpp"
#include "proto/user_profile.hpp"

namespace mcx::client {

using CallId = std::uint32_t;

// The MC services whose private calls migrate (10.16.3.1 NOTE: MCPTT and MCVideo).
enum class McService { mcptt, mcvideo };
const char* to_string(McService service);

enum class MigrationTrigger { manual, automatic };
// literal: the seed's order (release, then authenticate/register/profile, then resume);
// prepared: step 2 while the calls still run, then release and resume at once. [mcx-defined]
enum class MigrationOrder { literal, prepared };
const char* to_string(MigrationTrigger trigger);
const char* to_string(MigrationOrder order);

enum class MigrationState {
    serving,             // served by one MC system; no migration under way
    releasing,           // step 1: BYEs sent, waiting for their answers
    suspended,           // every call suspended; the UE moves to the target system
    authenticating,      // step 2: IdMS of the target (TS 33.180 5.1.4.2)
    registering,         // step 2: REGISTER with service authorisation in the target
    retrieving_profile,  // step 2: CMS of the target (TS 23.280 10.1.4.3.2)
    resuming,            // step 3: new private calls to the suspended peers
};
inline constexpr std::array kMigrationStates{
    MigrationState::serving,        MigrationState::releasing,   MigrationState::suspended,
    MigrationState::authenticating, MigrationState::registering, MigrationState::retrieving_profile,
    MigrationState::resuming};

enum class MigrationEvent {
    start,                  // the user or the UE asks to migrate
    call_released,          // a call's BYE was answered (or it was released locally)
    release_timeout,        // not every BYE was answered in time: go on
    moved,                  // the UE reached the target system's network
    authenticated,          // the target IdMS issued a token
    authentication_failed,  // refused, or the IdMS could not be reached
    registered,
    registration_failed,
    profile_retrieved,
    profile_failed,
    step_timeout,  // authenticating, registering or retrieving the profile took too long
    call_resumed,
    call_resume_failed,
    retry_timer,     // resume attempts that may be retried are sent again
    resume_timeout,  // calls not resumed by now fail
};
inline constexpr std::array kMigrationEvents{MigrationEvent::start,
                                             MigrationEvent::call_released,
                                             MigrationEvent::release_timeout,
                                             MigrationEvent::moved,
                                             MigrationEvent::authenticated,
                                             MigrationEvent::authentication_failed,
                                             MigrationEvent::registered,
                                             MigrationEvent::registration_failed,
                                             MigrationEvent::profile_retrieved,
                                             MigrationEvent::profile_failed,
                                             MigrationEvent::step_timeout,
                                             MigrationEvent::call_resumed,
                                             MigrationEvent::call_resume_failed,
                                             MigrationEvent::retry_timer,
                                             MigrationEvent::resume_timeout};

const char* to_string(MigrationState state);
const char* to_string(MigrationEvent event);

// One row per allowed state change; `label` is the edge label of migration_manager.dot
// ("event [guard] / action").
struct MigrationTransition {
    MigrationState from;
    MigrationEvent event;
    MigrationState to;
    std::string_view label;
};
inline constexpr std::array kMigrationTransitions{
    // Start: literal order releases first, prepared order does step 2 first.
    MigrationTransition{MigrationState::serving, MigrationEvent::start, MigrationState::releasing,
                        "start [literal] / release calls"},
    MigrationTransition{MigrationState::serving, MigrationEvent::start, MigrationState::suspended,
                        "start [literal, no call to release] / move"},
    MigrationTransition{MigrationState::serving, MigrationEvent::start,
                        MigrationState::authenticating, "start [prepared] / authenticate"},
    MigrationTransition{MigrationState::serving, MigrationEvent::start, MigrationState::releasing,
                        "start [standby ready] / release calls"},
    MigrationTransition{MigrationState::serving, MigrationEvent::start, MigrationState::serving,
                        "start [standby ready, no call] / switch"},
    MigrationTransition{MigrationState::serving, MigrationEvent::start, MigrationState::resuming,
                        "start [standby ready, nothing to release] / resume calls"},
    // Step 1.
    MigrationTransition{MigrationState::releasing, MigrationEvent::call_released,
                        MigrationState::releasing, "call-released [more left, literal]"},
    // Prepared: each call is re-initiated as soon as it is released (no call waits for
    // another's release); its outcome may come before the last release.
    MigrationTransition{MigrationState::releasing, MigrationEvent::call_released,
                        MigrationState::releasing,
                        "call-released [more left, prepared] / resume that call"},
    MigrationTransition{MigrationState::releasing, MigrationEvent::call_resumed,
                        MigrationState::releasing, "call-resumed [prepared] / tell"},
    MigrationTransition{MigrationState::releasing, MigrationEvent::call_resume_failed,
                        MigrationState::releasing, "call-resume-failed [prepared] / tell or retry"},
    MigrationTransition{MigrationState::releasing, MigrationEvent::retry_timer,
                        MigrationState::releasing, "retry-timer [prepared] / resume again"},
    MigrationTransition{MigrationState::releasing, MigrationEvent::call_released,
                        MigrationState::suspended, "call-released [last, literal] / move"},
    MigrationTransition{MigrationState::releasing, MigrationEvent::call_released,
                        MigrationState::resuming, "call-released [last, prepared] / resume calls"},
    MigrationTransition{MigrationState::releasing, MigrationEvent::release_timeout,
                        MigrationState::suspended, "release-timeout [literal] / move"},
    MigrationTransition{MigrationState::releasing, MigrationEvent::release_timeout,
                        MigrationState::resuming, "release-timeout [prepared] / resume calls"},
    MigrationTransition{MigrationState::suspended, MigrationEvent::moved,
                        MigrationState::authenticating, "moved / authenticate"},
    // Step 2.
    MigrationTransition{MigrationState::authenticating, MigrationEvent::authenticated,
                        MigrationState::registering, "authenticated / register"},
    // A target that cannot serve: in the literal order (calls suspended) the next one is tried.
    MigrationTransition{MigrationState::authenticating, MigrationEvent::authentication_failed,
                        MigrationState::suspended, "authentication-failed [next target] / move"},
    MigrationTransition{MigrationState::authenticating, MigrationEvent::authentication_failed,
                        MigrationState::serving, "authentication-failed [last target] / fail"},
    MigrationTransition{MigrationState::authenticating, MigrationEvent::step_timeout,
                        MigrationState::suspended, "step-timeout [next target] / move"},
    MigrationTransition{MigrationState::authenticating, MigrationEvent::step_timeout,
                        MigrationState::serving, "step-timeout [last target] / fail"},
    MigrationTransition{MigrationState::registering, MigrationEvent::registered,
                        MigrationState::retrieving_profile, "registered / retrieve profile"},
    MigrationTransition{MigrationState::registering, MigrationEvent::registration_failed,
                        MigrationState::suspended, "registration-failed [next target] / move"},
    MigrationTransition{MigrationState::registering, MigrationEvent::registration_failed,
                        MigrationState::serving, "registration-failed [last target] / fail"},
    MigrationTransition{MigrationState::registering, MigrationEvent::step_timeout,
                        MigrationState::suspended, "step-timeout [next target] / move"},
    MigrationTransition{MigrationState::registering, MigrationEvent::step_timeout,
                        MigrationState::serving, "step-timeout [last target] / fail"},
    MigrationTransition{MigrationState::retrieving_profile, MigrationEvent::profile_retrieved,
                        MigrationState::resuming, "profile-retrieved [literal] / resume calls"},
    MigrationTransition{MigrationState::retrieving_profile, MigrationEvent::profile_retrieved,
                        MigrationState::releasing, "profile-retrieved [prepared] / release calls"},
    MigrationTransition{MigrationState::retrieving_profile, MigrationEvent::profile_retrieved,
                        MigrationState::resuming,
                        "profile-retrieved [prepared, nothing to release] / resume calls"},
    MigrationTransition{MigrationState::retrieving_profile, MigrationEvent::profile_retrieved,
                        MigrationState::serving, "profile-retrieved [nothing to resume] / done"},
    MigrationTransition{MigrationState::retrieving_profile, MigrationEvent::profile_failed,
                        MigrationState::serving, "profile-failed / fail"},
    MigrationTransition{MigrationState::retrieving_profile, MigrationEvent::step_timeout,
                        MigrationState::serving, "step-timeout / fail"},
    // Step 3.
    MigrationTransition{MigrationState::resuming, MigrationEvent::call_resumed,
                        MigrationState::resuming, "call-resumed [more left] / tell"},
    MigrationTransition{MigrationState::resuming, MigrationEvent::call_resumed,
                        MigrationState::serving, "call-resumed [last] / done"},
    MigrationTransition{MigrationState::resuming, MigrationEvent::call_resume_failed,
                        MigrationState::resuming, "call-resume-failed [more left] / tell or retry"},
    MigrationTransition{MigrationState::resuming, MigrationEvent::call_resume_failed,
                        MigrationState::serving, "call-resume-failed [last] / tell, done"},
    MigrationTransition{MigrationState::resuming, MigrationEvent::retry_timer,
                        MigrationState::resuming, "retry-timer / resume calls again"},
    MigrationTransition{MigrationState::resuming, MigrationEvent::resume_timeout,
                        MigrationState::serving, "resume-timeout / fail the rest, done"},
};

struct MigrationTimers {
    std::chrono::milliseconds release{2000};  // BYE answers
    std::chrono::milliseconds step{5000};     // each of authenticate, register, profile
    std::chrono::milliseconds resume{20000};  // every call resumed by then, or failed
    std::chrono::milliseconds retry{500};     // between resume attempts of one call
};

// What the manager needs to know of one call to migrate.
struct MigratingCall {
    CallId id = 0;
    McServiceId peer;  // where the resume INVITE goes
    McService service = McService::mcptt;
    bool connected = true;  // false: still being set up (released with CANCEL)
    // Suspended already (the peer migrated first, and we resume as the original caller).
    bool already_suspended = false;
};

struct MigrationRequest {
    std::string from;                  // the MC system serving now
    std::vector<std::string> targets;  // in order: the next is tried when one cannot serve
    MigrationTrigger trigger = MigrationTrigger::manual;
    MigrationOrder order = MigrationOrder::literal;
    // The serving system is gone: calls are suspended locally (no BYE can be answered).
    bool serving_lost = false;
    // Prepared standby: token, registration and profile in targets[0] already exist.
    bool standby_ready = false;
    std::vector<MigratingCall> calls;
};

enum class MigrationStep { release, authenticate, register_, retrieve_profile, resume };
inline constexpr std::array kMigrationSteps{MigrationStep::release, MigrationStep::authenticate,
                                            MigrationStep::register_,
                                            MigrationStep::retrieve_profile, MigrationStep::resume};
const char* to_string(MigrationStep step);  // "release", "authenticate", "register", ...

// How one call's migration ended.
struct CallOutcome {
    CallId id = 0;
    bool resumed = false;
    std::uint16_t status = 0;              // SIP status of a refused resume
    std::optional<std::uint16_t> warning;  // 3GPP warning code (TS 24.379 4.4)
    std::string reason;                    // "restricted: ...", "486 Busy Here: ...", ...
};

struct MigrationNotice {
    // target_refused: that target cannot serve, the next one is tried.
    enum class Kind {
        step_started,
        step_finished,
        call_resumed,
        call_failed,
        target_refused,
        migrated,
        failed
    };
    Kind kind;
    MigrationStep step = MigrationStep::release;
    CallOutcome call;
    std::string system;  // migrated / failed: the target; step_*: the system it concerns
    std::string reason;  // failed: why
};

enum class MigrationTimer { release, step, resume, retry };

struct MigrationEffects {
    std::vector<CallId> release;   // BYE with Reason "suspended for migration"; keep suspended
    bool release_locally = false;  // serving system lost: suspend without waiting for answers
    std::optional<std::string> move_to;           // reach the target's network, then `moved`
    std::optional<std::string> authenticate;      // at the target's IdMS
    std::optional<std::string> register_in;       // REGISTER in the target
    std::optional<std::string> retrieve_profile;  // from the target's CMS
    std::optional<std::string> serve_from;        // requests now go through this system
    std::vector<CallId> resume;                   // new private call to the peer
    std::vector<CallOutcome> end;                 // calls that end (failed), with why
    std::vector<std::string> unregister_from;     // REGISTER Expires: 0 there
    std::vector<TimerCommand<MigrationTimer>> timers;
    std::vector<MigrationNotice> notices;
};

class MigrationManager {
  public:
    using Timer = MigrationTimer;
    static constexpr std::size_t kTimers = 4;

    explicit MigrationManager(MigrationTimers timers = {}) : timers_(timers) {}

    // Refused (counted, no effect) unless serving and the request names a target other than
    // the serving system.
    MigrationEffects start(MigrationRequest request);
    MigrationEffects on_call_released(CallId id);
    MigrationEffects on_moved();
    // The token of the target is in the glue's hands; the manager only needs to know.
    MigrationEffects on_authenticated();
    MigrationEffects on_authentication_failed(const std::string& reason, bool unreachable);
    MigrationEffects on_registered();
    MigrationEffects on_registration_failed(const std::string& reason, bool unreachable);
    // The profile valid in the target decides which calls may be re-initiated (NOTE 2).
    MigrationEffects on_profile(const proto::UserProfile& profile);
    MigrationEffects on_profile_failed(const std::string& reason);
    MigrationEffects on_call_resumed(CallId id);
    // `status` 0: no response. 404/408/480/486/5xx and no response may be retried until the
    // resume timer; 491: the peer resumes this call itself (glare, docs/migration.md).
    MigrationEffects on_call_resume_failed(CallId id, std::uint16_t status,
                                           std::optional<std::uint16_t> warning,
                                           const std::string& reason);
    MigrationEffects on_timer(Timer timer, std::uint64_t generation);

    MigrationState state() const { return state_; }
    bool active() const { return state_ != MigrationState::serving; }
    // The system being migrated to (the current candidate), empty when not migrating.
    const std::string& target() const { return target_; }
    const MigrationRequest& request() const { return request_; }
    // Events refused in the state they arrived in, and state changes missing from the table
    // (always 0 unless the code and kMigrationTransitions disagree).
    std::uint64_t refused_events() const { return refused_; }
    std::uint64_t untabled_transitions() const { return untabled_; }
    // Which rows of kMigrationTransitions this manager has taken (tests: every row driven).
    const std::array<bool, kMigrationTransitions.size()>& taken() const { return taken_; }
    // Calls that yielded to the peer's own resume (glare): they wait for its INVITE.
    const std::vector<CallId>& yielded() const { return yielded_; }

  private:
    struct Tracked {
        MigratingCall call;
        bool released = false;
        bool pending = true;  // not yet resumed nor failed
        bool resume_sent = false;
        bool retrying = false;  // waits for the retry timer
    };

    // Moves to `to` by the row of kMigrationTransitions with this guard ("" for none).
    void transition(MigrationState to, MigrationEvent event, std::string_view guard);
    MigrationEffects refuse(MigrationEvent event);
    void begin_step(MigrationStep step, MigrationEffects& effects);
    void end_step(MigrationStep step, MigrationEffects& effects);
    void release_calls(MigrationEffects& effects);
    void resume_calls(MigrationEffects& effects);
    void resume_one(Tracked& call, MigrationEffects& effects);
    bool early_resume(const Tracked* call) const;
    void after_release(MigrationEvent event, MigrationEffects& effects);
    void target_failed(MigrationEvent event, const std::string& reason, bool unreachable,
                       MigrationEffects& effects);
    void fail(MigrationEvent event, const std::string& reason, MigrationEffects& effects);
    void cancel_timers(MigrationEffects& effects);
    void finish_call(Tracked& call, CallOutcome outcome, MigrationEffects& effects);
    void maybe_done(MigrationEvent event, MigrationEffects& effects);
    void done(MigrationEvent event, MigrationEffects& effects);
    Tracked* find(CallId id);
    std::size_t pending_calls() const;

    MigrationTimers timers_;
    MigrationState state_ = MigrationState::serving;
    MigrationRequest request_;
    std::size_t target_index_ = 0;
    std::string target_;
    std::vector<Tracked> calls_;
    std::vector<CallId> yielded_;
    bool target_registered_ = false;
    bool resume_timer_running_ = false;
    std::uint64_t refused_ = 0;
    std::uint64_t untabled_ = 0;
    std::array<bool, kMigrationTransitions.size()> taken_{};
    TimerGenerations<Timer, kTimers> generations_;
};

// NOTE 3: what the client does with a private call request that arrives while one of its
// calls is suspended and not resumed yet. [mcx-defined] default reject.
enum class IncomingDuringResume { reject, accept };

struct IncomingDecision {
    bool accept = true;
    std::uint16_t status = 0;  // when refused: 486 Busy Here
    std::string reason;
    std::string warning_detail;  // text after "100 function not allowed due to "
};
// `suspended`: calls of ours suspended and not resumed yet; `resumes_ours`: the request is the
// resume of one of them (it is always taken).
IncomingDecision decide_incoming(std::size_t suspended, bool resumes_ours,
                                 IncomingDuringResume policy);

// Glare (both ends migrate and both re-initiate the call): the resume sent by the call's
// original caller wins; the original callee answers the caller's resume and drops its own,
// the caller refuses the callee's resume with 491. [mcx-defined] docs/migration.md
enum class GlareResolution { keep_own_resume, take_peer_resume };
GlareResolution resolve_glare(bool we_originated_the_call);

// An incoming resume of one of our calls, against our own resume of that call, if any.
enum class OwnResume { none, pending, answered };
enum class IncomingResume {
    take,               // no resume of ours competes: answer it
    take_dropping_own,  // glare, the peer is the original caller: drop ours, answer it
    refuse_own_wins,    // glare, we are the original caller: 491
    refuse_crossed,     // ours was answered and this one crossed it on another path: 491
};
// `names_reached_peer`: the resume's previous ID is the one our call reaches now, so the peer
// migrated again after our resume; otherwise it left before ours arrived. [mcx-defined]
IncomingResume decide_incoming_resume(OwnResume own, bool we_originated_the_call,
                                      bool names_reached_peer);

}  // namespace mcx::client
