#include "client/mc_client.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <deque>
#include <nlohmann/json.hpp>

#include "media/amr_wb.hpp"
#include "media/wav.hpp"
#include "net/http.hpp"
#include "net/sdp_codec.hpp"
#include "proto/content_type.hpp"
#include "proto/floor_message.hpp"
#include "proto/mcptt_fmtp.hpp"
#include "proto/mcptt_info.hpp"
#include "proto/mcptt_sip.hpp"
#include "proto/multipart.hpp"
#include "proto/resource_lists.hpp"
#include "proto/warning.hpp"

namespace mcx::client {

namespace {

constexpr std::uint8_t kAmrWbPayloadType = 96;
constexpr std::uint32_t kSamplesPer20ms = 320;  // 16 kHz clock

std::string multipart_type() {
    return std::string(proto::kMimeMultipartMixed) +
           ";boundary=" + std::string(proto::kMultipartBoundary);
}

std::string user_part(const McServiceId& id) {
    return std::string(id.user());
}

ClientEvent make_event(ClientEventType type, CallId call, std::string peer) {
    ClientEvent event{type, call, std::move(peer), 0, std::nullopt, {}, {}, {}, 0, 0};
    return event;
}

ClientEventType event_for(FloorNotice notice) {
    switch (notice) {
        case FloorNotice::granted:
            return ClientEventType::floor_granted;
        case FloorNotice::denied:
            return ClientEventType::floor_denied;
        case FloorNotice::taken:
            return ClientEventType::floor_taken;
        case FloorNotice::idle:
            return ClientEventType::floor_idle;
        case FloorNotice::revoked:
            return ClientEventType::floor_revoked;
        case FloorNotice::queued:
            return ClientEventType::floor_queued;
        case FloorNotice::request_timeout:
            return ClientEventType::floor_request_timeout;
    }
    return ClientEventType::floor_idle;
}

proto::FloorControlParams offered_floor_params(const proto::SessionDescription& sd) {
    if (const auto* floor = proto::find_floor_control(sd)) {
        if (auto p = proto::parse_floor_control_params(floor->formats.front().params)) return *p;
    }
    return {};
}

}  // namespace

const char* to_string(ClientEventType type) {
    switch (type) {
        case ClientEventType::registered:
            return "registered";
        case ClientEventType::registration_failed:
            return "registration-failed";
        case ClientEventType::unregistered:
            return "unregistered";
        case ClientEventType::calling:
            return "calling";
        case ClientEventType::ringing:
            return "ringing";
        case ClientEventType::incoming:
            return "incoming";
        case ClientEventType::connected:
            return "connected";
        case ClientEventType::released:
            return "released";
        case ClientEventType::floor_granted:
            return "floor-granted";
        case ClientEventType::floor_denied:
            return "floor-denied";
        case ClientEventType::floor_taken:
            return "floor-taken";
        case ClientEventType::floor_idle:
            return "floor-idle";
        case ClientEventType::floor_revoked:
            return "floor-revoked";
        case ClientEventType::floor_queued:
            return "floor-queued";
        case ClientEventType::floor_request_timeout:
            return "floor-request-timeout";
        case ClientEventType::speech_finished:
            return "speech-finished";
    }
    return "unknown";
}

struct McClient::Call {
    CallId id = 0;
    McServiceId peer;
    bool originated = false;
    CallState state = CallState::idle;
    std::unique_ptr<net::InviteDialog> dialog;
    std::unique_ptr<net::RtpSession> rtp;
    std::unique_ptr<net::UdpSocket> floor;
    proto::SessionDescription offer;  // incoming calls: what the server offered
    net::Ipv4Endpoint remote_rtp;
    net::Ipv4Endpoint remote_floor;
    std::uint64_t rtp_sent = 0;
    std::uint64_t rtp_received = 0;
    std::deque<std::vector<std::uint8_t>> outgoing;  // payloads waiting for their 20 ms slot
    bool release_after_burst = false;  // speech: release the floor when it has been sent
    bool burst_start = true;           // RTP marker bit on the first packet of a talk burst
    std::uint64_t next_send_ms = 0;
    std::uint32_t rtp_timestamp = 0;
    net::Timer rtp_pacer;
    std::unique_ptr<media::AmrWbDecoder> decoder;  // when recording
    std::optional<std::uint16_t> last_sequence;
    std::uint64_t frames_lost = 0;
    bool floor_control = false;  // negotiated (or, for our offer, asked for)
    bool implicit_request = false;
    std::unique_ptr<FloorParticipant> floor_fsm;
    std::array<net::Timer, FloorParticipant::kTimers> floor_timers;
};

McClient::McClient(net::EventLoop& loop, ClientConfig config, Observer observer)
    : loop_(loop), config_(std::move(config)), observer_(std::move(observer)) {
    if (config_.client_id.empty()) config_.client_id = random_client_id();
}

McClient::~McClient() {
    for (auto& [id, call] : calls_) {
        if (call->dialog) call->dialog->hangup();
    }
    calls_.clear();
    registration_.reset();
    if (sip_) sip_->set_request_handler(nullptr);
}

Result<void> McClient::open() {
    if (!config_.speak_file.empty()) {
        auto pcm = media::read_speech_file(config_.speak_file);
        if (!pcm) return tl::unexpected(pcm.error());
        auto frames = media::encode_speech(*pcm);
        if (!frames) return tl::unexpected(frames.error());
        for (const auto& frame : *frames) speech_.push_back(media::to_rtp_payload(frame));
    }
    auto stack = net::SipStack::create(loop_, {config_.host, 0, "mcx-client", std::nullopt});
    if (!stack) return tl::unexpected(stack.error());
    sip_ = std::move(*stack);
    sip_->set_request_handler([this](const net::SipMessage& msg) { return on_request(msg); });
    return {};
}

Result<void> McClient::login(const std::string& audience) {
    if (config_.idms_url.empty()) return fail(Errc::invalid_argument, "no IdMS URL configured");
    std::map<std::string, std::string> form{{"grant_type", "password"},
                                            {"username", config_.user.uri()},
                                            {"password", config_.password},
                                            {"client_id", config_.client_id}};
    if (!audience.empty()) form["audience"] = audience;
    auto response =
        net::http_post_form(config_.idms_url + "/idms/token", form, std::chrono::seconds(5));
    if (!response) return tl::unexpected(response.error());
    auto json = nlohmann::json::parse(response->body, nullptr, false);
    if (response->status != 200) {
        std::string why = "HTTP " + std::to_string(response->status);
        if (json.is_object() && json.contains("error_description")) {
            why = json["error_description"].get<std::string>();
        }
        return fail(Errc::unauthorized, "login of " + config_.user.uri() + " refused: " + why);
    }
    if (!json.is_object() || !json.contains("access_token") || !json["access_token"].is_string()) {
        return fail(Errc::malformed, "IdMS answer has no access_token");
    }
    access_token_ = json["access_token"].get<std::string>();
    return {};
}

Result<void> McClient::start_registration() {
    if (!sip_) return fail(Errc::invalid_argument, "client not open");
    proto::McpttInfo info;
    info.access_token = access_token_;
    info.client_id = config_.client_id;
    net::RegistrationOptions opts;
    opts.registrar_uri = "sip:" + config_.domain;
    opts.registrar = config_.sip_server;
    opts.transport = config_.transport;
    opts.aor = config_.user.uri();
    opts.contact_user = user_part(config_.user);
    opts.contact_params = std::string(proto::kMcpttContactParams);
    opts.expires = config_.register_expires;
    opts.content_type = std::string(proto::kMimeMcpttInfo);
    opts.body = proto::build_mcptt_info(info);
    auto reg = net::RegistrationClient::start(
        *sip_, opts, [this](net::RegistrationEvent e, const net::SipMessage* msg) {
            ClientEvent event = make_event(ClientEventType::registered, 0, config_.user.uri());
            switch (e) {
                case net::RegistrationEvent::registered:
                    registered_ = true;
                    break;
                case net::RegistrationEvent::failed:
                    registered_ = false;
                    event.type = ClientEventType::registration_failed;
                    break;
                case net::RegistrationEvent::unregistered:
                    registered_ = false;
                    event.type = ClientEventType::unregistered;
                    break;
            }
            if (msg) {
                event.status = msg->status();
                event.reason = std::string(msg->reason());
                if (auto w = msg->header("Warning")) {
                    if (auto parsed = proto::parse_warning(*w)) {
                        event.warning = parsed->mc_code;
                        event.reason += ": " + parsed->text;
                    }
                }
            } else if (e == net::RegistrationEvent::failed) {
                event.reason = "no response from " + config_.sip_server.to_string();
            }
            emit(event);
        });
    if (!reg) return tl::unexpected(reg.error());
    registration_ = std::move(*reg);
    return {};
}

void McClient::unregister() {
    if (registration_) registration_->stop();
}

McClient::Call* McClient::find(CallId id) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : it->second.get();
}

std::uint32_t McClient::active_calls() const {
    return static_cast<std::uint32_t>(calls_.size());
}

bool McClient::transition(Call& call, CallEvent event) {
    const auto next = next_state(call.state, event);
    if (!next) {
        spdlog::debug("call {}: event {} ignored in state {}", call.id, to_string(event),
                      to_string(call.state));
        return false;
    }
    if (*next != call.state) {
        spdlog::debug("call {}: {} -> {} ({})", call.id, to_string(call.state), to_string(*next),
                      to_string(event));
    }
    call.state = *next;
    return true;
}

Result<void> McClient::open_media(Call& call) {
    const auto call_id = call.id;
    auto rtp = net::RtpSession::open(
        config_.host, [this, call_id](const net::Ipv4Endpoint&, const net::RtpPacket& packet) {
            on_rtp(call_id, packet);
        });
    if (!rtp) return tl::unexpected(rtp.error());
    call.rtp = std::move(*rtp);
    if (!config_.record_file.empty()) {
        auto decoder = media::AmrWbDecoder::create();
        if (!decoder) return tl::unexpected(decoder.error());
        call.decoder = std::make_unique<media::AmrWbDecoder>(std::move(*decoder));
    }
    const auto id = call.id;
    auto floor = net::UdpSocket::bind(
        config_.host, 0,
        [this, id](const net::Ipv4Endpoint&, std::span<const std::uint8_t> packet) {
            on_floor_packet(id, packet);
        });
    if (!floor) return tl::unexpected(floor.error());
    call.floor = std::move(*floor);
    return {};
}

proto::SessionDescription McClient::local_sdp(const Call& call,
                                              const proto::SessionDescription* offer) const {
    proto::SessionDescription sd;
    sd.address = config_.host;
    proto::SdpMedia audio;
    audio.type = "audio";
    audio.proto = "RTP/AVP";
    audio.port = call.rtp->rtp_port();
    proto::SdpFormat amr{std::to_string(kAmrWbPayloadType), "AMR-WB", 16000, 1, "octet-align=1"};
    if (offer) {
        // Answer with the offered AMR-WB payload type, else the first offered format.
        if (const auto* offered = proto::find_audio(*offer)) {
            auto it = std::find_if(offered->formats.begin(), offered->formats.end(),
                                   [](const proto::SdpFormat& f) { return f.name == "AMR-WB"; });
            amr = it != offered->formats.end() ? *it : offered->formats.front();
        }
    }
    audio.formats.push_back(amr);
    sd.media.push_back(audio);
    if (offer ? proto::find_floor_control(*offer) != nullptr : call.floor_control) {
        proto::SdpMedia floor;
        floor.type = "application";
        floor.proto = "udp";
        floor.port = call.floor->local().port;
        // Offer: what we support and ask for; answer: negotiated down (TS 24.380 12.1.2).
        const auto params =
            offer ? proto::answer_floor_control(offered_floor_params(*offer),
                                                config_.floor_queueing, config_.floor_priority)
                  : proto::FloorControlParams{config_.floor_queueing, config_.floor_priority, false,
                                              call.implicit_request};
        floor.formats.push_back(proto::SdpFormat{std::string(proto::kFloorControlFormat), "", 0, 1,
                                                 proto::format_floor_control_params(params)});
        sd.media.push_back(floor);
    }
    return sd;
}

void McClient::apply_remote_sdp(Call& call, const proto::SessionDescription& sd) {
    if (const auto* audio = proto::find_audio(sd)) {
        const auto& host = audio->address.empty() ? sd.address : audio->address;
        call.remote_rtp = net::to_ipv4(net::Endpoint{host, audio->port});
    }
    if (const auto* floor = proto::find_floor_control(sd)) {
        const auto& host = floor->address.empty() ? sd.address : floor->address;
        call.remote_floor = net::to_ipv4(net::Endpoint{host, floor->port});
    }
}

Result<CallId> McClient::call(const McServiceId& peer, CallOptions options) {
    const auto mode = options.commencement;
    if (!registered_) return fail(Errc::invalid_argument, "not registered");
    if (active_calls() >= config_.max_calls) {
        return fail(Errc::forbidden, "already " + std::to_string(config_.max_calls) + " calls");
    }
    auto call = std::make_unique<Call>();
    call->id = next_call_id_++;
    call->peer = peer;
    call->originated = true;
    call->floor_control = options.floor_control;
    call->implicit_request = options.floor_control && config_.implicit_floor_request;
    if (auto media = open_media(*call); !media) return tl::unexpected(media.error());
    auto offer = net::encode_sdp(local_sdp(*call, nullptr));
    if (!offer) return tl::unexpected(offer.error());

    proto::McpttInfo info;
    info.session_type = "private";
    info.client_id = config_.client_id;
    net::OutgoingInvite out;
    out.request_uri = config_.private_call_psi();  // TS 24.379 11.1.1.2.1.1 step 1
    out.from_uri = config_.user.uri();
    out.to_uri = config_.private_call_psi();
    out.next_hop = config_.sip_server;
    out.transport = config_.transport;
    out.contact_user = user_part(config_.user);
    out.contact_params = std::string(proto::kMcpttContactParams);
    out.headers = std::string(proto::kMcpttAcceptContact) +
                  std::string(proto::kMcpttPreferredService) + "P-Preferred-Identity: <" +
                  config_.user.uri() + ">\r\nAnswer-Mode: " +
                  std::string(mode == Commencement::manual ? proto::kAnswerModeManual
                                                           : proto::kAnswerModeAuto) +
                  "\r\n";
    out.content_type = multipart_type();
    out.body = proto::build_multipart(
        {{std::string(proto::kMimeSdp), *offer},
         {std::string(proto::kMimeMcpttInfo), proto::build_mcptt_info(info)},
         {std::string(proto::kMimeResourceLists), proto::build_resource_lists({peer.uri()})}},
        proto::kMultipartBoundary);
    const auto id = call->id;
    auto dialog = net::InviteDialog::connect(
        *sip_, out,
        [this, id](net::DialogEvent e, const net::SipMessage* m) { on_dialog_event(id, e, m); });
    if (!dialog) return tl::unexpected(dialog.error());
    call->dialog = std::move(*dialog);
    transition(*call, CallEvent::dial);
    auto* raw = call.get();
    calls_.emplace(id, std::move(call));
    if (raw->floor_control) {
        // With mc_implicit_request the INVITE is our Floor Request: T101 runs from now, and
        // the Floor Granted may arrive before the 200 OK (different sockets).
        raw->floor_fsm =
            std::make_unique<FloorParticipant>(raw->rtp->ssrc(), config_.floor_priority);
        apply_floor(*raw, raw->floor_fsm->start(raw->implicit_request));
    }
    emit(make_event(ClientEventType::calling, id, peer.uri()));
    return id;
}

bool McClient::on_request(const net::SipMessage& msg) {
    if (msg.method() != "INVITE") return false;
    on_incoming_invite(msg);
    return true;
}

void McClient::on_incoming_invite(const net::SipMessage& msg) {
    auto refuse = [&](std::uint16_t status, const std::string& reason, const std::string& warning) {
        std::string headers;
        if (!warning.empty()) headers = "Warning: " + warning + "\r\n";
        spdlog::info("incoming INVITE refused: {} {}", status, reason);
        (void)sip_->reply(msg, net::SipResponse{status, reason, headers, {}, {}});
    };
    // Only our MC server may call us (TS 24.379: the T-PF delivers private calls). It may send
    // from another port than the one we register at (mcxd's leg thread), as over TCP.
    const auto source = msg.source();
    if (source.host != config_.sip_server.host) {
        return refuse(403, "Forbidden", "399 " + config_.host + " \"not from our MC server\"");
    }
    auto parts = proto::split_body(msg.content_type(), msg.body());
    if (!parts)
        return refuse(400, "Bad Request",
                      "399 " + config_.host + " \"" + parts.error().reason + "\"");
    const auto* info_part = proto::find_part(*parts, proto::kMimeMcpttInfo);
    const auto* sdp_part = proto::find_part(*parts, proto::kMimeSdp);
    if (!info_part || !sdp_part) {
        return refuse(400, "Bad Request",
                      "399 " + config_.host + " \"mcptt-info and SDP required\"");
    }
    auto info = proto::parse_mcptt_info(info_part->body);
    if (!info || !info->calling_user_id) {
        return refuse(400, "Bad Request", "399 " + config_.host + " \"no mcptt-calling-user-id\"");
    }
    auto peer = McServiceId::parse(*info->calling_user_id);
    auto offer = net::decode_sdp(sdp_part->body);
    if (!peer || !offer || !proto::find_audio(*offer)) {
        return refuse(488, "Not Acceptable Here", "399 " + config_.host + " \"unusable offer\"");
    }
    if (active_calls() >= config_.max_calls) {
        return refuse(
            486, "Busy Here",
            proto::format_warning(config_.host, proto::McWarning::max_private_calls_reached));
    }
    auto call = std::make_unique<Call>();
    call->id = next_call_id_++;
    call->peer = *peer;
    call->offer = *offer;
    if (auto media = open_media(*call); !media) {
        return refuse(500, "Server Internal Error", "");
    }
    apply_remote_sdp(*call, *offer);
    const auto id = call->id;
    auto dialog = net::InviteDialog::accept(
        *sip_, msg, user_part(config_.user), std::string(proto::kMcpttContactParams),
        [this, id](net::DialogEvent e, const net::SipMessage* m) { on_dialog_event(id, e, m); });
    if (!dialog) return refuse(500, "Server Internal Error", "");
    call->dialog = std::move(*dialog);
    auto* raw = call.get();
    calls_.emplace(id, std::move(call));

    if (proto::is_manual_answer_mode(msg.header("Answer-Mode").value_or(proto::kAnswerModeAuto))) {
        // Manual commencement (TS 24.379 6.2.3.2.1): alert our user, tell the caller.
        (void)raw->dialog->progress(180, "Ringing");
        transition(*raw, CallEvent::incoming_manual);
        emit(make_event(ClientEventType::incoming, id, peer->uri()));
        return;
    }
    transition(*raw, CallEvent::incoming_auto);
    if (auto answered = accept(id); !answered) {
        spdlog::warn("automatic answer failed: {}", answered.error().reason);
    }
}

Result<void> McClient::accept(CallId id) {
    auto* call = find(id);
    if (!call || call->originated ||
        (call->state != CallState::incoming && call->state != CallState::connected)) {
        return fail(Errc::invalid_argument,
                    "no incoming call " + std::to_string(id) + " to accept");
    }
    auto answer = net::encode_sdp(local_sdp(*call, &call->offer));
    if (!answer) return tl::unexpected(answer.error());
    proto::McpttInfo info;
    info.called_party_id = config_.user.uri();  // TS 24.379 H.3: the answering client's ID
    const std::string body = proto::build_multipart(
        {{std::string(proto::kMimeSdp), *answer},
         {std::string(proto::kMimeMcpttInfo), proto::build_mcptt_info(info)}},
        proto::kMultipartBoundary);
    if (auto sent = call->dialog->answer({}, multipart_type(), body); !sent) return sent;
    if (call->state == CallState::incoming) transition(*call, CallEvent::user_accept);
    if (proto::find_floor_control(call->offer) && !call->floor_fsm) {
        call->floor_control = true;
        call->floor_fsm =
            std::make_unique<FloorParticipant>(call->rtp->ssrc(), config_.floor_priority);
        apply_floor(*call, call->floor_fsm->start(false));
    }
    emit(make_event(ClientEventType::connected, id, call->peer.uri()));
    return {};
}

Result<void> McClient::reject(CallId id) {
    auto* call = find(id);
    if (!call || call->state != CallState::incoming) {
        return fail(Errc::invalid_argument,
                    "no incoming call " + std::to_string(id) + " to reject");
    }
    // TS 24.379 6.2.3.2.1: 480 with warning 110 "user declined the call invitation".
    (void)call->dialog->reject(
        480, "Temporarily Unavailable",
        "Warning: " + proto::format_warning(config_.host, proto::McWarning::user_declined) +
            "\r\n");
    transition(*call, CallEvent::user_reject);
    ClientEvent event = make_event(ClientEventType::released, id, call->peer.uri());
    event.by = "local";
    event.reason = "rejected by user";
    release(id, event);
    return {};
}

Result<void> McClient::hangup(CallId id) {
    auto* call = find(id);
    if (!call) return fail(Errc::invalid_argument, "no call " + std::to_string(id));
    call->dialog->hangup();
    transition(*call, CallEvent::local_release);
    ClientEvent event = make_event(ClientEventType::released, id, call->peer.uri());
    event.by = "local";
    event.reason = "hung up";
    release(id, event);
    return {};
}

void McClient::release(CallId id, ClientEvent event) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    auto call = std::move(it->second);
    calls_.erase(it);
    call->rtp_pacer.cancel();
    if (call->floor_fsm) {
        // Two-step release (TS 24.380 6.2.2): stop floor control, then drop its state.
        for (auto& timer : call->floor_timers) timer.cancel();
        (void)call->floor_fsm->stop();
    }
    spdlog::info("call {} with {} released ({}): sent {} RTP, received {}, lost {}", id,
                 call->peer.uri(), event.reason, call->rtp_sent, call->rtp_received,
                 call->frames_lost);
    write_recording();
    // May run inside the dialog's own callback: delete in a later loop turn.
    loop_.defer_delete(std::move(call));
    emit(event);
}

void McClient::on_dialog_event(CallId id, net::DialogEvent dialog_event,
                               const net::SipMessage* msg) {
    auto* call = find(id);
    if (!call) return;
    switch (dialog_event) {
        case net::DialogEvent::provisional:
            if (msg && msg->status() == 180 && transition(*call, CallEvent::alerting)) {
                emit(make_event(ClientEventType::ringing, id, call->peer.uri()));
            }
            return;
        case net::DialogEvent::answered: {
            auto parts = proto::split_body(msg->content_type(), msg->body());
            const proto::BodyPart* sdp =
                parts ? proto::find_part(*parts, proto::kMimeSdp) : nullptr;
            auto answer = sdp ? net::decode_sdp(sdp->body) : fail(Errc::malformed, "no SDP answer");
            if (!answer) {
                call->dialog->hangup();
                ClientEvent event = make_event(ClientEventType::released, id, call->peer.uri());
                event.by = "local";
                event.reason = "unusable answer: " + answer.error().reason;
                return release(id, event);
            }
            apply_remote_sdp(*call, *answer);
            if (call->floor_fsm && !proto::find_floor_control(*answer)) {
                // The answer refused floor control: a full-duplex private call.
                apply_floor(*call, call->floor_fsm->stop());
                call->floor_fsm.reset();
                call->floor_control = false;
            }
            transition(*call, CallEvent::answered);
            emit(make_event(ClientEventType::connected, id, call->peer.uri()));
            if (!speech_.empty() && (!call->floor_fsm || call->floor_fsm->may_send_media())) {
                (void)speak(id);  // granted before the 200 OK arrived, or full duplex
            }
            return;
        }
        case net::DialogEvent::failed: {
            transition(*call, CallEvent::refused);
            ClientEvent event = make_event(ClientEventType::released, id, call->peer.uri());
            event.by = "remote";
            if (msg) {
                event.status = msg->status();
                event.reason = std::to_string(msg->status()) + " " + std::string(msg->reason());
                if (auto w = msg->header("Warning")) {
                    if (auto parsed = proto::parse_warning(*w)) {
                        event.warning = parsed->mc_code;
                        event.reason += ": " + parsed->text;
                    }
                }
            } else {
                event.reason = "no response from the MC server";
            }
            return release(id, event);
        }
        case net::DialogEvent::confirmed:
            transition(*call, CallEvent::answered);
            return;
        case net::DialogEvent::cancelled:
        case net::DialogEvent::bye:
        case net::DialogEvent::ack_timeout: {
            transition(*call, CallEvent::remote_release);
            ClientEvent event = make_event(ClientEventType::released, id, call->peer.uri());
            event.by = "remote";
            event.reason = dialog_event == net::DialogEvent::cancelled ? "cancelled by caller"
                           : dialog_event == net::DialogEvent::bye     ? "peer hung up"
                                                                       : "no ACK";
            return release(id, event);
        }
    }
}

Result<void> McClient::check_may_talk(Call& call) const {
    if (call.state != CallState::connected) {
        return fail(Errc::invalid_argument,
                    "call " + std::to_string(call.id) + " is not connected");
    }
    if (!call.remote_rtp.valid()) return fail(Errc::invalid_argument, "peer has no RTP address");
    if (call.floor_fsm && !call.floor_fsm->may_send_media()) {
        return fail(Errc::forbidden,
                    "no permission to talk: press (ptt) and wait for floor-granted");
    }
    return {};
}

Result<void> McClient::send_rtp(CallId id, unsigned count) {
    auto* call = find(id);
    if (!call) return fail(Errc::invalid_argument, "no call " + std::to_string(id));
    if (auto ok = check_may_talk(*call); !ok) return ok;
    for (unsigned i = 0; i < count; ++i) call->outgoing.push_back(media::no_data_rtp_payload());
    start_pacing(*call);
    return {};
}

Result<void> McClient::speak(CallId id) {
    auto* call = find(id);
    if (!call) return fail(Errc::invalid_argument, "no call " + std::to_string(id));
    if (speech_.empty()) return fail(Errc::invalid_argument, "no speech file (--speak)");
    if (auto ok = check_may_talk(*call); !ok) return ok;
    call->outgoing.insert(call->outgoing.end(), speech_.begin(), speech_.end());
    call->release_after_burst = call->floor_fsm != nullptr;
    start_pacing(*call);
    return {};
}

void McClient::start_pacing(Call& call) {
    if (call.rtp_pacer.running()) return;
    call.next_send_ms = net::monotonic_ms();
    pace(call.id);
}

// One payload per 20 ms on a fixed schedule (no drift), while we may talk.
void McClient::pace(CallId id) {
    auto* call = find(id);
    if (!call) return;
    if (call->floor_fsm && !call->floor_fsm->may_send_media()) {
        call->outgoing.clear();  // the floor was lost: stop talking
        call->burst_start = true;
        return;
    }
    if (call->outgoing.empty()) {
        call->burst_start = true;
        if (call->release_after_burst) {
            call->release_after_burst = false;
            auto event = make_event(ClientEventType::speech_finished, id, call->peer.uri());
            emit(event);
            if (call->floor_fsm) apply_floor(*call, call->floor_fsm->release());
        }
        return;
    }
    if (call->rtp->send(call->remote_rtp, kAmrWbPayloadType, call->burst_start, call->rtp_timestamp,
                        call->outgoing.front())) {
        ++call->rtp_sent;
    }
    call->burst_start = false;
    call->outgoing.pop_front();
    call->rtp_timestamp += kSamplesPer20ms;
    call->next_send_ms += 20;
    const auto now = net::monotonic_ms();
    const auto delay = call->next_send_ms > now ? call->next_send_ms - now : 0;
    call->rtp_pacer.start(std::chrono::milliseconds(delay), [this, id] { pace(id); });
}

Result<std::uint32_t> McClient::send_payload(CallId id, std::span<const std::uint8_t> payload,
                                             bool marker) {
    auto* call = find(id);
    if (!call) return fail(Errc::invalid_argument, "no call " + std::to_string(id));
    if (auto ok = check_may_talk(*call); !ok) return tl::unexpected(ok.error());
    const auto timestamp = call->rtp_timestamp;
    auto sent = call->rtp->send(call->remote_rtp, kAmrWbPayloadType, marker, timestamp, payload);
    call->rtp_timestamp += kSamplesPer20ms;
    if (!sent) return tl::unexpected(sent.error());
    ++call->rtp_sent;
    return timestamp;
}

void McClient::on_rtp(CallId id, const net::RtpPacket& packet) {
    auto* call = find(id);
    if (!call) return;
    ++call->rtp_received;
    if (media_observer_) media_observer_(id, packet);
    if (!call->decoder) return;
    // Frames missing between two packets are concealed so the recording keeps its timeline.
    if (call->last_sequence && !packet.marker) {
        const auto gap = static_cast<std::uint16_t>(packet.sequence - *call->last_sequence - 1);
        if (gap > 0 && gap < 50) {
            call->frames_lost += gap;
            for (unsigned i = 0; i < gap; ++i) {
                const auto pcm = call->decoder->decode_lost();
                recorded_.insert(recorded_.end(), pcm.begin(), pcm.end());
            }
        }
    }
    call->last_sequence = packet.sequence;
    auto frame = media::from_rtp_payload(packet.payload);
    if (!frame) {
        ++call->frames_lost;
        return;
    }
    if (frame->frame_type == media::amr_wb_ft_no_data) return;
    auto pcm = call->decoder->decode(*frame);
    if (pcm) recorded_.insert(recorded_.end(), pcm->begin(), pcm->end());
}

void McClient::write_recording() {
    if (config_.record_file.empty()) return;
    if (auto written = media::write_wav(config_.record_file, recorded_); !written) {
        spdlog::error("cannot write the recording: {}", written.error().reason);
    }
}

Result<void> McClient::press(CallId id) {
    auto* call = find(id);
    if (!call || !call->floor_fsm)
        return fail(Errc::invalid_argument, "no call with floor control");
    if (call->floor_fsm->state() != FloorParticipant::State::has_no_permission) {
        return fail(Errc::invalid_argument, std::string("cannot request the floor in ") +
                                                to_string(call->floor_fsm->state()));
    }
    apply_floor(*call, call->floor_fsm->press());
    return {};
}

Result<void> McClient::release_floor(CallId id) {
    auto* call = find(id);
    if (!call || !call->floor_fsm)
        return fail(Errc::invalid_argument, "no call with floor control");
    auto effects = call->floor_fsm->release();
    if (effects.send.empty()) {
        return fail(Errc::invalid_argument,
                    std::string("nothing to release in ") + to_string(call->floor_fsm->state()));
    }
    apply_floor(*call, std::move(effects));
    return {};
}

void McClient::on_floor_packet(CallId id, std::span<const std::uint8_t> packet) {
    auto* call = find(id);
    if (!call || !call->floor_fsm) return;
    auto messages = proto::floor::decode_datagram(packet);
    if (!messages) {
        spdlog::debug("call {}: floor packet dropped: {}", id, messages.error().reason);
        return;
    }
    for (const auto& message : *messages) {
        // The call may be released by what a notice triggers: look it up each time.
        call = find(id);
        if (!call || !call->floor_fsm) return;
        apply_floor(*call, call->floor_fsm->on_message(message));
    }
}

void McClient::apply_floor(Call& call, FloorParticipant::Effects effects) {
    for (const auto& message : effects.send) {
        if (!call.remote_floor.valid())
            continue;  // before the answer: the server's port is unknown
        call.floor->send_to(call.remote_floor, proto::floor::encode(message));
    }
    const auto id = call.id;
    for (const auto& command : effects.timers) {
        auto& timer = call.floor_timers[static_cast<std::size_t>(command.timer)];
        if (!command.start) {
            timer.cancel();
            continue;
        }
        timer.start(command.duration, [this, id, t = command.timer, g = command.generation] {
            if (auto* c = find(id); c && c->floor_fsm)
                apply_floor(*c, c->floor_fsm->on_timer(t, g));
        });
    }
    for (const auto& notice : effects.notices) {
        auto event = make_event(event_for(notice.what), id, call.peer.uri());
        event.talker = notice.by;
        event.cause = notice.cause;
        event.reason = notice.phrase;
        event.position = notice.position;
        emit(event);
        // With --speak the client talks as soon as it holds the floor.
        if (notice.what == FloorNotice::granted && !speech_.empty() && call.remote_rtp.valid()) {
            (void)speak(id);
        }
    }
}

std::vector<CallInfo> McClient::calls() const {
    std::vector<CallInfo> out;
    for (const auto& [id, call] : calls_) {
        out.push_back(CallInfo{id, call->peer.uri(), call->state, call->originated, call->rtp_sent,
                               call->rtp_received, call->floor_fsm != nullptr,
                               call->floor_fsm ? to_string(call->floor_fsm->state()) : ""});
    }
    return out;
}

}  // namespace mcx::client
