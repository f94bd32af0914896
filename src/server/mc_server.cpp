#include "server/mc_server.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "net/event_loop.hpp"
#include "net/sdp_codec.hpp"
#include "proto/content_type.hpp"
#include "proto/mcptt_info.hpp"
#include "proto/mcptt_sip.hpp"
#include "proto/multipart.hpp"
#include "proto/resource_lists.hpp"
#include "server/media_address_policy.hpp"

namespace mcx::server {

namespace {

// The callee's registration ended between the policy's check and the lookup of its contact.
Rejection callee_gone(const McServiceId& callee) {
    return Rejection{480, "Temporarily Unavailable",
                     proto::McWarning::unable_to_determine_service_settings,
                     callee.uri() + " is not registered"};
}

// An offer whose c= would make the relay send elsewhere than where the signalling came from
// (docs/security.md): 488 with the reason in a Warning (RFC 3261 21.4.26, warn-code 399).
Rejection media_refused(const std::string& why) {
    return Rejection{488, "Not Acceptable Here", std::nullopt, why};
}

std::optional<std::uint32_t> parse_expires(std::optional<std::string_view> header) {
    if (!header) return std::nullopt;
    std::uint32_t value = 0;
    auto [p, ec] = std::from_chars(header->data(), header->data() + header->size(), value);
    if (ec != std::errc()) return std::nullopt;
    return value;
}

// addr-spec of a name-addr ("<sip:a@b>;tag=x" -> "sip:a@b").
std::string_view addr_spec(std::string_view uri) {
    if (auto open = uri.find('<'); open != std::string_view::npos) {
        auto close = uri.find('>', open);
        return uri.substr(open + 1, close == std::string_view::npos ? close : close - open - 1);
    }
    return uri;
}

}  // namespace

McServer::McServer(const SystemConfig& config, net::SipStack& sip,
                   const idms::TokenVerifier& verifier, PrivateCallPolicy::ProfileLookup profiles,
                   Clock clock, const idms::TokenIssuer* issuer)
    : config_(config),
      sip_(sip),
      verifier_(verifier),
      issuer_(issuer),
      clock_(std::move(clock)),
      registrar_(verifier, config.registration_max_expires),
      policy_(config.max_private_calls_per_user, std::move(profiles),
              [this](const McServiceId& user) { return party_state(user); }),
      overload_(config.overload) {
    sip_.set_request_handler([this](const net::SipMessage& msg) { return on_request(msg); });
    registrar_.set_identity_check(
        [this](const idms::AccessTokenClaims& claims, const McServiceId& aor) {
            return check_identity(claims, aor);
        });
    sip_.set_flow_closed_handler([this](net::FlowId flow) { on_flow_closed(flow); });
    sweep_timer_.start(std::chrono::seconds(5), [this] { sweep_registrations(); });
    auto probe = net::QueueProbe::start(sip_.local_endpoint(), std::chrono::milliseconds(20),
                                        [this](std::int64_t now_ms, std::int64_t delay_ms) {
                                            overload_.note_queue_delay(now_ms, delay_ms);
                                        });
    if (probe) {
        queue_probe_ = std::move(*probe);
        sip_.skip_trace_of(queue_probe_->local());
    } else {
        spdlog::warn("no SIP queue probe ({}): overload control sees failures only",
                     probe.error().reason);
    }
}

void McServer::set_migration(MigratedUserRegistry* registry, AssignId assign) {
    registry_ = registry;
    assign_ = std::move(assign);
}

// Who may register which AOR (TS 24.379 7.3.1, and 10.16 for migrated users): a token of our
// IdMS for its subject (an exchanged token names the user's primary ID, docs/identity.md); a
// token of a partner's IdMS for the ID we assign to that partner's user. [mcx-defined]
Result<std::optional<McServiceId>> McServer::check_identity(const idms::AccessTokenClaims& claims,
                                                            const McServiceId& aor) {
    const auto subject = claims.mc_service_id();
    if (claims.issuer == config_.idms_issuer()) {
        if (subject != aor) {
            return fail(Errc::forbidden,
                        "access token is for " + claims.subject + ", not " + aor.uri());
        }
        return claims.primary_id;
    }
    const auto* partner = config_.partner_by_issuer(claims.issuer);
    if (!partner) return fail(Errc::forbidden, claims.issuer + " is not a partner");
    if (!config_.migration.accept) {
        return fail(Errc::forbidden,
                    "MC system " + config_.system_id + " does not accept migrating users");
    }
    if (!assign_) return fail(Errc::forbidden, "users of partner systems cannot register here");
    auto assigned = assign_(subject, partner->id);
    if (!assigned) return tl::unexpected(assigned.error());
    if (*assigned != aor) {
        return fail(Errc::forbidden,
                    subject.uri() + " registers here as " + assigned->uri() + ", not " + aor.uri());
    }
    return std::optional<McServiceId>(subject);
}

std::optional<McServiceId> McServer::primary_of(const McServiceId& user) const {
    const auto* binding = registrar_.lookup(user, clock_());
    if (binding && binding->primary_id) return binding->primary_id;
    if (user.domain() == config_.domain) return user;
    return std::nullopt;
}

// The registry follows the registrations: a migrated user that leaves is forgotten (10.16.3:
// "B forgets the user"), and one of ours back home is no longer roaming. A failed store write
// is returned: the REGISTER gets 500 and the client tries again.
Result<void> McServer::note_registration(const RegisterOutcome& outcome) {
    if (!registry_) return {};
    if (outcome.primary_id) {
        if (outcome.removed) {
            auto removed = registry_->remove(outcome.aor);
            if (!removed) return tl::unexpected(removed.error());
            if (*removed) {
                spdlog::info("{} ({}) left {}: forgotten", outcome.aor.uri(),
                             outcome.primary_id->uri(), config_.system_id);
            }
        }
        // The row itself is written by the CMS together with the profile valid here (one
        // commit, off the SIP loop); the binding keeps the primary ID meanwhile.
        return {};
    }
    if (outcome.expires > 0 && outcome.aor.domain() == config_.domain) {
        auto back = registry_->returned_home(outcome.aor);
        if (!back) return tl::unexpected(back.error());
        if (*back) spdlog::info("{} is back home in {}", outcome.aor.uri(), config_.system_id);
    }
    return {};
}

void McServer::sweep_registrations() {
    for (const auto& gone : registrar_.expire(clock_())) {
        spdlog::info("registration of {} expired", gone.user.uri());
        if (gone.primary_id && registry_) (void)registry_->remove(gone.user);
    }
    sweep_timer_.start(std::chrono::seconds(5), [this] { sweep_registrations(); });
}

// RFC 5626 4.4: a binding lives as long as its flow. A client whose connection broke
// registers again on a new one; until then calls to it get 480.
void McServer::on_flow_closed(net::FlowId flow) {
    for (const auto& gone : registrar_.drop_flow(flow)) {
        spdlog::info("connection of {} from {} closed: registration removed", gone.user.uri(),
                     gone.source.to_string());
        if (gone.primary_id && registry_) (void)registry_->remove(gone.user);
    }
}

std::optional<Rejection> McServer::access_refusal(const net::SipMessage& msg) const {
    const auto transport = msg.transport();
    const bool allowed = transport == net::Transport::tls ||
                         (transport == net::Transport::udp && config_.sip_access.udp) ||
                         (transport == net::Transport::tcp && config_.sip_access.tcp);
    if (allowed) return std::nullopt;
    std::string detail = std::string("SIP over ") + net::to_string(transport) +
                         " is not accepted from users of " + config_.system_id;
    if (auto tls = sip_.access_tls_endpoint()) detail += ": use TLS, " + tls->to_string();
    return Rejection{403, "Forbidden", std::nullopt, detail};
}

void McServer::drop_retired_registrations(const idms::TokenLedger& ledger) {
    auto gone = registrar_.remove_if([&ledger](const Binding& b) {
        return b.token_issuer == ledger.own_issuer() && !ledger.has_current(b.user, b.client_id);
    });
    for (const auto& binding : gone) {
        spdlog::info("registration of {} dropped: its token was retired", binding.user.uri());
        if (binding.primary_id && registry_) (void)registry_->remove(binding.user);
        std::vector<std::uint64_t> ended;
        for (const auto& [id, call] : calls_) {
            if (call->caller() == binding.user || call->callee() == binding.user)
                ended.push_back(id);
        }
        for (auto id : ended) {
            if (auto it = calls_.find(id); it != calls_.end()) {
                it->second->release(binding.user.uri() + " is no longer authorised");
            }
        }
    }
}

McServer::~McServer() {
    sip_.set_flow_closed_handler(nullptr);
    sip_.set_request_handler(nullptr);
    // Releasing a call erases it from calls_: walk a moved-out copy.
    auto calls = std::move(calls_);
    calls_.clear();
    for (auto& [id, call] : calls) call->release("server shutting down");
}

bool McServer::on_request(const net::SipMessage& msg) {
    if (queue_probe_ && queue_probe_->consume(msg)) return true;
    const auto method = msg.method();
    if ((method == "REGISTER" || method == "INVITE") && !admitted(msg)) return true;
    if (method == "REGISTER" || (method == "INVITE" && !sip_.from_interconnect(msg))) {
        if (auto refusal = access_refusal(msg)) {
            note_failure(msg);
            if (method == "INVITE") ++counters_.invite_rejected;
            if (method == "REGISTER") ++counters_.register_rejected;
            reject(msg, *refusal);
            return true;
        }
    }
    if (method == "REGISTER") {
        on_register(msg);
    } else if (method == "INVITE") {
        on_invite(msg);
    } else if (method == "OPTIONS") {
        // RFC 3261 11.2: the capabilities of a request out of a dialog; no extensions.
        (void)sip_.reply(msg,
                         net::SipResponse{200,
                                          "OK",
                                          "Allow: INVITE, ACK, BYE, CANCEL, REGISTER, OPTIONS\r\n"
                                          "Accept: application/sdp, multipart/mixed\r\n"
                                          "Accept-Encoding: identity\r\n"
                                          "Accept-Language: en\r\n"
                                          "Supported: \r\n",
                                          {},
                                          {}});
    } else {
        return false;
    }
    return true;
}

bool McServer::admitted(const net::SipMessage& msg) {
    const auto now = static_cast<std::int64_t>(net::monotonic_ms());
    const auto admission = overload_.admit(now, msg.source().to_string());
    if (admission.verdict == AdmissionVerdict::admit) return true;
    if (admission.verdict == AdmissionVerdict::drop) {
        ++counters_.overload_dropped;
    } else {
        ++counters_.overload_refused;
        // RFC 3261 21.5.4 and 20.33: the client may retry after the given seconds.
        (void)sip_.reply_stateless(
            msg, 503, admission.reason,
            "Retry-After: " + std::to_string(admission.retry_after_seconds) + "\r\n");
    }
    if (auto held = overload_log_.allow(now)) {
        spdlog::warn(
            "overload: {} from {} {} ({}; refused share {:.2f}; {} more since the last "
            "line; {} refused, {} dropped in all)",
            msg.method(), msg.source().to_string(),
            admission.verdict == AdmissionVerdict::drop ? "dropped" : "answered 503",
            admission.reason, overload_.refused_share(), *held, counters_.overload_refused,
            counters_.overload_dropped);
    }
    return false;
}

void McServer::note_failure(const net::SipMessage& msg) {
    overload_.note_failure(static_cast<std::int64_t>(net::monotonic_ms()),
                           msg.source().to_string());
}

CallPartyState McServer::party_state(const McServiceId& user) const {
    CallPartyState state;
    state.registered = registrar_.lookup(user, clock_()) != nullptr;
    if (auto it = calls_per_user_.find(user); it != calls_per_user_.end()) {
        state.active_calls = it->second;
    }
    return state;
}

void McServer::reject(const net::SipMessage& msg, const Rejection& rejection) {
    std::string headers;
    if (rejection.warning) {
        headers = "Warning: " +
                  proto::format_warning(config_.domain, *rejection.warning, rejection.detail) +
                  "\r\n";
    } else if (!rejection.detail.empty()) {
        std::string text = rejection.detail;
        for (auto& c : text) {
            if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '\'';
        }
        headers = "Warning: 399 " + config_.domain + " \"" + text + "\"\r\n";
    }
    spdlog::info("{} from {} rejected: {} {} {}", msg.method(), msg.from_uri(), rejection.status,
                 rejection.reason, rejection.detail);
    (void)sip_.reply(msg, net::SipResponse{rejection.status, rejection.reason, headers, {}, {}});
}

void McServer::on_register(const net::SipMessage& msg) {
    RegisterRequest request;
    request.to_uri = std::string(msg.to_uri());
    request.contact = std::string(msg.header("Contact").value_or(msg.header("m").value_or("")));
    request.expires_header = parse_expires(msg.header("Expires"));
    request.content_type = std::string(msg.content_type());
    request.body = std::string(msg.body());
    request.source = msg.source();
    request.transport = msg.transport();
    if (sip_.from_interconnect(msg)) {
        ++counters_.register_rejected;
        return reject(msg, Rejection{403, "Forbidden", std::nullopt,
                                     "the interconnect carries no registrations"});
    }
    request.flow = sip_.watch_flow(msg);
    const auto outcome = registrar_.handle(request, clock_());
    if (outcome.status != 200) {
        ++counters_.register_rejected;
        if (outcome.status == 401 || outcome.status == 403) note_failure(msg);
        Rejection rejection{outcome.status, outcome.reason, outcome.warning, outcome.detail};
        std::string headers;
        if (outcome.ask_for_token) {
            headers += "WWW-Authenticate: Bearer realm=\"" + config_.domain + "\"\r\n";
        }
        if (outcome.status == 423)
            headers += "Min-Expires: " + std::to_string(outcome.expires) + "\r\n";
        if (rejection.warning) {
            headers += "Warning: " +
                       proto::format_warning(config_.domain, *rejection.warning, rejection.detail) +
                       "\r\n";
        }
        if (auto held = rejection_log_.allow(static_cast<std::int64_t>(net::monotonic_ms()))) {
            spdlog::info("REGISTER {} from {} rejected: {} {}{}", request.to_uri,
                         msg.source().to_string(), outcome.status, outcome.detail,
                         *held ? " (" + std::to_string(*held) + " more since the last line)" : "");
        }
        (void)sip_.reply(msg, net::SipResponse{outcome.status, outcome.reason, headers, {}, {}});
        return;
    }
    if (auto noted = note_registration(outcome); !noted) {
        ++counters_.register_rejected;
        spdlog::error("REGISTER {}: {}", request.to_uri, noted.error().reason);
        return reject(msg, Rejection{500, "Server Internal Error", std::nullopt,
                                     "the store could not record the registration"});
    }
    ++counters_.register_ok;
    std::string headers;
    if (!outcome.contact_uri.empty()) {
        headers = "Contact: <" + outcome.contact_uri +
                  ">;expires=" + std::to_string(outcome.expires) + "\r\n";
    }
    headers += "Expires: " + std::to_string(outcome.expires) + "\r\n";
    spdlog::info("REGISTER {} -> {} for {}s", request.to_uri, outcome.contact_uri, outcome.expires);
    (void)sip_.reply(msg, net::SipResponse{200, "OK", headers, {}, {}});
}

// The parts of a private-call INVITE every path needs (TS 24.379 11.1.1.3): the SDP offer,
// mcptt-info, and (from a client) the resource-lists naming the callee.
std::variant<McServer::ParsedInvite, Rejection> McServer::parse_invite(const net::SipMessage& msg,
                                                                       bool needs_resource_lists) {
    using proto::McWarning;
    auto malformed = [&](const std::string& what) {
        ++counters_.malformed_requests;
        return Rejection{400, "Bad Request", std::nullopt, what};
    };
    if (msg.body().empty()) {
        return Rejection{403, "Forbidden", McWarning::unable_to_determine_called_party,
                         "INVITE has no body: multipart/mixed with resource-lists required"};
    }
    auto parts = proto::split_body(msg.content_type(), msg.body());
    if (!parts) return malformed(parts.error().reason);
    ParsedInvite parsed;
    const auto* lists = proto::find_part(*parts, proto::kMimeResourceLists);
    if (needs_resource_lists && !lists) {
        return Rejection{403, "Forbidden", McWarning::unable_to_determine_called_party,
                         "INVITE has no resource-lists body (multipart/mixed required)"};
    }
    const auto* info_part = proto::find_part(*parts, proto::kMimeMcpttInfo);
    if (!info_part) return malformed("INVITE has no mcptt-info body");
    auto info = proto::parse_mcptt_info(info_part->body);
    if (!info) return malformed("mcptt-info: " + info.error().reason);
    if (info->session_type && *info->session_type != "private") {
        return Rejection{403, "Forbidden", McWarning::function_not_allowed,
                         "session-type " + *info->session_type + " is not served"};
    }
    parsed.info = std::move(*info);
    if (lists) {
        auto callees = proto::parse_resource_lists(lists->body);
        if (!callees) return malformed(callees.error().reason);
        parsed.callees = std::move(*callees);
    }
    const auto* sdp_part = proto::find_part(*parts, proto::kMimeSdp);
    if (!sdp_part) return malformed("INVITE has no SDP offer");
    auto offer = net::decode_sdp(sdp_part->body);
    if (!offer) return malformed(offer.error().reason);
    if (!proto::find_audio(*offer)) {
        return Rejection{488, "Not Acceptable Here", std::nullopt, "SDP offer has no audio"};
    }
    parsed.offer = std::move(*offer);
    parsed.answer_mode = std::string(msg.header("Answer-Mode").value_or(""));
    return parsed;
}

void McServer::on_invite(const net::SipMessage& msg) {
    using proto::McWarning;
    ++counters_.invite_received;
    auto refuse = [&](const Rejection& rejection) {
        ++counters_.invite_rejected;
        reject(msg, rejection);
    };
    if (sip_.from_interconnect(msg)) return on_partner_invite(msg);

    // The caller is the registered user whose signalling address sent this request: the
    // participating function binds it (TS 24.379 H.3), the From header alone proves nothing.
    auto caller = McServiceId::parse(addr_spec(msg.from_uri()));
    const Binding* binding = caller ? registrar_.lookup(*caller, clock_()) : nullptr;
    // Same transport, host and port as the REGISTER, and over TCP/TLS the very connection
    // (flow, RFC 5626 5.3), so another local process cannot speak for the user.
    if (!binding || binding->transport != msg.transport() || binding->source != msg.source() ||
        binding->flow != sip_.flow_of(msg)) {
        note_failure(msg);
        return refuse(Rejection{403, "Forbidden", McWarning::cannot_bind_identity,
                                "caller is not registered from this address and connection"});
    }
    auto parsed = parse_invite(msg, true);
    if (auto* rejection = std::get_if<Rejection>(&parsed)) return refuse(*rejection);
    auto& invite = std::get<ParsedInvite>(parsed);
    if (auto media = check_media_addresses(invite.offer, msg.source().host, config_.media_networks);
        !media) {
        return refuse(media_refused(media.error().reason));
    }
    auto called = PrivateCallPolicy::called_party(invite.callees);
    if (auto* rejection = std::get_if<Rejection>(&called)) return refuse(*rejection);
    auto callee = std::get<McServiceId>(called);
    // A partner's user who migrated here is served here, under the ID assigned here (TS 23.280
    // 10.16.3): a resume addressed to its primary ID (the peer did not know it moved; both ends
    // migrating at once) must not go to the primary, which will not send it back.
    if (callee.domain() != config_.domain && registry_) {
        if (auto here = registry_->by_primary_id(callee)) {
            callee = here->local_id;
            invite.callees = {callee.uri()};
        }
    }

    // Continuity across migration: the caller's call reference and resume mark travel on, and
    // this system, serving the caller, attests the caller's primary ID (docs/migration.md).
    auto continuity = invite.info.mcx;
    continuity.primary_id.reset();
    if (auto primary = primary_of(*caller)) continuity.primary_id = primary->uri();

    auto callee_id = callee;
    const Binding* callee_binding = nullptr;
    const PartnerConfig* partner = nullptr;
    if (callee.domain() != config_.domain) {
        // TS 23.379 10.7.2.3: a callee of a partner system is reached through its interconnect;
        // the controlling function (and floor control) stays here.
        partner = config_.partner_by_domain(callee.domain());
        if (!partner) {
            return refuse(Rejection{404, "Not Found", McWarning::unable_to_determine_called_party,
                                    "no partner MC system serves " + std::string(callee.domain())});
        }
    } else if (callee_binding = registrar_.lookup(callee, clock_()); !callee_binding) {
        // One of our users served by a partner now (its profile request told us where): the
        // call follows it there. [mcx-defined] until TS 23.280 10.16.5 redirection.
        if (auto away = registry_ ? registry_->roaming(callee) : std::nullopt) {
            partner = config_.find_partner(away->system);
            if (partner) callee_id = away->assigned_id;
        }
    }
    CalleeRoute route;
    if (partner) {
        if (auto rejection = policy_.check_caller(*caller, callee)) return refuse(*rejection);
        auto routed = partner_route(partner, callee_id);
        if (auto* rejection = std::get_if<Rejection>(&routed)) return refuse(*rejection);
        route = std::get<CalleeRoute>(routed);
    } else {
        auto decision = policy_.authorise(PrivateCallRequest{*caller, invite.callees});
        if (auto* rejection = std::get_if<Rejection>(&decision)) return refuse(*rejection);
        callee_binding = registrar_.lookup(callee, clock_());
        if (!callee_binding) return refuse(callee_gone(callee));  // expired since the policy
        route = CalleeRoute{
            callee_binding->contact_uri, callee_binding->source, callee_binding->transport, "", "",
            config_.media_networks};
    }
    CallSetup setup{*caller,
                    callee_id,
                    std::move(route),
                    std::move(invite.offer),
                    std::move(invite.answer_mode),
                    true,
                    {},
                    std::nullopt};
    setup.continuity = std::move(continuity);
    if (!partner) setup.callee_primary = primary_of(callee_id);
    start_call(msg, std::move(setup));
}

std::variant<CalleeRoute, Rejection> McServer::partner_route(const PartnerConfig* partner,
                                                             const McServiceId& callee) {
    using proto::McWarning;
    if (!partner || !config_.interconnect.enabled || partner->sip_port == 0 || !issuer_) {
        return Rejection{404, "Not Found", McWarning::unable_to_determine_called_party,
                         "no interconnect towards the MC system serving " + callee.uri()};
    }
    auto token =
        issuer_->system_token(config_.system_id, partner->token_audience(), clock_() / 1000);
    if (!token) {
        return Rejection{500, "Server Internal Error", std::nullopt,
                         "cannot reach partner " + partner->id};
    }
    return CalleeRoute{callee.uri(),        net::Endpoint{partner->sip_host, partner->sip_port},
                       net::Transport::tls, "Authorization: Bearer " + *token + "\r\n",
                       partner->id,         partner->media_networks};
}

// A private call from a user of a partner system, delivered by that system's controlling
// function over the interconnect (TS 23.379 10.7.2.3): we act as terminating participating
// function and relay floor control unchanged.
void McServer::on_partner_invite(const net::SipMessage& msg) {
    using proto::McWarning;
    auto refuse = [&](const Rejection& rejection) {
        ++counters_.invite_rejected;
        reject(msg, rejection);
    };
    // Mutual TLS authenticated the CA; the system token names the partner (RFC 8898 Bearer).
    std::string token;
    if (auto auth = msg.header("Authorization"); auth && auth->starts_with("Bearer ")) {
        token = std::string(auth->substr(7));
    }
    auto claims = verifier_.verify_system(token, clock_() / 1000);
    const auto* partner = claims ? config_.partner_by_issuer(claims->issuer) : nullptr;
    if (!partner) {
        ++counters_.partner_refused;
        note_failure(msg);
        spdlog::warn("INVITE over the interconnect from {} refused: {}", msg.source().to_string(),
                     claims ? claims->issuer + " is not a partner" : claims.error().reason);
        return refuse(
            Rejection{403, "Forbidden", McWarning::not_authorised_with_interconnected_system,
                      claims ? "not a partner of " + config_.system_id : claims.error().reason});
    }
    auto caller = McServiceId::parse(addr_spec(msg.from_uri()));
    if (!caller || caller->domain() != partner->domain) {
        ++counters_.partner_refused;
        return refuse(
            Rejection{403, "Forbidden", McWarning::not_authorised_with_interconnected_system,
                      "partner " + partner->id + " may only assert users of " + partner->domain});
    }
    auto parsed = parse_invite(msg, false);
    if (auto* rejection = std::get_if<Rejection>(&parsed)) return refuse(*rejection);
    auto& invite = std::get<ParsedInvite>(parsed);
    if (auto media =
            check_media_addresses(invite.offer, msg.source().host, partner->media_networks);
        !media) {
        return refuse(media_refused(media.error().reason));
    }
    auto callee =
        McServiceId::parse(invite.info.called_party_id.value_or(std::string(msg.request_uri())));
    if (!callee || callee->domain() != config_.domain) {
        return refuse(Rejection{404, "Not Found", McWarning::unable_to_determine_called_party,
                                "the called party is not a user of " + config_.system_id});
    }
    // One of our users served by another partner now: the call follows it there, relayed
    // (the controlling function stays in the caller's system). [mcx-defined]
    if (!registrar_.lookup(*callee, clock_()) && registry_) {
        if (auto away = registry_->roaming(*callee); away && away->system != partner->id) {
            auto routed = partner_route(config_.find_partner(away->system), away->assigned_id);
            if (auto* rejection = std::get_if<Rejection>(&routed)) return refuse(*rejection);
            CallSetup setup{*caller,
                            away->assigned_id,
                            std::get<CalleeRoute>(routed),
                            std::move(invite.offer),
                            std::move(invite.answer_mode),
                            false,
                            {},
                            std::nullopt};
            setup.continuity = invite.info.mcx;  // attested by the caller's system
            return start_call(msg, std::move(setup));
        }
    }
    if (auto rejection = policy_.check_callee(*callee)) return refuse(*rejection);
    const auto* binding = registrar_.lookup(*callee, clock_());
    if (!binding) return refuse(callee_gone(*callee));  // expired since the policy's check
    CallSetup setup{*caller,
                    *callee,
                    CalleeRoute{binding->contact_uri, binding->source, binding->transport, "", "",
                                config_.media_networks},
                    std::move(invite.offer),
                    std::move(invite.answer_mode),
                    false,
                    {},
                    std::nullopt};
    setup.continuity = invite.info.mcx;  // the caller's system attests the primary ID
    setup.callee_primary = primary_of(*callee);
    start_call(msg, std::move(setup));
}

void McServer::start_call(const net::SipMessage& msg, CallSetup setup) {
    const auto id = next_call_id_++;
    const auto caller = setup.caller;
    const auto callee = setup.callee;
    PrivateCall::Context context{
        .sip = sip_,
        .legs = legs_,
        .host = config_.host,
        .domain = config_.domain,
        .invite_timeout = std::chrono::seconds(config_.invite_timeout_seconds),
        .partner_timeout = std::chrono::seconds(config_.interconnect.timeout_seconds),
        .inactivity = std::chrono::seconds(config_.call_inactivity_seconds),
        .floor_queueing = config_.floor_queueing,
        .max_floor_priority = config_.max_floor_priority,
        .floor_timers = {},
        .floor_trace = floor_trace_,
        .on_released = [this](PrivateCall& call) { on_call_released(call); },
        .on_state =
            [this](PrivateCall& call, PrivateCall::State state) {
                if (state == PrivateCall::State::connected) {
                    ++counters_.calls_connected;
                    spdlog::info("call {}: {} -> {} connected", call.id(), call.caller().uri(),
                                 call.callee().uri());
                }
            }};
    auto call = PrivateCall::start(std::move(context), id, msg, std::move(setup));
    if (!call) {
        spdlog::error("call setup failed: {}", call.error().reason);
        ++counters_.invite_rejected;
        return reject(msg,
                      Rejection{500, "Server Internal Error", std::nullopt, call.error().reason});
    }
    spdlog::info("call {}: {} -> {} initiating", id, caller.uri(), callee.uri());
    ++calls_per_user_[caller];
    ++calls_per_user_[callee];
    calls_.emplace(id, std::move(*call));
}

void McServer::on_call_released(PrivateCall& call) {
    ++counters_.calls_released;
    for (const auto& user : {call.caller(), call.callee()}) {
        if (auto it = calls_per_user_.find(user);
            it != calls_per_user_.end() && --it->second == 0) {
            calls_per_user_.erase(it);
        }
    }
    auto it = calls_.find(call.id());
    if (it == calls_.end()) return;
    const auto& relayed = call.relay().counters();
    spdlog::info(
        "call {}: released; media relayed {} from the caller, {} from the callee, gated "
        "{}, foreign {}, no destination {}, floor control {}",
        call.id(), relayed.forwarded[0], relayed.forwarded[1], relayed.gated, relayed.foreign,
        relayed.dropped, relayed.floor_packets);
    // Released from inside one of its own callbacks: delete it in a later loop turn.
    sip_.loop().defer_delete(std::move(it->second));
    calls_.erase(it);
}

std::vector<ServerCounters::Named> ServerCounters::named() const {
    return {
        {"register_ok", "REGISTER requests accepted.", register_ok},
        {"register_rejected", "REGISTER requests refused.", register_rejected},
        {"invite_received", "INVITE requests received from clients and partners.", invite_received},
        {"invite_rejected", "INVITE requests refused.", invite_rejected},
        {"calls_connected", "Private calls connected.", calls_connected},
        {"calls_released", "Private calls released.", calls_released},
        {"malformed_requests", "SIP requests refused as malformed.", malformed_requests},
        {"partner_refused", "Interconnect INVITEs refused: the sending system is not trusted.",
         partner_refused},
        {"overload_refused", "REGISTER and INVITE requests answered 503 by overload control.",
         overload_refused},
        {"overload_dropped",
         "REGISTER and INVITE requests dropped: their source was already told to wait.",
         overload_dropped},
    };
}

std::vector<prometheus::Family> McServer::metrics() const {
    using prometheus::Type;
    const auto now = clock_();
    std::vector<prometheus::Family> out{
        {"mcx_info",
         Type::gauge,
         "This MC system (always 1).",
         {{{{"system", config_.system_id}, {"domain", config_.domain}}, 1}}},
        {"mcx_registrations",
         Type::gauge,
         "Registrations now.",
         {{{}, static_cast<double>(registrar_.size(now))}}},
        {"mcx_calls_active",
         Type::gauge,
         "Private calls now (set up or connected).",
         {{{}, static_cast<double>(calls_.size())}}},
        {"mcx_migrated_users",
         Type::gauge,
         "Users of partner systems migrated to this one.",
         {{{}, registry_ ? static_cast<double>(registry_->migrated().size()) : 0.0}}},
        {"mcx_roaming_users",
         Type::gauge,
         "Users of this system served by a partner now.",
         {{{}, registry_ ? static_cast<double>(registry_->roaming().size()) : 0.0}}},
    };
    prometheus::Family keys{
        "mcx_partner_idms_key_known",
        Type::gauge,
        "Whether the key of each partner's IdMS is known (configured or fetched): 1, else 0.",
        {}};
    for (const auto& partner : config_.partners) {
        const auto state = partner_key_state_ ? partner_key_state_(partner) : "unknown";
        keys.samples.push_back(
            {{{"partner", partner.id}}, state == "configured" || state == "fetched" ? 1.0 : 0.0});
    }
    out.push_back(std::move(keys));
    for (const auto& counter : counters_.named()) {
        out.push_back({std::string("mcx_") + counter.name + "_total",
                       Type::counter,
                       counter.help,
                       {{{}, static_cast<double>(counter.value)}}});
    }
    out.push_back({"mcx_sip_stream_connections",
                   Type::gauge,
                   "SIP connections over TCP and TLS open now (clients' and partners').",
                   {{{}, static_cast<double>(sip_.stream_connections())}}});
    prometheus::Family stream_refusals{
        "mcx_sip_stream_refused_total",
        Type::counter,
        "SIP connections over TCP and TLS refused or closed before libre decoded a message, by "
        "reason ([sip] stream_* keys; docs/security.md, \"SIP over TCP and TLS\").",
        {}};
    const auto& refused = sip_.stream_refusals();
    for (std::size_t i = 0; i < refused.size(); ++i) {
        stream_refusals.samples.push_back(
            {{{"reason", net::to_string(static_cast<net::SipStreamRefusal>(i))}},
             static_cast<double>(refused[i])});
    }
    out.push_back(std::move(stream_refusals));
    return out;
}

std::string McServer::status_json() const {
    const auto now = clock_();
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& [id, call] : calls_) {
        calls.push_back(
            {{"id", id},
             {"caller", call->caller().uri()},
             {"callee", call->callee().uri()},
             {"state", to_string(call->state())},
             {"floor", call->floor() ? to_string(call->floor()->state()) : "none"},
             {"floor_holder",
              call->floor() && call->floor()->holder()
                  ? (*call->floor()->holder() == 0 ? call->caller().uri() : call->callee().uri())
                  : ""},
             {"gated_packets", call->relay().counters().gated},
             {"foreign_packets", call->relay().counters().foreign},
             {"partner", call->setup().route.partner},
             {"relay_ports",
              {{"caller",
                {call->relay().local_port(Leg::caller, MediaKind::audio_rtp),
                 call->relay().local_port(Leg::caller, MediaKind::audio_rtcp),
                 call->relay().local_port(Leg::caller, MediaKind::floor_control)}},
               {"callee",
                {call->relay().local_port(Leg::callee, MediaKind::audio_rtp),
                 call->relay().local_port(Leg::callee, MediaKind::audio_rtcp),
                 call->relay().local_port(Leg::callee, MediaKind::floor_control)}}}},
             {"controlling", call->setup().controlling},
             {"relayed_packets",
              call->relay().counters().forwarded[0] + call->relay().counters().forwarded[1]}});
    }
    nlohmann::json status{{"system", config_.system_id},
                          {"domain", config_.domain},
                          {"registrations", registrar_.size(now)},
                          {"active_calls", calls_.size()},
                          {"calls", calls},
                          {"counters", nlohmann::json::object()}};
    for (const auto& counter : counters_.named()) status["counters"][counter.name] = counter.value;
    status["overload"] = {{"refused_share", overload_.refused_share()},
                          {"queue_delay_samples", overload_.delay_samples()},
                          {"queue_delay_ms", overload_.last_delay_ms()},
                          {"queue_delay_max_ms", overload_.max_delay_ms()},
                          {"failing_sources", overload_.tracked_sources()}};
    auto& migrated = status["migrated_users"] = nlohmann::json::array();
    auto& roaming = status["roaming_users"] = nlohmann::json::array();
    if (registry_) {
        for (const auto& user : registry_->migrated()) {
            migrated.push_back({{"primary_id", user.primary_id.uri()},
                                {"local_id", user.local_id.uri()},
                                {"home", user.home_system},
                                {"since_ms", user.since_ms}});
        }
        for (const auto& user : registry_->roaming()) {
            roaming.push_back({{"primary_id", user.primary_id.uri()},
                               {"system", user.system},
                               {"assigned_id", user.assigned_id.uri()},
                               {"since_ms", user.since_ms}});
        }
    }
    auto& keys = status["partner_idms_keys"] = nlohmann::json::object();
    for (const auto& partner : config_.partners) {
        keys[partner.id] = partner_key_state_ ? partner_key_state_(partner) : "unknown";
    }
    return status.dump();
}

}  // namespace mcx::server
