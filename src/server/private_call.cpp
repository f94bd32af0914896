#include "server/private_call.hpp"

#include <spdlog/spdlog.h>

#include "net/sdp_codec.hpp"
#include "proto/content_type.hpp"
#include "proto/mcptt_info.hpp"
#include "proto/mcptt_sip.hpp"
#include "proto/multipart.hpp"
#include "proto/warning.hpp"
#include "server/media_anchor.hpp"

namespace mcx::server {

namespace {

constexpr const char* kServerContactUser = "mcptt-cf";

std::string multipart_type() {
    return std::string(proto::kMimeMultipartMixed) +
           ";boundary=" + std::string(proto::kMultipartBoundary);
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
    call->relay_->set_remote(Leg::caller, media_destinations(call->setup_.caller_offer));

    auto callee_offer = net::encode_sdp(anchor_sdp(call->setup_.caller_offer, call->context_.host,
                                                   ports_for(*call->relay_, Leg::callee)));
    if (!callee_offer) return tl::unexpected(callee_offer.error());

    auto caller_leg = net::InviteDialog::accept(
        call->context_.sip, invite, kServerContactUser, std::string(proto::kMcpttContactParams),
        [self](net::DialogEvent e, const net::SipMessage* m) { self->on_caller_event(e, m); });
    if (!caller_leg) return tl::unexpected(caller_leg.error());
    call->caller_leg_ = std::move(*caller_leg);

    // Callee leg (CF -> T-PF -> callee client, TS 24.379 H.3): the caller's and the callee's
    // MCPTT IDs travel in mcptt-info; the caller's identity is asserted by the network.
    proto::McpttInfo info;
    info.session_type = "private";
    info.calling_user_id = call->setup_.caller.uri();
    info.called_party_id = call->setup_.callee.uri();
    const std::string body = proto::build_multipart(
        {{std::string(proto::kMimeSdp), *callee_offer},
         {std::string(proto::kMimeMcpttInfo), proto::build_mcptt_info(info)}},
        proto::kMultipartBoundary);

    net::OutgoingInvite out;
    const auto& binding = call->setup_.callee_binding;
    out.request_uri = binding.contact_uri;
    out.from_uri = call->setup_.caller.uri();
    out.to_uri = call->setup_.callee.uri();
    out.next_hop = binding.source;
    out.transport = binding.transport;
    out.contact_user = kServerContactUser;
    out.contact_params = std::string(proto::kMcpttContactParams);
    out.headers = "P-Asserted-Identity: <" + call->setup_.caller.uri() + ">\r\n" +
                  "P-Asserted-Service: " + std::string(proto::kIcsiMcptt) + "\r\n" +
                  "Accept-Contact: *;+g.3gpp.mcptt;require;explicit\r\n";
    if (!call->setup_.answer_mode.empty()) {
        out.headers += "Answer-Mode: " + call->setup_.answer_mode + "\r\n";
    }
    out.content_type = multipart_type();
    out.body = body;
    auto callee_leg = net::InviteDialog::connect(
        call->context_.sip, out,
        [self](net::DialogEvent e, const net::SipMessage* m) { self->on_callee_event(e, m); });
    if (!callee_leg) {
        (void)call->caller_leg_->reject(500, "Server Internal Error");
        return tl::unexpected(callee_leg.error());
    }
    call->callee_leg_ = std::move(*callee_leg);
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
        self->finish();
    });
    return call;
}

PrivateCall::~PrivateCall() = default;

void PrivateCall::set_state(State state) {
    if (state_ == state) return;
    spdlog::debug("call {}: {} -> {}", id_, to_string(state_), to_string(state));
    state_ = state;
    if (context_.on_state) context_.on_state(*this, state);
}

void PrivateCall::finish() {
    if (state_ == State::released) return;
    no_answer_timer_.cancel();
    set_state(State::released);
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
    finish();
}

void PrivateCall::on_caller_event(net::DialogEvent event, const net::SipMessage*) {
    switch (event) {
        case net::DialogEvent::confirmed:
            return;
        case net::DialogEvent::cancelled:
        case net::DialogEvent::bye:
        case net::DialogEvent::ack_timeout:
            spdlog::info("call {}: caller ended the call ({})", id_, net::to_string(event));
            callee_leg_->hangup();
            finish();
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
            if (msg && (msg->status() == 180 || msg->status() == 183)) {
                (void)caller_leg_->progress(msg->status(), std::string(msg->reason()));
                set_state(State::alerting);
            }
            return;
        case net::DialogEvent::answered:
            on_callee_answer(*msg);
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
            } else {
                headers =
                    "Warning: " +
                    proto::format_warning(context_.domain, proto::McWarning::function_not_allowed,
                                          "the called user's client did not respond") +
                    "\r\n";
            }
            spdlog::info("call {}: callee refused: {} {}", id_, status, reason);
            reject_caller(status, reason, headers);
            finish();
            return;
        }
        case net::DialogEvent::bye:
            spdlog::info("call {}: callee ended the call", id_);
            caller_leg_->hangup();
            finish();
            return;
        case net::DialogEvent::confirmed:
        case net::DialogEvent::cancelled:
        case net::DialogEvent::ack_timeout:
            return;  // UAS events: not for the callee's (UAC) leg
    }
}

void PrivateCall::on_callee_answer(const net::SipMessage& msg) {
    no_answer_timer_.cancel();
    auto fail_call = [this](const std::string& why) {
        spdlog::warn("call {}: callee's answer unusable: {}", id_, why);
        callee_leg_->hangup();
        reject_caller(500, "Server Internal Error",
                      "Warning: 399 " + context_.domain + " \"callee answer unusable\"\r\n");
        finish();
    };
    auto parts = proto::split_body(msg.content_type(), msg.body());
    if (!parts) return fail_call(parts.error().reason);
    const auto* sdp_part = proto::find_part(*parts, proto::kMimeSdp);
    if (!sdp_part) return fail_call("no SDP answer");
    auto answer = net::decode_sdp(sdp_part->body);
    if (!answer) return fail_call(answer.error().reason);
    relay_->set_remote(Leg::callee, media_destinations(*answer));
    auto caller_answer =
        net::encode_sdp(anchor_sdp(*answer, context_.host, ports_for(*relay_, Leg::caller)));
    if (!caller_answer) return fail_call(caller_answer.error().reason);

    proto::McpttInfo info;
    info.session_type = "private";
    info.called_party_id = setup_.callee.uri();
    const std::string body = proto::build_multipart(
        {{std::string(proto::kMimeSdp), *caller_answer},
         {std::string(proto::kMimeMcpttInfo), proto::build_mcptt_info(info)}},
        proto::kMultipartBoundary);
    if (auto sent = caller_leg_->answer({}, multipart_type(), body); !sent) {
        return fail_call(sent.error().reason);
    }
    set_state(State::connected);
}

}  // namespace mcx::server
