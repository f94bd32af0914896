#include "server/private_call.hpp"

#include <spdlog/spdlog.h>

#include "net/sdp_codec.hpp"
#include "proto/content_type.hpp"
#include "proto/floor_message.hpp"
#include "proto/mc_service.hpp"
#include "proto/mcptt_fmtp.hpp"
#include "proto/mcptt_info.hpp"
#include "proto/mcptt_sip.hpp"
#include "proto/multipart.hpp"
#include "proto/reason.hpp"
#include "server/media_address_policy.hpp"
#include "server/media_anchor.hpp"

namespace mcx::server {

namespace {

constexpr const char* kServerContactUser = "mcptt-cf";

std::string multipart_type() {
    return std::string(proto::kMimeMultipartMixed) +
           ";boundary=" + std::string(proto::kMultipartBoundary);
}

proto::FloorControlParams floor_params(const proto::SessionDescription& sd) {
    if (const auto* floor = proto::find_floor_control(sd)) {
        if (auto params = proto::parse_floor_control_params(floor->formats.front().params)) {
            return *params;
        }
    }
    return {};
}

void set_floor_params(proto::SessionDescription& sd, const proto::FloorControlParams& params) {
    if (auto* floor = proto::find_floor_control(sd)) {
        floor->formats.front().params = proto::format_floor_control_params(params);
    }
}

AnchorPorts ports_for(const MediaRelay& relay, Leg leg) {
    return AnchorPorts{relay.local_port(leg, MediaKind::audio_rtp),
                       relay.local_port(leg, MediaKind::audio_rtcp),
                       relay.local_port(leg, MediaKind::floor_control)};
}

}  // namespace

const char* to_string(PrivateCall::State state) {
    switch (state) {
        case PrivateCall::State::initiating:
            return "initiating";
        case PrivateCall::State::alerting:
            return "alerting";
        case PrivateCall::State::connected:
            return "connected";
        case PrivateCall::State::released:
            return "released";
    }
    return "unknown";
}

const char* to_string(PrivateCall::Event event) {
    switch (event) {
        case PrivateCall::Event::callee_alerting:
            return "callee-alerting";
        case PrivateCall::Event::callee_answered:
            return "callee-answered";
        case PrivateCall::Event::callee_refused:
            return "callee-refused";
        case PrivateCall::Event::answer_unusable:
            return "answer-unusable";
        case PrivateCall::Event::no_answer:
            return "no-answer";
        case PrivateCall::Event::partner_timeout:
            return "partner-timeout";
        case PrivateCall::Event::caller_release:
            return "caller-release";
        case PrivateCall::Event::callee_release:
            return "callee-release";
        case PrivateCall::Event::server_release:
            return "server-release";
    }
    return "unknown";
}

std::optional<PrivateCall::State> PrivateCall::next(State state, Event event) {
    switch (state) {
        case State::initiating:
        case State::alerting:
            switch (event) {
                case Event::callee_alerting:
                    return State::alerting;
                case Event::callee_answered:
                    return State::connected;
                case Event::partner_timeout:
                    // The partner timer stops at the first response: never in alerting.
                    if (state == State::alerting) return std::nullopt;
                    return State::released;
                case Event::callee_refused:
                case Event::answer_unusable:
                case Event::no_answer:
                case Event::caller_release:
                case Event::callee_release:
                case Event::server_release:
                    return State::released;
            }
            return std::nullopt;
        case State::connected:
            switch (event) {
                case Event::caller_release:
                case Event::callee_release:
                case Event::server_release:
                    return State::released;
                case Event::callee_alerting:
                case Event::callee_answered:
                case Event::callee_refused:
                case Event::answer_unusable:
                case Event::no_answer:  // the no-answer timer stops with the callee's 2xx
                case Event::partner_timeout:
                    return std::nullopt;
            }
            return std::nullopt;
        case State::released:
            return std::nullopt;
    }
    return std::nullopt;
}

namespace {

// The Reason headers (RFC 3326) of a BYE, passed on to the other leg: a call released for
// migration says so to the peer's client (docs/migration.md). Only well-formed values pass.
std::string relayed_reason(const net::SipMessage* msg) {
    std::string headers;
    if (!msg) return headers;
    for (auto value : msg->headers("Reason")) {
        if (value.size() > 256 || !proto::parse_reason(value)) continue;
        headers += "Reason: " + std::string(value) + "\r\n";
    }
    return headers;
}

}  // namespace

PrivateCall::PrivateCall(Context context, std::uint64_t id, CallSetup setup)
    : context_(std::move(context)), id_(id), setup_(std::move(setup)) {}

Result<std::unique_ptr<PrivateCall>> PrivateCall::start(Context context, std::uint64_t id,
                                                        const net::SipMessage& invite,
                                                        CallSetup setup) {
    std::unique_ptr<PrivateCall> call(new PrivateCall(std::move(context), id, std::move(setup)));
    auto* self = call.get();
    auto relay = MediaRelay::create(call->context_.host);
    if (!relay) return tl::unexpected(relay.error());
    call->relay_ = std::move(*relay);
    if (call->context_.floor_trace) call->relay_->set_floor_trace(call->context_.floor_trace);
    call->relay_->set_remote(Leg::caller, media_destinations(call->setup_.caller_offer));

    // Towards the callee the controlling function offers its own floor control parameters.
    auto callee_sdp = anchor_sdp(call->setup_.caller_offer, call->context_.host,
                                 ports_for(*call->relay_, Leg::callee));
    set_floor_params(callee_sdp,
                     proto::FloorControlParams{call->context_.floor_queueing,
                                               call->context_.max_floor_priority, false, false});
    auto callee_offer = net::encode_sdp(callee_sdp);
    if (!callee_offer) return tl::unexpected(callee_offer.error());

    // Callee leg (CF -> T-PF -> callee client, TS 24.379 H.3): the caller's and the callee's
    // MCPTT IDs travel in mcptt-info; the caller's identity is asserted by the network.
    proto::McpttInfo info;
    info.session_type = "private";
    info.calling_user_id = call->setup_.caller.uri();
    info.called_party_id = call->setup_.callee.uri();
    info.mcx = call->setup_.continuity;
    const std::string body = proto::build_multipart(
        {{std::string(proto::kMimeSdp), *callee_offer},
         {std::string(proto::kMimeMcpttInfo), proto::build_mcptt_info(info)}},
        proto::kMultipartBoundary);

    net::OutgoingInvite out;
    const auto& route = call->setup_.route;
    out.request_uri = route.request_uri;
    out.from_uri = call->setup_.caller.uri();
    out.to_uri = call->setup_.callee.uri();
    out.next_hop = route.next_hop;
    out.transport = route.transport;
    out.contact_user = kServerContactUser;
    out.contact_params = proto::contact_params(proto::describe(proto::McService::mcptt));
    out.headers = "P-Asserted-Identity: <" + call->setup_.caller.uri() + ">\r\n" +
                  proto::asserted_service_header(proto::describe(proto::McService::mcptt)) +
                  proto::accept_contact_headers(proto::describe(proto::McService::mcptt));
    out.headers += route.headers;
    if (!call->setup_.answer_mode.empty()) {
        out.headers += "Answer-Mode: " + call->setup_.answer_mode + "\r\n";
    }
    out.content_type = multipart_type();
    out.body = body;
    auto on_callee = [self](net::DialogEvent e, const net::SipMessage* m) {
        self->on_callee_event(e, m);
    };
    if (call->context_.legs && call->context_.legs->port_shared() &&
        route.transport == net::Transport::udp && route.partner.empty()) {
        call->callee_leg_ = net::OutgoingDialog::connect(*call->context_.legs,
                                                         call->context_.sip.loop(), out, on_callee);
    } else {
        auto callee_leg = net::OutgoingDialog::connect(call->context_.sip, out, on_callee);
        if (!callee_leg) return tl::unexpected(callee_leg.error());  // the caller gets 500
        call->callee_leg_ = std::move(*callee_leg);
    }
    // The caller's INVITE is taken over last: until here a failure is answered by McServer,
    // from here on by this call (one final response either way).
    auto caller_leg = net::InviteDialog::accept(
        call->context_.sip, invite, kServerContactUser,
        proto::contact_params(proto::describe(proto::McService::mcptt)),
        [self](net::DialogEvent e, const net::SipMessage* m) { self->on_caller_event(e, m); });
    if (!caller_leg) {
        call->callee_leg_->hangup();
        return tl::unexpected(caller_leg.error());
    }
    call->caller_leg_ = std::move(*caller_leg);
    call->no_answer_timer_.start(call->context_.invite_timeout, [self] {
        spdlog::info("call {}: {} did not answer within {}s", self->id_, self->setup_.callee.uri(),
                     self->context_.invite_timeout.count());
        self->callee_leg_->hangup();
        self->reject_caller(
            480, "Temporarily Unavailable",
            "Warning: " +
                proto::format_warning(self->context_.domain, proto::McWarning::function_not_allowed,
                                      "no answer from the called user") +
                "\r\n");
        self->finish(Event::no_answer);
    });
    if (!call->setup_.route.partner.empty()) {
        // A partner that does not answer at all (down, or unreachable without a reset) must not
        // hold the caller for the whole INVITE transaction: give up after partner_timeout.
        call->partner_timer_.start(call->context_.partner_timeout, [self] {
            spdlog::warn("call {}: partner MC system {} did not answer within {}s", self->id_,
                         self->setup_.route.partner, self->context_.partner_timeout.count());
            self->callee_leg_->hangup();
            self->reject_caller(504, "Server Time-out",
                                "Warning: 399 " + self->context_.domain + " \"partner MC system " +
                                    self->setup_.route.partner + " did not answer within " +
                                    std::to_string(self->context_.partner_timeout.count()) +
                                    " s\"\r\n");
            self->finish(Event::partner_timeout);
        });
    }
    return call;
}

PrivateCall::~PrivateCall() = default;

bool PrivateCall::transition(Event event) {
    const auto to = next(state_, event);
    if (!to) {
        spdlog::debug("call {}: {} ignored in state {}", id_, to_string(event), to_string(state_));
        return false;
    }
    if (*to == state_) return true;
    spdlog::debug("call {}: {} -> {} ({})", id_, to_string(state_), to_string(*to),
                  to_string(event));
    state_ = *to;
    if (context_.on_state) context_.on_state(*this, state_);
    return true;
}

void PrivateCall::finish(Event why) {
    if (next(state_, why) != State::released) {
        // Already released (a second reason to end the call), or not an ending here.
        spdlog::debug("call {}: {} ignored in state {}", id_, to_string(why), to_string(state_));
        return;
    }
    no_answer_timer_.cancel();
    partner_timer_.cancel();
    inactivity_timer_.cancel();
    if (floor_) apply(floor_->stop());
    transition(why);
    context_.on_released(*this);
}

void PrivateCall::reject_caller(std::uint16_t status, const std::string& reason,
                                const std::string& headers) {
    if (caller_leg_->state() == net::InviteDialog::State::early) {
        (void)caller_leg_->reject(status, reason, headers);
    } else {
        caller_leg_->hangup();
    }
}

void PrivateCall::release(const std::string& why) {
    spdlog::info("call {}: released by the server: {}", id_, why);
    callee_leg_->hangup();
    reject_caller(480, "Temporarily Unavailable", {});
    finish(Event::server_release);
}

void PrivateCall::on_caller_event(net::DialogEvent event, const net::SipMessage* msg) {
    switch (event) {
        case net::DialogEvent::confirmed:
            return;
        case net::DialogEvent::cancelled:
        case net::DialogEvent::bye:
        case net::DialogEvent::ack_timeout:
            spdlog::info("call {}: caller ended the call ({})", id_, net::to_string(event));
            callee_leg_->hangup(relayed_reason(msg));
            finish(Event::caller_release);
            return;
        case net::DialogEvent::provisional:
        case net::DialogEvent::answered:
        case net::DialogEvent::failed:
            return;  // UAC events: not for the caller's (UAS) leg
    }
}

void PrivateCall::on_callee_event(net::DialogEvent event, const net::SipMessage* msg) {
    switch (event) {
        case net::DialogEvent::provisional:
            partner_timer_.cancel();
            if (msg && (msg->status() == 180 || msg->status() == 183)) {
                (void)caller_leg_->progress(msg->status(), std::string(msg->reason()));
                transition(Event::callee_alerting);
            }
            return;
        case net::DialogEvent::answered:
            partner_timer_.cancel();
            on_callee_answer(msg);
            return;
        case net::DialogEvent::failed: {
            std::string headers;
            std::uint16_t status = 480;
            std::string reason = "Temporarily Unavailable";
            if (msg) {
                status = msg->status();
                reason = std::string(msg->reason());
                // The callee's reason (e.g. 110 user declined) reaches the caller unchanged.
                for (auto warning : msg->headers("Warning")) {
                    headers += "Warning: " + std::string(warning) + "\r\n";
                }
            } else if (!setup_.route.partner.empty()) {
                // TLS refused, connection reset, or no answer: the partner is unreachable.
                status = 502;
                reason = "Bad Gateway";
                headers = "Warning: 399 " + context_.domain + " \"partner MC system " +
                          setup_.route.partner + " unreachable\"\r\n";
            } else {
                headers =
                    "Warning: " +
                    proto::format_warning(context_.domain, proto::McWarning::function_not_allowed,
                                          "the called user's client did not respond") +
                    "\r\n";
            }
            spdlog::info("call {}: callee refused: {} {}", id_, status, reason);
            reject_caller(status, reason, headers);
            finish(Event::callee_refused);
            return;
        }
        case net::DialogEvent::bye:
            spdlog::info("call {}: callee ended the call", id_);
            caller_leg_->hangup(relayed_reason(msg));
            finish(Event::callee_release);
            return;
        case net::DialogEvent::confirmed:
        case net::DialogEvent::cancelled:
        case net::DialogEvent::ack_timeout:
            return;  // UAS events: not for the callee's (UAC) leg
    }
}

void PrivateCall::on_callee_answer(const net::SipMessage* msg) {
    no_answer_timer_.cancel();
    partner_timer_.cancel();
    auto fail_call = [this](const std::string& why) {
        spdlog::warn("call {}: callee's answer unusable: {}", id_, why);
        callee_leg_->hangup();
        reject_caller(500, "Server Internal Error",
                      "Warning: 399 " + context_.domain + " \"callee answer unusable\"\r\n");
        finish(Event::answer_unusable);
    };
    // The 2xx can be missing when it did not survive the hand-over from the leg thread.
    if (!msg) return fail_call("the 2xx was lost");
    auto parts = proto::split_body(msg->content_type(), msg->body());
    if (!parts) return fail_call(parts.error().reason);
    const auto* sdp_part = proto::find_part(*parts, proto::kMimeSdp);
    if (!sdp_part) return fail_call("no SDP answer");
    auto answer = net::decode_sdp(sdp_part->body);
    if (!answer) return fail_call(answer.error().reason);
    if (auto media =
            check_media_addresses(*answer, msg->source().host, setup_.route.media_networks);
        !media) {
        spdlog::warn("call {}: callee's answer refused: {}", id_, media.error().reason);
        callee_leg_->hangup();
        std::string text = media.error().reason;
        for (auto& c : text) {
            if (c == '"' || c == '\\') c = '\'';
        }
        reject_caller(488, "Not Acceptable Here",
                      "Warning: 399 " + context_.domain + " \"callee: " + text + "\"\r\n");
        return finish(Event::answer_unusable);
    }
    relay_->set_remote(Leg::callee, media_destinations(*answer));
    auto caller_sdp = anchor_sdp(*answer, context_.host, ports_for(*relay_, Leg::caller));
    if (setup_.controlling) {
        set_floor_params(caller_sdp, proto::answer_floor_control(floor_params(setup_.caller_offer),
                                                                 context_.floor_queueing,
                                                                 context_.max_floor_priority));
    }
    auto caller_answer = net::encode_sdp(caller_sdp);
    if (!caller_answer) return fail_call(caller_answer.error().reason);

    proto::McpttInfo info;
    info.session_type = "private";
    info.called_party_id = setup_.callee.uri();
    info.mcx.call_ref = setup_.continuity.call_ref;
    if (setup_.callee_primary) {
        info.mcx.primary_id = setup_.callee_primary->uri();
    } else if (!setup_.route.partner.empty()) {
        // The callee's system attests its user's primary ID; the partner is authenticated.
        if (const auto* part = proto::find_part(*parts, proto::kMimeMcpttInfo)) {
            if (auto answered = proto::parse_mcptt_info(part->body)) {
                info.mcx.primary_id = answered->mcx.primary_id;
            }
        }
    }
    const std::string body = proto::build_multipart(
        {{std::string(proto::kMimeSdp), *caller_answer},
         {std::string(proto::kMimeMcpttInfo), proto::build_mcptt_info(info)}},
        proto::kMultipartBoundary);
    if (auto sent = caller_leg_->answer({}, multipart_type(), body); !sent) {
        return fail_call(sent.error().reason);
    }
    if (!transition(Event::callee_answered)) return;  // e.g. the call ended meanwhile
    if (setup_.controlling) start_floor_control(*answer);
    if (context_.inactivity.count() > 0) {
        inactivity_timer_.start(context_.inactivity, [this] { check_activity(); });
    }
}

// [mcx-defined] A call whose parties have gone (no BYE: crash, lost network) would be kept
// forever: with no RTP, RTCP or floor packet for `inactivity`, both legs are ended.
void PrivateCall::check_activity() {
    const auto seen = relay_->packets_seen();
    if (seen == packets_at_last_check_) {
        release("no media or floor control for " + std::to_string(context_.inactivity.count()) +
                " s");
        return;
    }
    packets_at_last_check_ = seen;
    inactivity_timer_.start(context_.inactivity, [this] { check_activity(); });
}

void PrivateCall::start_floor_control(const proto::SessionDescription& callee_answer) {
    // Floor control runs when both legs kept the floor control m-line (TS 24.380 12.1);
    // otherwise this is a private call without floor control (TS 24.379 11.1.2).
    if (!proto::find_floor_control(setup_.caller_offer) ||
        !proto::find_floor_control(callee_answer)) {
        return;
    }
    const auto caller_params = floor_params(setup_.caller_offer);
    const auto callee_params = floor_params(callee_answer);
    const auto caller_granted = proto::answer_floor_control(caller_params, context_.floor_queueing,
                                                            context_.max_floor_priority);
    std::vector<FloorControlServer::Participant> participants{
        {setup_.caller.uri(), caller_granted.queueing, caller_granted.priority.value_or(0)},
        {setup_.callee.uri(), callee_params.queueing && context_.floor_queueing,
         callee_params.priority.value_or(context_.max_floor_priority)}};
    floor_ = std::make_unique<FloorControlServer>(
        std::move(participants), static_cast<std::uint32_t>(0x4D430000u | (id_ & 0xffffu)),
        context_.floor_timers);
    relay_->set_floor_handler(
        [this](Leg from, std::span<const std::uint8_t> packet) { on_floor_packet(from, packet); });
    relay_->set_audio_gate([this](Leg from) {
        FloorControlServer::Effects effects;
        const bool allowed = floor_->on_rtp(static_cast<std::size_t>(from), effects);
        if (!effects.timers.empty() || !effects.send.empty()) apply(std::move(effects));
        return allowed;
    });
    // TS 24.380 6.3.4.2: an implicit floor request in the INVITE is served now.
    apply(floor_->start(caller_params.implicit_request ? std::optional<std::size_t>(0)
                                                       : std::nullopt));
}

void PrivateCall::on_floor_packet(Leg from, std::span<const std::uint8_t> packet) {
    auto messages = proto::floor::decode_datagram(packet);
    if (!messages) {
        ++malformed_floor_packets_;
        spdlog::debug("call {}: floor packet from the {} dropped: {}", id_,
                      from == Leg::caller ? "caller" : "callee", messages.error().reason);
        return;
    }
    for (const auto& message : *messages) {
        apply(floor_->on_message(static_cast<std::size_t>(from), message));
    }
}

void PrivateCall::apply(FloorControlServer::Effects effects) {
    for (const auto& out : effects.send) {
        const auto bytes = proto::floor::encode(out.message);
        relay_->send_floor(static_cast<Leg>(out.to), bytes);
    }
    for (const auto& command : effects.timers) {
        auto& timer = floor_timers_[static_cast<std::size_t>(command.timer)];
        if (!command.start) {
            timer.cancel();
            continue;
        }
        timer.start(command.duration, [this, t = command.timer, g = command.generation] {
            apply(floor_->on_timer(t, g));
        });
    }
}

}  // namespace mcx::server
