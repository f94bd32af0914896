// McClient: on-network private calls (TS 24.379 11.1.1: originating and terminating client
// procedures), their media and floor control, over the MC system that serves the client.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "client/mc_client.hpp"
#include "net/sdp_codec.hpp"
#include "proto/content_type.hpp"
#include "proto/mc_service.hpp"
#include "proto/mcptt_fmtp.hpp"
#include "proto/mcptt_sip.hpp"
#include "proto/multipart.hpp"
#include "proto/reason.hpp"
#include "proto/resource_lists.hpp"
#include "proto/warning.hpp"

namespace mcx::client {

namespace {

std::string multipart_type() {
    return std::string(proto::kMimeMultipartMixed) +
           ";boundary=" + std::string(proto::kMultipartBoundary);
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

// "480 Temporarily Unavailable: <warning text>" and the 3GPP warning code of a response.
void describe_response(const net::SipMessage& msg, ClientEvent& event) {
    event.status = msg.status();
    event.reason = std::to_string(msg.status()) + " " + std::string(msg.reason());
    if (auto w = msg.header("Warning")) {
        if (auto parsed = proto::parse_warning(*w)) {
            event.warning = parsed->mc_code;
            event.reason += ": " + parsed->text;
        }
    }
}

// The mcptt-info body of a multipart message, if it has a readable one.
std::optional<proto::McpttInfo> mcptt_info_of(const net::SipMessage& msg) {
    auto parts = proto::split_body(msg.content_type(), msg.body());
    if (!parts) return std::nullopt;
    const auto* part = proto::find_part(*parts, proto::kMimeMcpttInfo);
    if (!part) return std::nullopt;
    auto info = proto::parse_mcptt_info(part->body);
    if (!info) return std::nullopt;
    return *info;
}

}  // namespace

CallRecord* McClient::find(CallId id) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : it->second.get();
}

std::uint32_t McClient::active_calls() const {
    return static_cast<std::uint32_t>(calls_.size());
}

bool McClient::transition(CallRecord& record, CallEvent event) {
    const auto next = next_state(record.state, event);
    if (!next) {
        spdlog::debug("call {}: event {} ignored in state {}", record.id, to_string(event),
                      to_string(record.state));
        return false;
    }
    if (*next != record.state) {
        spdlog::debug("call {}: {} -> {} ({})", record.id, to_string(record.state),
                      to_string(*next), to_string(event));
    }
    record.state = *next;
    record.history.push_back(StateChange{*next, event, net::monotonic_ms()});
    return true;
}

Result<std::unique_ptr<CallLeg>> McClient::open_leg(CallRecord& record,
                                                    const ServingSystem& system) {
    auto leg = std::make_unique<CallLeg>();
    leg->serial = next_leg_serial_++;
    leg->system = system.id();
    leg->own_id = system.mc_service_id;
    const auto id = record.id;
    MediaStream::PcmSink pcm;
    if (!config_.record_file.empty()) {
        pcm = [this](std::span<const std::int16_t> samples) {
            recorded_.insert(recorded_.end(), samples.begin(), samples.end());
        };
    }
    auto media = MediaStream::open(
        config_.host,
        [this, id](const net::RtpPacket& packet) {
            if (media_observer_) media_observer_(id, packet);
        },
        std::move(pcm));
    if (!media) return tl::unexpected(media.error());
    leg->media = std::move(*media);
    auto floor = FloorLink::open(
        config_.host, [this, id](const FloorParticipant::Notice& n) { on_floor_notice(id, n); });
    if (!floor) return tl::unexpected(floor.error());
    leg->floor = std::move(*floor);
    auto* raw = leg.get();
    // Media leaves only with permission to send (TS 24.380 6.2.4.3) or without floor control.
    leg->media->set_gate([raw] { return !raw->floor->running() || raw->floor->may_send_media(); });
    return leg;
}

proto::SessionDescription McClient::local_sdp(const CallRecord& record, const CallLeg& leg,
                                              const proto::SessionDescription* offer) const {
    proto::SessionDescription sd;
    sd.address = config_.host;
    proto::SdpMedia audio;
    audio.type = "audio";
    audio.proto = "RTP/AVP";
    audio.port = leg.media->rtp_port();
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
    if (offer ? proto::find_floor_control(*offer) != nullptr : record.floor_control) {
        proto::SdpMedia floor;
        floor.type = "application";
        floor.proto = "udp";
        floor.port = leg.floor->local_port();
        const bool implicit =
            record.floor_control &&
            (leg.resume ? record.floor_holder == FloorHolder::us : config_.implicit_floor_request);
        // Offer: what we support and ask for; answer: negotiated down (TS 24.380 12.1.2).
        const auto params =
            offer ? proto::answer_floor_control(offered_floor_params(*offer),
                                                config_.floor_queueing, config_.floor_priority)
                  : proto::FloorControlParams{config_.floor_queueing, config_.floor_priority, false,
                                              implicit};
        floor.formats.push_back(proto::SdpFormat{std::string(proto::kFloorControlFormat), "", 0, 1,
                                                 proto::format_floor_control_params(params)});
        sd.media.push_back(floor);
    }
    return sd;
}

void McClient::apply_remote_sdp(CallLeg& leg, const proto::SessionDescription& sd) {
    if (const auto* audio = proto::find_audio(sd)) {
        const auto& host = audio->address.empty() ? sd.address : audio->address;
        leg.media->set_remote(net::to_ipv4(net::Endpoint{host, audio->port}));
    }
    if (const auto* floor = proto::find_floor_control(sd)) {
        const auto& host = floor->address.empty() ? sd.address : floor->address;
        leg.floor->set_server(net::to_ipv4(net::Endpoint{host, floor->port}));
    }
}

void McClient::start_floor(CallRecord& record, bool implicit_request) {
    if (!record.leg || !record.leg->floor) return;
    record.leg->floor->start(record.leg->media->ssrc(), config_.floor_priority, implicit_request);
}

Result<CallId> McClient::call(const McServiceId& peer, CallOptions options) {
    if (!registered()) return fail(Errc::invalid_argument, "not registered");
    if (active_calls() >= config_.max_calls) {
        return fail(Errc::forbidden, "already " + std::to_string(config_.max_calls) + " calls");
    }
    auto record = std::make_unique<CallRecord>();
    record->id = next_call_id_++;
    record->peer = peer;
    record->originated = true;
    record->commencement = options.commencement;
    record->floor_control = options.floor_control;
    record->call_ref = random_client_id();
    auto* raw = record.get();
    calls_.emplace(raw->id, std::move(record));
    if (auto sent = send_invite(*raw, false); !sent) {
        calls_.erase(raw->id);
        return tl::unexpected(sent.error());
    }
    emit(event(ClientEventType::calling, raw));
    return raw->id;
}

// TS 24.379 11.1.1.2.1.1: INVITE to the private-call PSI of the serving system, the callee in
// resource-lists, our floor control offer; a resume also names the call it resumes.
Result<void> McClient::send_invite(CallRecord& record, bool resume) {
    auto* system = find_system(serving_);
    if (!system || !system->registered()) {
        return fail(Errc::invalid_argument, "not registered in " + serving_);
    }
    const auto previous_id = record.leg ? record.leg->own_id : record.last_own_id;
    auto leg = open_leg(record, *system);
    if (!leg) return tl::unexpected(leg.error());
    (*leg)->resume = resume;
    auto offer = net::encode_sdp(local_sdp(record, **leg, nullptr));
    if (!offer) return tl::unexpected(offer.error());

    proto::McpttInfo info;
    info.session_type = "private";
    info.client_id = config_.client_id;
    info.mcx.call_ref = record.call_ref;
    if (resume) {
        info.mcx.resumes_previous_id = previous_id.empty() ? config_.user.uri() : previous_id.uri();
    }
    const auto target = resume ? resume_target(record) : record.peer;
    const auto& me = system->mc_service_id;
    const auto mode = resume ? Commencement::automatic : record.commencement;
    net::OutgoingInvite out;
    out.request_uri = system->address().private_call_psi();
    out.from_uri = me.uri();
    out.to_uri = system->address().private_call_psi();
    out.next_hop = system->address().sip_server;
    out.transport = config_.transport;
    out.contact_user = std::string(me.user());
    out.contact_params = proto::contact_params(proto::describe(proto::McService::mcptt));
    const auto& mcptt = proto::describe(proto::McService::mcptt);
    out.headers = proto::accept_contact_headers(mcptt) + proto::preferred_service_header(mcptt) +
                  "P-Preferred-Identity: <" + me.uri() + ">\r\nAnswer-Mode: " +
                  std::string(mode == Commencement::manual ? proto::kAnswerModeManual
                                                           : proto::kAnswerModeAuto) +
                  "\r\n";
    out.content_type = multipart_type();
    out.body = proto::build_multipart(
        {{std::string(proto::kMimeSdp), *offer},
         {std::string(proto::kMimeMcpttInfo), proto::build_mcptt_info(info)},
         {std::string(proto::kMimeResourceLists), proto::build_resource_lists({target.uri()})}},
        proto::kMultipartBoundary);
    const auto id = record.id;
    const auto serial = (*leg)->serial;
    auto dialog = net::InviteDialog::connect(
        *sip_, out, [this, id, serial](net::DialogEvent e, const net::SipMessage* m) {
            on_dialog_event(id, serial, e, m);
        });
    if (!dialog) return tl::unexpected(dialog.error());
    (*leg)->dialog = std::move(*dialog);
    if (record.leg) drop_leg(record);
    record.leg = std::move(*leg);
    transition(record, resume ? CallEvent::resume : CallEvent::dial);
    if (record.floor_control) {
        // With mc_implicit_request the INVITE is our Floor Request: T101 runs from now, and
        // the Floor Granted may arrive before the 200 OK (different sockets).
        const bool implicit =
            resume ? record.floor_holder == FloorHolder::us : config_.implicit_floor_request;
        start_floor(record, implicit);
    }
    return {};
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
        spdlog::info("incoming INVITE refused: {} {} {}", status, reason, warning);
        (void)sip_->reply(msg, net::SipResponse{status, reason, headers, {}, {}});
    };
    // Only an MC server of ours may call us (TS 24.379: the T-PF delivers private calls). It
    // may send from another port than the one we register at (mcxd's leg thread), as over TCP.
    const auto source = msg.source();
    const bool from_our_servers =
        std::any_of(config_.systems.begin(), config_.systems.end(),
                    [&](const SystemAddress& s) { return s.sip_server.host == source.host; });
    if (!from_our_servers) {
        return refuse(403, "Forbidden", "399 " + config_.host + " \"not from our MC server\"");
    }
    auto parts = proto::split_body(msg.content_type(), msg.body());
    if (!parts) {
        return refuse(400, "Bad Request",
                      "399 " + config_.host + " \"" + parts.error().reason + "\"");
    }
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
    // The system that delivered it: the one whose domain the INVITE is addressed to.
    const auto to = McServiceId::parse(msg.to_uri());
    ServingSystem* system = find_system(serving_);
    for (auto& [id, s] : systems_) {
        if (to && s->mc_service_id == *to) system = s.get();
    }
    if (!system) return refuse(480, "Temporarily Unavailable", "");

    // A resume of one of our suspended calls (TS 23.280 10.16.3 step 3) is taken at once.
    CallRecord* resumed =
        info->mcx.resumes_previous_id ? suspended_call_resumed_by(*info, *peer) : nullptr;
    const bool own_resume = resumed && resumed->leg && resumed->leg->resume &&
                            resumed->leg->dialog &&
                            resumed->leg->dialog->role() == net::InviteDialog::Role::uac;
    const auto own = !own_resume                                ? OwnResume::none
                     : resumed->state == CallState::originating ? OwnResume::pending
                     : resumed->state == CallState::connected   ? OwnResume::answered
                                                                : OwnResume::none;
    const auto glare =
        decide_incoming_resume(own, resumed && resumed->originated,
                               resumed && *info->mcx.resumes_previous_id == resumed->peer.uri());
    if (glare == IncomingResume::refuse_own_wins) {
        return refuse(491, "Request Pending",
                      "399 " + config_.host +
                          " \"both ends resume this call: the original caller's resume wins\"");
    }
    if (glare == IncomingResume::refuse_crossed) {
        return refuse(491, "Request Pending",
                      "399 " + config_.host + " \"this call is already resumed\"");
    }
    if (glare == IncomingResume::take_dropping_own) {
        const auto id = resumed->id;
        resumed->leg->dialog->hangup();
        drop_leg(*resumed);
        transition(*resumed, CallEvent::suspend);
        apply(migration_.on_call_resume_failed(id, 491, std::nullopt, "the peer resumes"));
        resumed = find(id);
    }
    if (!resumed) {
        // NOTE 3: another private call while one of ours waits to be resumed.
        const auto decision =
            decide_incoming(unresumed_calls(), false, config_.migration.incoming_during_resume);
        if (!decision.accept) {
            return refuse(
                decision.status, decision.reason,
                proto::format_warning(config_.host, proto::McWarning::function_not_allowed,
                                      decision.warning_detail));
        }
        if (active_calls() >= config_.max_calls) {
            return refuse(
                486, "Busy Here",
                proto::format_warning(config_.host, proto::McWarning::max_private_calls_reached));
        }
    }

    std::unique_ptr<CallRecord> created;
    CallRecord* record = resumed;
    if (!record) {
        created = std::make_unique<CallRecord>();
        created->id = next_call_id_++;
        created->peer = *peer;
        created->originated = false;
        created->call_ref = info->mcx.call_ref.value_or(random_client_id());
        created->commencement =
            proto::is_manual_answer_mode(msg.header("Answer-Mode").value_or(proto::kAnswerModeAuto))
                ? Commencement::manual
                : Commencement::automatic;
        created->floor_control = proto::find_floor_control(*offer) != nullptr;
        record = created.get();
    }
    if (resumed) record->peer = *peer;  // the ID the peer has in its new MC system
    if (info->mcx.primary_id) {
        if (auto primary = McServiceId::parse(*info->mcx.primary_id))
            record->peer_primary = *primary;
    }
    auto leg = open_leg(*record, *system);
    if (!leg) return refuse(500, "Server Internal Error", "");
    (*leg)->offer = *offer;
    (*leg)->resume = resumed != nullptr;
    apply_remote_sdp(**leg, *offer);
    const auto id = record->id;
    const auto serial = (*leg)->serial;
    auto dialog =
        net::InviteDialog::accept(*sip_, msg, std::string(system->mc_service_id.user()),
                                  proto::contact_params(proto::describe(proto::McService::mcptt)),
                                  [this, id, serial](net::DialogEvent e, const net::SipMessage* m) {
                                      on_dialog_event(id, serial, e, m);
                                  });
    if (!dialog) return refuse(500, "Server Internal Error", "");
    (*leg)->dialog = std::move(*dialog);
    if (created) calls_.emplace(id, std::move(created));
    take_incoming(*record, std::move(*leg), msg, *info, resumed != nullptr);
}

void McClient::take_incoming(CallRecord& record, std::unique_ptr<CallLeg> leg,
                             const net::SipMessage&, const proto::McpttInfo&, bool resume) {
    const auto id = record.id;
    if (resume) {
        // The peer re-initiated our suspended call in its new MC system: answer automatically,
        // whatever the original commencement mode, and restore the floor.
        record.resume_guard.cancel();
        if (record.leg) {
            if (record.leg->dialog) record.leg->dialog->hangup();
            drop_leg(record);
        }
        record.leg = std::move(leg);
        transition(record, record.state == CallState::connected ? CallEvent::answered
                                                                : CallEvent::resume_incoming);
        if (auto answered = accept(id); !answered) {
            spdlog::warn("call {}: resume not answered: {}", id, answered.error().reason);
            return;
        }
        return;
    }
    record.leg = std::move(leg);
    if (record.commencement == Commencement::manual) {
        // Manual commencement (TS 24.379 6.2.3.2.1): alert our user, tell the caller.
        (void)record.leg->dialog->progress(180, "Ringing");
        transition(record, CallEvent::incoming_manual);
        emit(event(ClientEventType::incoming, &record));
        return;
    }
    transition(record, CallEvent::incoming_auto);
    if (auto answered = accept(id); !answered) {
        spdlog::warn("automatic answer failed: {}", answered.error().reason);
    }
}

Result<void> McClient::accept(CallId id) {
    auto* record = find(id);
    if (!record || !record->leg || !record->leg->dialog ||
        record->leg->dialog->role() != net::InviteDialog::Role::uas ||
        (record->state != CallState::incoming && record->state != CallState::connected)) {
        return fail(Errc::invalid_argument,
                    "no incoming call " + std::to_string(id) + " to accept");
    }
    auto& leg = *record->leg;
    auto answer = net::encode_sdp(local_sdp(*record, leg, &leg.offer));
    if (!answer) return tl::unexpected(answer.error());
    proto::McpttInfo info;
    info.called_party_id = leg.own_id.uri();  // TS 24.379 H.3: the answering client's ID
    info.mcx.call_ref = record->call_ref;
    const std::string body = proto::build_multipart(
        {{std::string(proto::kMimeSdp), *answer},
         {std::string(proto::kMimeMcpttInfo), proto::build_mcptt_info(info)}},
        proto::kMultipartBoundary);
    if (auto sent = leg.dialog->answer({}, multipart_type(), body); !sent) return sent;
    if (record->state == CallState::incoming) transition(*record, CallEvent::user_accept);
    if (proto::find_floor_control(leg.offer)) {
        record->floor_control = true;
        start_floor(*record, false);
        // After a migration the talker asks again (docs/migration.md: floor restoration).
        if (leg.resume && record->floor_holder == FloorHolder::us) (void)leg.floor->press();
    } else {
        record->floor_control = false;
    }
    if (leg.resume) {
        auto e = event(ClientEventType::call_resumed, record);
        e.by = "remote";
        e.reason = "the peer resumed the call from its new MC system";
        emit(e);
    } else {
        emit(event(ClientEventType::connected, record));
    }
    return {};
}

Result<void> McClient::reject(CallId id) {
    auto* record = find(id);
    if (!record || record->state != CallState::incoming) {
        return fail(Errc::invalid_argument,
                    "no incoming call " + std::to_string(id) + " to reject");
    }
    // TS 24.379 6.2.3.2.1: 480 with warning 110 "user declined the call invitation".
    (void)record->leg->dialog->reject(
        480, "Temporarily Unavailable",
        "Warning: " + proto::format_warning(config_.host, proto::McWarning::user_declined) +
            "\r\n");
    transition(*record, CallEvent::user_reject);
    auto e = event(ClientEventType::released, record);
    e.by = "local";
    e.reason = to_string(ReleaseReason::rejected);
    release(id, ReleaseReason::rejected, e);
    return {};
}

Result<void> McClient::hangup(CallId id) {
    auto* record = find(id);
    if (!record) return fail(Errc::invalid_argument, "no call " + std::to_string(id));
    if (record->leg && record->leg->dialog) record->leg->dialog->hangup();
    transition(*record, CallEvent::local_release);
    auto e = event(ClientEventType::released, record);
    e.by = "local";
    e.reason = to_string(ReleaseReason::hung_up);
    release(id, ReleaseReason::hung_up, e);
    return {};
}

void McClient::drop_leg(CallRecord& record) {
    if (!record.leg) return;
    auto leg = std::move(record.leg);
    record.last_own_id = leg->own_id;
    record.rtp_sent += leg->media->sent();
    record.rtp_received += leg->media->received();
    // Two-step release (TS 24.380 6.2.2): stop floor control, then drop its state.
    leg->floor->stop();
    leg->media->stop();
    spdlog::info("call {} with {}: leg in {} ended: sent {} RTP, received {}, lost {}", record.id,
                 record.peer.uri(), leg->system, leg->media->sent(), leg->media->received(),
                 leg->media->frames_lost());
    // May run inside the dialog's own callback: delete in a later loop turn.
    loop_.defer_delete(std::move(leg));
}

void McClient::release(CallId id, ReleaseReason why, ClientEvent event) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    auto record = std::move(it->second);
    calls_.erase(it);
    record->resume_guard.cancel();
    drop_leg(*record);
    spdlog::info("call {} with {} released ({})", id, record->peer.uri(), to_string(why));
    write_recording();
    loop_.defer_delete(std::move(record));
    emit(event);
}

void McClient::on_dialog_event(CallId id, std::uint64_t serial, net::DialogEvent dialog_event,
                               const net::SipMessage* msg) {
    auto* record = find(id);
    if (!record || !record->leg || record->leg->serial != serial) return;
    auto& leg = *record->leg;
    switch (dialog_event) {
        case net::DialogEvent::provisional:
            if (!leg.resume && msg && msg->status() == 180 &&
                transition(*record, CallEvent::alerting)) {
                emit(event(ClientEventType::ringing, record));
            }
            return;
        case net::DialogEvent::answered: {
            auto parts = proto::split_body(msg->content_type(), msg->body());
            const proto::BodyPart* sdp =
                parts ? proto::find_part(*parts, proto::kMimeSdp) : nullptr;
            auto answer = sdp ? net::decode_sdp(sdp->body) : fail(Errc::malformed, "no SDP answer");
            if (!answer) {
                leg.dialog->hangup();
                auto e = event(ClientEventType::released, record);
                e.by = "local";
                e.reason = "unusable answer: " + answer.error().reason;
                return release(id, ReleaseReason::unusable_answer, e);
            }
            if (auto info = mcptt_info_of(*msg)) {
                if (info->mcx.primary_id) {
                    if (auto p = McServiceId::parse(*info->mcx.primary_id)) {
                        record->peer_primary = *p;
                    }
                }
                // A resume reaches the peer where it is now (it may have migrated too): the
                // answering party's ID (TS 24.379 H.3) is the one a later resume of its names.
                if (leg.resume && info->called_party_id) {
                    if (auto answering = McServiceId::parse(*info->called_party_id)) {
                        record->peer = *answering;
                    }
                }
            }
            apply_remote_sdp(leg, *answer);
            if (leg.floor->running() && !proto::find_floor_control(*answer)) {
                // The answer refused floor control: a full-duplex private call.
                leg.floor->stop();
                record->floor_control = false;
            }
            transition(*record, CallEvent::answered);
            if (leg.resume) {
                apply(migration_.on_call_resumed(id));
            } else {
                emit(event(ClientEventType::connected, record));
            }
            record = find(id);
            if (record && record->leg && !speech_.empty() &&
                (!record->leg->floor->running() || record->leg->floor->may_send_media())) {
                (void)speak(id);  // granted before the 200 OK arrived, or full duplex
            }
            return;
        }
        case net::DialogEvent::failed: {
            auto e = event(ClientEventType::released, record);
            e.by = "remote";
            if (msg) {
                describe_response(*msg, e);
            } else {
                e.reason = "no response from the MC server";
            }
            if (leg.resume) {
                drop_leg(*record);
                transition(*record, CallEvent::suspend);
                return apply(migration_.on_call_resume_failed(id, e.status, e.warning, e.reason));
            }
            transition(*record, CallEvent::refused);
            return release(id, ReleaseReason::refused, e);
        }
        case net::DialogEvent::confirmed:
            transition(*record, CallEvent::answered);
            return;
        case net::DialogEvent::bye: {
            if (msg) {
                if (auto header = msg->header("Reason")) {
                    auto reason = proto::parse_reason(*header);
                    auto cause = reason ? proto::mcx_release_cause(*reason) : std::nullopt;
                    if (cause == proto::McxReleaseCause::suspended_for_migration) {
                        return on_peer_suspended(*record, msg);
                    }
                    if (cause == proto::McxReleaseCause::not_resumed) {
                        transition(*record, CallEvent::remote_release);
                        auto e = event(ClientEventType::released, record);
                        e.by = "remote";
                        e.reason = "the peer could not resume the call after its migration";
                        return release(id, ReleaseReason::resume_failed, e);
                    }
                }
            }
            [[fallthrough]];
        }
        case net::DialogEvent::cancelled:
        case net::DialogEvent::ack_timeout: {
            transition(*record, CallEvent::remote_release);
            auto e = event(ClientEventType::released, record);
            e.by = "remote";
            const auto why = dialog_event == net::DialogEvent::cancelled ? ReleaseReason::cancelled
                             : dialog_event == net::DialogEvent::bye ? ReleaseReason::peer_hung_up
                                                                     : ReleaseReason::no_ack;
            e.reason = to_string(why);
            return release(id, why, e);
        }
    }
}

Result<void> McClient::check_may_talk(CallRecord& record) const {
    if (record.state != CallState::connected || !record.leg) {
        return fail(Errc::invalid_argument,
                    "call " + std::to_string(record.id) + " is not connected");
    }
    if (!record.leg->media->remote().valid()) {
        return fail(Errc::invalid_argument, "peer has no RTP address");
    }
    if (record.leg->floor->running() && !record.leg->floor->may_send_media()) {
        return fail(Errc::forbidden,
                    "no permission to talk: press (ptt) and wait for floor-granted");
    }
    return {};
}

Result<void> McClient::send_rtp(CallId id, unsigned count) {
    auto* record = find(id);
    if (!record) return fail(Errc::invalid_argument, "no call " + std::to_string(id));
    if (auto ok = check_may_talk(*record); !ok) return ok;
    std::vector<std::vector<std::uint8_t>> payloads(count, media::no_data_rtp_payload());
    record->leg->media->queue(payloads);
    return {};
}

Result<void> McClient::speak(CallId id) {
    auto* record = find(id);
    if (!record) return fail(Errc::invalid_argument, "no call " + std::to_string(id));
    if (speech_.empty()) return fail(Errc::invalid_argument, "no speech file (--speak)");
    if (auto ok = check_may_talk(*record); !ok) return ok;
    if (record->leg->media->sending()) return {};
    record->leg->media->queue(speech_, [this, id] {
        auto* r = find(id);
        if (!r || !r->leg) return;
        emit(event(ClientEventType::speech_finished, r));
        if (r->leg->floor->running()) (void)r->leg->floor->release();
    });
    return {};
}

Result<std::uint32_t> McClient::send_payload(CallId id, std::span<const std::uint8_t> payload,
                                             bool marker) {
    auto* record = find(id);
    if (!record) return fail(Errc::invalid_argument, "no call " + std::to_string(id));
    if (auto ok = check_may_talk(*record); !ok) return tl::unexpected(ok.error());
    return record->leg->media->send_now(payload, marker);
}

Result<void> McClient::press(CallId id) {
    auto* record = find(id);
    if (!record || !record->leg || !record->leg->floor->running()) {
        return fail(Errc::invalid_argument, "no call with floor control");
    }
    return record->leg->floor->press();
}

Result<void> McClient::release_floor(CallId id) {
    auto* record = find(id);
    if (!record || !record->leg || !record->leg->floor->running()) {
        return fail(Errc::invalid_argument, "no call with floor control");
    }
    return record->leg->floor->release();
}

void McClient::on_floor_notice(CallId id, const FloorParticipant::Notice& notice) {
    auto* record = find(id);
    if (!record) return;
    switch (notice.what) {
        case FloorNotice::granted:
            record->floor_holder = FloorHolder::us;
            break;
        case FloorNotice::taken:
            record->floor_holder = FloorHolder::peer;
            break;
        case FloorNotice::idle:
        case FloorNotice::revoked:
            record->floor_holder = FloorHolder::nobody;
            break;
        case FloorNotice::denied:
        case FloorNotice::queued:
        case FloorNotice::request_timeout:
            break;
    }
    auto e = event(event_for(notice.what), record);
    e.talker = notice.by;
    e.cause = notice.cause;
    e.reason = notice.phrase;
    e.position = notice.position;
    emit(e);
    // With --speak the client talks as soon as it holds the floor.
    record = find(id);
    if (notice.what == FloorNotice::granted && record && record->leg && !speech_.empty() &&
        record->leg->media->remote().valid()) {
        (void)speak(id);
    }
}

std::vector<CallInfo> McClient::calls() const {
    std::vector<CallInfo> out;
    for (const auto& [id, record] : calls_) {
        const auto* leg = record->leg.get();
        const bool floor = leg && leg->floor->running();
        out.push_back(CallInfo{id, record->peer.uri(), record->state, record->originated,
                               record->rtp_sent + (leg ? leg->media->sent() : 0),
                               record->rtp_received + (leg ? leg->media->received() : 0), floor,
                               floor ? to_string(leg->floor->state()) : "",
                               leg ? leg->system : ""});
    }
    return out;
}

}  // namespace mcx::client
