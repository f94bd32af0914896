#pragma once
// The MC service client for one user (TS 23.280 functional model: MC service client, IdM
// client, configuration management client): signs in at its primary MC system, registers with
// service authorisation, retrieves its profile, makes and receives on-network private calls
// with floor control and voice, and migrates to another MC system during ongoing private calls
// (TS 23.280 10.16.3) with the MigrationManager. Runs on the EventLoop thread.
//
// Who owns what (docs/architecture.md): McClient owns the ServingSystems (one per MC system it
// is registered in), the CallRecords (each with its current CallLeg: dialog, MediaStream,
// FloorLink), the MigrationManager and the IdM/CM clients (HTTP off the loop).

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client/call_record.hpp"
#include "client/client_config.hpp"
#include "client/cm_client.hpp"
#include "client/idm_client.hpp"
#include "client/migration_manager.hpp"
#include "client/serving_system.hpp"
#include "common/error.hpp"
#include "net/event_loop.hpp"
#include "net/http_worker.hpp"
#include "net/options_probe.hpp"
#include "net/rtp_session.hpp"
#include "net/sip_stack.hpp"
#include "net/timer.hpp"
#include "proto/mcptt_info.hpp"
#include "proto/sdp.hpp"

namespace mcx::client {

struct CallOptions {
    Commencement commencement = Commencement::automatic;
    bool floor_control = true;  // false: a private call without floor control (TS 24.379 11.1.2)
};

enum class ClientEventType {
    signed_in,  // a token from an IdMS
    login_failed,
    registered,
    registration_failed,
    unregistered,
    logged_out,      // logout: unregistered everywhere and each token revoked (reason: how)
    profile,         // the user profile valid in the serving system was retrieved
    profile_failed,  //
    calling,         // our INVITE is on its way
    ringing,         // the callee is being alerted
    incoming,        // a call waits for our user's accept/reject (manual commencement)
    connected,
    released,
    suspended,           // a call is suspended for migration (ours or the peer's)
    call_resumed,        // a suspended call continues in the new MC system
    call_resume_failed,  // ... could not (status, warning, reason)
    migration_step,      // a step of 10.16.3 finished (step, duration)
    migrated,            // the migration is over: from, to, new ID, order, steps
    migration_failed,    // ... failed: the old system serves (if it still can)
    serving_lost,        // the serving system stopped answering
    standby_ready,       // prepared: token, registration and profile kept in a partner
    floor_granted,       // TS 24.380 floor notices, see FloorNotice
    floor_denied,
    floor_taken,
    floor_idle,
    floor_revoked,
    floor_queued,
    floor_request_timeout,
    speech_finished,  // --speak: the whole file was sent (the floor is released next)
};

const char* to_string(ClientEventType type);

struct MigratedCall {
    CallId call = 0;
    std::string peer;
    McService service = McService::mcptt;
    bool resumed = false;
    std::string reason;
};

struct ClientEvent {
    ClientEventType type = ClientEventType::registered;
    CallId call = 0;
    std::string peer;
    std::uint16_t status = 0;              // SIP status behind a refusal
    std::optional<std::uint16_t> warning;  // 3GPP warning code (TS 24.379 4.4)
    std::string reason;                    // human-readable
    std::string by;                        // released/suspended: "local" or "remote"
    std::string talker;                    // floor-taken: who has the floor
    std::uint16_t cause = 0;               // floor-denied / floor-revoked: reject cause
    std::uint8_t position = 0;             // floor-queued: position in the queue
    std::string system;                    // the MC system the event concerns
    std::string mc_service_id;             // registered/migrated: the ID in use there
    // Migration: from, to, order, trigger, each step's duration, each call's outcome.
    std::string from;
    std::string to;
    std::string order;
    std::string trigger;
    std::string step;
    std::int64_t duration_ms = -1;
    std::vector<std::pair<std::string, std::int64_t>> steps_ms;
    std::vector<MigratedCall> calls;
};

struct CallInfo {
    CallId id;
    std::string peer;
    CallState state;
    bool originated;
    std::uint64_t rtp_sent;
    std::uint64_t rtp_received;
    bool floor_control;
    std::string floor_state;  // TS 24.380 participant state, e.g. "U: has permission"
    std::string system;       // the MC system the current leg runs through
};

class McClient {
  public:
    using Observer = std::function<void(const ClientEvent&)>;

    McClient(net::EventLoop& loop, ClientConfig config, Observer observer);
    ~McClient();
    McClient(const McClient&) = delete;
    McClient& operator=(const McClient&) = delete;

    // Opens the SIP stack and reads the speech file (loop thread).
    Result<void> open();
    // Signs in at the primary IdMS, registers there and retrieves the profile; events say how
    // far it got (signed-in, registered, profile, or the matching failures).
    void start();
    // Hangs up every call, unregisters everywhere; `done` runs when the last REGISTER was
    // answered (or after a short wait).
    void stop(std::function<void()> done = {});
    // Logout: hangs up every call, unregisters everywhere (REGISTER Expires: 0), then revokes
    // the token of each system at its IdMS (RFC 7009) and says `logged-out`. The client then
    // serves nothing until it is started again.
    void logout();
    // A token obtained elsewhere (mcx token, tests): start() then skips the IdMS login.
    void set_access_token(std::string token) { preset_token_ = std::move(token); }

    // The serving MC system (null before start()).
    const ServingSystem* serving() const;
    bool registered() const;
    const McServiceId& mc_service_id() const;  // in the serving system

    Result<CallId> call(const McServiceId& peer, CallOptions options = {});
    Result<void> accept(CallId id);
    Result<void> reject(CallId id);
    Result<void> hangup(CallId id);
    // Floor control (TS 24.380 6.2): press to talk, release to stop.
    Result<void> press(CallId id);
    Result<void> release_floor(CallId id);
    // Sends the speech file (--speak) as AMR-WB RTP, then releases the floor.
    Result<void> speak(CallId id);
    // Sends `count` RTP packets (AMR-WB NO_DATA frames) every 20 ms towards the peer.
    Result<void> send_rtp(CallId id, unsigned count);
    // Writes the speech received so far to the current recording file and records into `path`
    // from now on (also written at every release and when the client stops).
    Result<void> record_to(const std::string& path);

    // TS 23.280 10.16.3, manual trigger: migrate to `system` (an MC system of the configuration
    // that the profile allows, or the primary).
    Result<void> migrate(const std::string& system, MigrationOrder order = MigrationOrder::literal);
    MigrationState migration_state() const { return migration_.state(); }
    const MigrationManager& migration() const { return migration_; }

    // Measurement hooks (bench): send one RTP payload now, and see every RTP packet received.
    // Returns the RTP timestamp the payload went out with.
    Result<std::uint32_t> send_payload(CallId id, std::span<const std::uint8_t> payload,
                                       bool marker);
    using MediaObserver = std::function<void(CallId, const net::RtpPacket&)>;
    void set_media_observer(MediaObserver observer) { media_observer_ = std::move(observer); }

    std::vector<CallInfo> calls() const;
    const ClientConfig& config() const { return config_; }
    net::SipStack* sip() { return sip_.get(); }

  private:
    void wind_down();
    // Sign-in, registration, profile (mc_client.cpp).
    ServingSystem& system_for(const std::string& id);
    ServingSystem* find_system(const std::string& id);
    void on_primary_token(Result<TokenGrant> grant);
    Result<void> register_in(ServingSystem& system, std::function<void(bool, std::string)> then);
    void on_registration_event(const std::string& system_id, net::RegistrationEvent event,
                               const net::SipMessage* response);
    void retrieve_profile(ServingSystem& system,
                          std::function<void(Result<proto::UserProfile>)> then);
    void emit(const ClientEvent& event);
    void await_unregistered();  // logout: the REGISTERs with Expires: 0 answered (or 2 s)
    void revoke_tokens();       // logout, once the REGISTERs with Expires: 0 were answered
    ClientEvent event(ClientEventType type, const CallRecord* record = nullptr) const;

    // Call signalling (call_signalling.cpp).
    bool on_request(const net::SipMessage& msg);
    void on_incoming_invite(const net::SipMessage& msg);
    Result<std::unique_ptr<CallLeg>> open_leg(CallRecord& record, const ServingSystem& system);
    Result<void> send_invite(CallRecord& record, bool resume);
    void take_incoming(CallRecord& record, std::unique_ptr<CallLeg> leg, const net::SipMessage& msg,
                       const proto::McpttInfo& info, bool resume);
    proto::SessionDescription local_sdp(const CallRecord& record, const CallLeg& leg,
                                        const proto::SessionDescription* offer) const;
    void apply_remote_sdp(CallLeg& leg, const proto::SessionDescription& sd);
    void on_dialog_event(CallId id, std::uint64_t leg, net::DialogEvent event,
                         const net::SipMessage* msg);
    void on_resume_answer(CallRecord& record, const net::SipMessage* msg);
    bool transition(CallRecord& record, CallEvent event);
    // Ends the record for good: tells the user with `released`.
    void release(CallId id, ReleaseReason why, ClientEvent event);
    // Ends the current leg (its dialog must be finished or handed a BYE); the record stays.
    void drop_leg(CallRecord& record);
    void on_floor_notice(CallId id, const FloorParticipant::Notice& notice);
    Result<void> check_may_talk(CallRecord& record) const;
    void start_floor(CallRecord& record, bool implicit_request);
    void write_recording();
    CallRecord* find(CallId id);
    std::uint32_t active_calls() const;

    // Migration glue (mc_client_migration.cpp).
    void apply(MigrationEffects effects);
    void start_migration(MigrationRequest request);
    void suspend_for_migration(CallRecord& record, bool locally);
    void suspend_now(CallRecord& record, bool locally);
    void on_peer_suspended(CallRecord& record, const net::SipMessage* bye);
    void start_resume_guard(CallRecord& record);
    void resume_call(CallId id);
    void end_migrating_call(const CallOutcome& outcome);
    CallRecord* suspended_call_resumed_by(const proto::McpttInfo& info, const McServiceId& caller);
    std::size_t unresumed_calls() const;
    void start_keepalive();
    void probe_serving();
    void on_serving_lost(const std::string& why);
    void probe_home();
    std::vector<std::string> automatic_targets(const std::string& lost) const;
    void establish_standby();
    bool profile_allows(const std::string& system) const;
    McServiceId resume_target(const CallRecord& record) const;

    net::EventLoop& loop_;
    ClientConfig config_;
    Observer observer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::unique_ptr<net::SipStack> sip_;
    std::unique_ptr<net::HttpWorker> http_;
    std::unique_ptr<IdmClient> idm_;
    std::unique_ptr<CmClient> cmc_;
    std::string preset_token_;
    std::string primary_token_;  // issued by the primary IdMS; presented to partners
    std::map<std::string, std::unique_ptr<ServingSystem>> systems_;
    std::string serving_;  // ID of the serving system
    std::map<CallId, std::unique_ptr<CallRecord>> calls_;
    CallId next_call_id_ = 1;
    std::uint64_t next_leg_serial_ = 1;
    std::vector<std::vector<std::uint8_t>> speech_;  // --speak: AMR-WB payloads of the file
    std::vector<std::int16_t> recorded_;             // --record: all speech received
    MediaObserver media_observer_;

    MigrationManager migration_;
    std::array<net::Timer, MigrationManager::kTimers> migration_timers_;
    std::map<std::string, std::uint64_t> step_started_ms_;
    std::vector<std::pair<std::string, std::int64_t>> steps_ms_;
    std::uint64_t migration_started_ms_ = 0;
    std::vector<MigratedCall> migrated_calls_;
    std::function<void()> on_target_registered_;  // the pending register step
    // Keep-alive of the serving system (automatic trigger) and of home (return_home).
    net::Timer keepalive_timer_;
    std::unique_ptr<net::OptionsProbe> keepalive_probe_;
    std::uint64_t last_answer_ms_ = 0;
    bool home_lost_ = false;
    std::string standby_;  // the partner holding a prepared standby ([migration] prepare)
    net::Timer standby_timer_;
    net::Timer attach_timer_;
    std::unique_ptr<net::OptionsProbe> home_probe_;
    net::Timer home_timer_;
    net::Timer stop_timer_;
    bool stopping_ = false;
    net::Timer logout_timer_;
    int logout_waits_ = 0;
    std::vector<std::pair<std::string, std::string>> logout_tokens_;  // IdMS URL, token
};

}  // namespace mcx::client
