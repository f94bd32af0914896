#pragma once
// The MC service client (TS 23.280 functional model: MC service client + IdM client) for one
// user: logs in at the IdMS, registers with service authorisation, makes and receives
// on-network private calls with media. Runs on the EventLoop thread, except login().

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client/call_state.hpp"
#include "client/client_config.hpp"
#include "client/floor_participant.hpp"
#include "common/error.hpp"
#include "net/event_loop.hpp"
#include "net/invite_dialog.hpp"
#include "net/registration_client.hpp"
#include "net/rtp_session.hpp"
#include "net/sip_stack.hpp"
#include "net/timer.hpp"
#include "net/udp_socket.hpp"
#include "proto/sdp.hpp"

namespace mcx::client {

using CallId = std::uint32_t;

enum class Commencement { automatic, manual };

struct CallOptions {
    Commencement commencement = Commencement::automatic;
    bool floor_control = true;  // false: a private call without floor control (TS 24.379 11.1.2)
};

enum class ClientEventType {
    registered,
    registration_failed,
    unregistered,
    calling,   // our INVITE is on its way
    ringing,   // the callee is being alerted
    incoming,  // a call waits for our user's accept/reject (manual commencement)
    connected,
    released,
    floor_granted,  // TS 24.380 floor notices, see FloorNotice
    floor_denied,
    floor_taken,
    floor_idle,
    floor_revoked,
    floor_queued,
    floor_request_timeout,
    speech_finished,  // --speak: the whole file was sent (the floor is released next)
};

const char* to_string(ClientEventType type);

struct ClientEvent {
    ClientEventType type;
    CallId call = 0;
    std::string peer;
    std::uint16_t status = 0;              // SIP status behind a refusal
    std::optional<std::uint16_t> warning;  // 3GPP warning code (TS 24.379 4.4)
    std::string reason;                    // human-readable
    std::string by;                        // released: "local" or "remote"
    std::string talker;                    // floor-taken: who has the floor
    std::uint16_t cause = 0;               // floor-denied / floor-revoked: reject cause
    std::uint8_t position = 0;             // floor-queued: position in the queue
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
};

class McClient {
  public:
    using Observer = std::function<void(const ClientEvent&)>;

    McClient(net::EventLoop& loop, ClientConfig config, Observer observer);
    ~McClient();
    McClient(const McClient&) = delete;
    McClient& operator=(const McClient&) = delete;

    // Opens the SIP stack (loop thread).
    Result<void> open();
    // OAuth 2.0 password grant at the IdMS (blocking HTTP; docs/identity.md). Any thread.
    // `audience`: a token for another MC system (e.g. a partner to migrate to); empty: ours.
    Result<void> login(const std::string& audience = {});
    void set_access_token(std::string token) { access_token_ = std::move(token); }
    const std::string& access_token() const { return access_token_; }
    Result<void> start_registration();
    void unregister();
    bool registered() const { return registered_; }

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
    struct Call;
    bool on_request(const net::SipMessage& msg);
    void on_incoming_invite(const net::SipMessage& msg);
    void on_dialog_event(CallId id, net::DialogEvent event, const net::SipMessage* msg);
    Result<void> open_media(Call& call);
    proto::SessionDescription local_sdp(const Call& call,
                                        const proto::SessionDescription* offer) const;
    void apply_remote_sdp(Call& call, const proto::SessionDescription& sd);
    bool transition(Call& call, CallEvent event);
    void release(CallId id, ClientEvent event);
    void emit(const ClientEvent& event) {
        if (observer_) observer_(event);
    }
    void on_floor_packet(CallId id, std::span<const std::uint8_t> packet);
    Result<void> check_may_talk(Call& call) const;
    void start_pacing(Call& call);
    void pace(CallId id);
    void on_rtp(CallId id, const net::RtpPacket& packet);
    void write_recording();
    void apply_floor(Call& call, FloorParticipant::Effects effects);
    Call* find(CallId id);
    std::uint32_t active_calls() const;

    net::EventLoop& loop_;
    ClientConfig config_;
    Observer observer_;
    std::string access_token_;
    std::unique_ptr<net::SipStack> sip_;
    std::unique_ptr<net::RegistrationClient> registration_;
    bool registered_ = false;
    std::map<CallId, std::unique_ptr<Call>> calls_;
    CallId next_call_id_ = 1;
    std::vector<std::vector<std::uint8_t>> speech_;  // --speak: AMR-WB payloads of the file
    std::vector<std::int16_t> recorded_;             // --record: all speech received
    MediaObserver media_observer_;
};

}  // namespace mcx::client
