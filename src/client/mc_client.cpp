// McClient: sign-in at the IdMS, registration with service authorisation, profile retrieval,
// events to the user. Calls are in call_signalling.cpp, migration in mc_client_migration.cpp.
#include "client/mc_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "media/amr_wb.hpp"
#include "media/wav.hpp"
#include "proto/warning.hpp"

namespace mcx::client {

const char* to_string(ClientEventType type) {
    switch (type) {
        case ClientEventType::signed_in:
            return "signed-in";
        case ClientEventType::login_failed:
            return "login-failed";
        case ClientEventType::registered:
            return "registered";
        case ClientEventType::registration_failed:
            return "registration-failed";
        case ClientEventType::unregistered:
            return "unregistered";
        case ClientEventType::logged_out:
            return "logged-out";
        case ClientEventType::profile:
            return "profile";
        case ClientEventType::profile_failed:
            return "profile-failed";
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
        case ClientEventType::suspended:
            return "suspended";
        case ClientEventType::call_resumed:
            return "call-resumed";
        case ClientEventType::call_resume_failed:
            return "call-resume-failed";
        case ClientEventType::migration_step:
            return "migration-step";
        case ClientEventType::migrated:
            return "migrated";
        case ClientEventType::migration_failed:
            return "migration-failed";
        case ClientEventType::serving_lost:
            return "serving-lost";
        case ClientEventType::standby_ready:
            return "standby-ready";
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

const char* to_string(ReleaseReason reason) {
    switch (reason) {
        case ReleaseReason::hung_up:
            return "hung up";
        case ReleaseReason::peer_hung_up:
            return "peer hung up";
        case ReleaseReason::rejected:
            return "rejected by user";
        case ReleaseReason::refused:
            return "refused";
        case ReleaseReason::cancelled:
            return "cancelled by caller";
        case ReleaseReason::no_ack:
            return "no ACK";
        case ReleaseReason::unusable_answer:
            return "unusable answer";
        case ReleaseReason::suspended_for_migration:
            return "suspended for migration";
        case ReleaseReason::peer_migrating:
            return "peer migrating";
        case ReleaseReason::not_resumed:
            return "not resumed in time";
        case ReleaseReason::resume_failed:
            return "resume failed";
        case ReleaseReason::serving_system_lost:
            return "serving MC system lost";
        case ReleaseReason::shutdown:
            return "client stopping";
    }
    return "unknown";
}

McClient::McClient(net::EventLoop& loop, ClientConfig config, Observer observer)
    : loop_(loop),
      config_(std::move(config)),
      observer_(std::move(observer)),
      migration_(config_.migration.timers) {
    if (config_.client_id.empty()) config_.client_id = random_client_id();
    if (config_.home.empty() && !config_.user.empty()) {
        config_.home = system_id_for_domain(config_.user.domain());
    }
    http_ = std::make_unique<net::HttpWorker>(loop_);
    idm_ = std::make_unique<IdmClient>(*http_);
    cmc_ = std::make_unique<CmClient>(*http_);
}

McClient::~McClient() {
    *alive_ = false;
    for (auto& [id, record] : calls_) {
        if (record->leg && record->leg->dialog) record->leg->dialog->hangup();
    }
    calls_.clear();
    systems_.clear();
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
    net::SipStackOptions options{
        config_.host, 0, "mcx-client", std::nullopt, std::nullopt, std::nullopt, SipStreamLimits{}};
    if (config_.transport == net::Transport::tls) {
        // Every system this client may be served by must prove it is the one at that address.
        net::TlsTrust trust{config_.ca_file, {}};
        for (const auto& system : config_.systems) {
            if (system.sip_server.port != 0) trust.server_names.push_back(system.sip_server.host);
        }
        options.client_tls = std::move(trust);
    }
    auto stack = net::SipStack::create(loop_, options);
    if (!stack) return tl::unexpected(stack.error());
    sip_ = std::move(*stack);
    sip_->set_request_handler([this](const net::SipMessage& msg) { return on_request(msg); });
    return {};
}

ServingSystem* McClient::find_system(const std::string& id) {
    auto it = systems_.find(id);
    return it == systems_.end() ? nullptr : it->second.get();
}

ServingSystem& McClient::system_for(const std::string& id) {
    if (auto* existing = find_system(id)) return *existing;
    const auto* address = config_.system(id);
    SystemAddress unknown;
    unknown.id = id;
    auto system = std::make_unique<ServingSystem>(address ? *address : unknown, id == config_.home);
    auto* raw = system.get();
    systems_.emplace(id, std::move(system));
    return *raw;
}

const ServingSystem* McClient::serving() const {
    auto it = systems_.find(serving_);
    return it == systems_.end() ? nullptr : it->second.get();
}

bool McClient::registered() const {
    const auto* s = serving();
    return s && s->registered();
}

const McServiceId& McClient::mc_service_id() const {
    const auto* s = serving();
    return s && !s->mc_service_id.empty() ? s->mc_service_id : config_.user;
}

ClientEvent McClient::event(ClientEventType type, const CallRecord* record) const {
    ClientEvent e;
    e.type = type;
    if (record) {
        e.call = record->id;
        e.peer = record->peer.uri();
        if (record->leg) e.system = record->leg->system;
    }
    return e;
}

void McClient::emit(const ClientEvent& event) {
    if (observer_) observer_(event);
}

void McClient::start() {
    auto& home = system_for(config_.home);
    home.mc_service_id = config_.user;
    serving_ = home.id();
    if (!preset_token_.empty()) {
        TokenGrant grant;
        grant.access_token = preset_token_;
        grant.mc_service_id = config_.user;
        on_primary_token(grant);
        return;
    }
    if (home.address().idms_url.empty()) {
        auto e = event(ClientEventType::login_failed);
        e.system = home.id();
        e.reason = "no IdMS URL configured for " + home.id();
        emit(e);
        return;
    }
    idm_->password_login(home.address().idms_url, config_.user, config_.password, config_.client_id,
                         {},
                         [this](Result<TokenGrant> grant) { on_primary_token(std::move(grant)); });
}

void McClient::on_primary_token(Result<TokenGrant> grant) {
    auto& home = system_for(config_.home);
    if (!grant) {
        auto e = event(ClientEventType::login_failed);
        e.system = home.id();
        e.reason = grant.error().reason;
        emit(e);
        return;
    }
    primary_token_ = grant->access_token;
    home.access_token = grant->access_token;
    auto signed_in = event(ClientEventType::signed_in);
    signed_in.system = home.id();
    signed_in.mc_service_id = config_.user.uri();
    emit(signed_in);
    if (auto r = home.start_registration(
            *sip_, config_,
            [this, id = home.id()](net::RegistrationEvent e, const net::SipMessage* response) {
                on_registration_event(id, e, response);
            });
        !r) {
        auto e = event(ClientEventType::registration_failed);
        e.system = home.id();
        e.reason = r.error().reason;
        emit(e);
    }
}

void McClient::on_registration_event(const std::string& system_id, net::RegistrationEvent what,
                                     const net::SipMessage* response) {
    auto* system = find_system(system_id);
    if (!system) return;
    const bool was_registered = system->registered();
    system->on_registration_event(what);
    auto e = event(ClientEventType::registered);
    e.system = system_id;
    e.mc_service_id = system->mc_service_id.uri();
    e.peer = system->mc_service_id.uri();
    switch (what) {
        case net::RegistrationEvent::registered:
            break;
        case net::RegistrationEvent::failed:
            e.type = ClientEventType::registration_failed;
            break;
        case net::RegistrationEvent::unregistered:
            e.type = ClientEventType::unregistered;
            break;
    }
    if (response) {
        e.status = response->status();
        e.reason = std::string(response->reason());
        if (auto w = response->header("Warning")) {
            if (auto parsed = proto::parse_warning(*w)) {
                e.warning = parsed->mc_code;
                e.reason += ": " + parsed->text;
            }
        }
    } else if (what == net::RegistrationEvent::failed) {
        e.reason = "no response from " + system->address().sip_server.to_string();
    }
    // A refresh changes nothing the user needs to hear about.
    if (!(what == net::RegistrationEvent::registered && was_registered)) emit(e);

    const bool migrating_here =
        migration_.state() == MigrationState::registering && migration_.target() == system_id;
    if (migrating_here && what == net::RegistrationEvent::registered) {
        return apply(migration_.on_registered());
    }
    if (migrating_here && what == net::RegistrationEvent::failed) {
        return apply(migration_.on_registration_failed(e.reason, response == nullptr));
    }
    if (what == net::RegistrationEvent::unregistered && system_id != serving_) {
        // Left behind by a migration: forget it (later, not inside its own callback).
        auto it = systems_.find(system_id);
        if (it != systems_.end() && !migration_.active() && !it->second->primary()) {
            loop_.defer_delete(std::move(it->second));
            systems_.erase(it);
        }
        return;
    }
    if (system_id != serving_ || stopping_) return;
    if (what == net::RegistrationEvent::failed && was_registered) {
        // The registration refresh failed: the serving system is lost (pre-condition 2).
        return on_serving_lost("registration refresh failed: " + e.reason);
    }
    if (what == net::RegistrationEvent::registered && !was_registered && system->primary() &&
        !system->profile && !migration_.active()) {
        // The configuration management client retrieves the profile after registration.
        retrieve_profile(*system, [this, system_id](Result<proto::UserProfile> profile) {
            auto* s = find_system(system_id);
            if (!s) return;
            auto pe = event(profile ? ClientEventType::profile : ClientEventType::profile_failed);
            pe.system = system_id;
            if (profile) {
                s->profile = *profile;
            } else {
                pe.reason = profile.error().reason;
            }
            emit(pe);
            if (profile && config_.migration.prepare && config_.migration.automatic) {
                establish_standby();
            }
        });
        start_keepalive();
    }
}

void McClient::retrieve_profile(ServingSystem& system,
                                std::function<void(Result<proto::UserProfile>)> then) {
    if (system.address().cms_url.empty()) {
        then(fail(Errc::not_found, "no CMS address configured for " + system.id()));
        return;
    }
    cmc_->retrieve_profile(system.address().cms_url, system.mc_service_id, system.access_token,
                           [alive = alive_, then = std::move(then)](auto profile) {
                               if (*alive) then(std::move(profile));
                           });
}

// No keep-alive, no migration, no re-registration from now on; every call hung up.
void McClient::wind_down() {
    stopping_ = true;
    keepalive_timer_.cancel();
    keepalive_probe_.reset();
    home_timer_.cancel();
    home_probe_.reset();
    for (auto& timer : migration_timers_) timer.cancel();
    std::vector<CallId> ids;
    for (const auto& [id, record] : calls_) ids.push_back(id);
    for (auto id : ids) (void)hangup(id);
}

void McClient::stop(std::function<void()> done) {
    wind_down();
    for (auto& [id, system] : systems_) {
        if (system->registration() != RegistrationState::none) system->unregister();
    }
    write_recording();
    if (done) {
        // Let the unregistrations and BYEs leave before the caller stops the loop.
        stop_timer_.start(std::chrono::milliseconds(200), std::move(done));
    }
}

void McClient::logout() {
    wind_down();
    // Collected first: a partner left behind is forgotten once it has unregistered.
    logout_tokens_.clear();
    for (auto& [id, system] : systems_) {
        if (system->access_token.empty() || system->address().idms_url.empty()) continue;
        logout_tokens_.emplace_back(system->address().idms_url, system->access_token);
    }
    for (auto& [id, system] : systems_) {
        if (system->registration() != RegistrationState::none) system->unregister();
    }
    // First the REGISTERs with Expires: 0, with the token still valid; then the revocations.
    logout_waits_ = 0;
    await_unregistered();
}

void McClient::await_unregistered() {
    const bool pending = std::any_of(systems_.begin(), systems_.end(), [](const auto& s) {
        return s.second->registration() == RegistrationState::unregistering;
    });
    if (pending && ++logout_waits_ < 40) {  // at most 2 s
        logout_timer_.start(std::chrono::milliseconds(50), [this] { await_unregistered(); });
        return;
    }
    revoke_tokens();
}

void McClient::revoke_tokens() {
    struct Pending {
        std::size_t left = 0;
        std::vector<std::string> done, failed;
    };
    auto pending = std::make_shared<Pending>();
    const auto tokens = std::exchange(logout_tokens_, {});
    for (auto& [id, system] : systems_) system->access_token.clear();
    primary_token_.clear();
    auto finish = [this, pending] {
        auto e = event(ClientEventType::logged_out);
        e.system = serving_;
        std::string text;
        for (const auto& d : pending->done) text += (text.empty() ? "" : ", ") + d;
        e.reason = text.empty() ? "no token to revoke" : "token revoked at " + text;
        for (const auto& f : pending->failed) e.reason += "; " + f;
        emit(e);
    };
    if (tokens.empty()) return finish();
    pending->left = tokens.size();
    for (const auto& [url, token] : tokens) {
        idm_->revoke(
            url, token, config_.client_id, [alive = alive_, pending, finish, url](Result<void> r) {
                if (!*alive) return;
                (r ? pending->done : pending->failed).push_back(r ? url : r.error().reason);
                if (--pending->left == 0) finish();
            });
    }
}

Result<void> McClient::record_to(const std::string& path) {
    if (path.empty()) return fail(Errc::invalid_argument, "give a file name");
    write_recording();
    recorded_.clear();
    config_.record_file = path;
    return {};
}

void McClient::write_recording() {
    if (config_.record_file.empty()) return;
    if (auto written = media::write_wav(config_.record_file, recorded_); !written) {
        spdlog::error("cannot write the recording: {}", written.error().reason);
    }
}

}  // namespace mcx::client
