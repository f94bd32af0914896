// McClient: the glue between the pure MigrationManager (TS 23.280 10.16.3) and the client's
// calls, IdM client, registrations and CM client; the peer's side of a migration (suspended
// calls, resume matching, NOTE 3, glare); the keep-alive that triggers automatic migration.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "client/mc_client.hpp"
#include "proto/reason.hpp"
#include "proto/warning.hpp"

namespace mcx::client {

namespace {

std::string reason_header(proto::McxReleaseCause cause) {
    return "Reason: " + proto::format_reason(proto::mcx_reason(cause)) + "\r\n";
}

}  // namespace

bool McClient::profile_allows(const std::string& system) const {
    if (system == config_.home) return true;  // partner -> primary is always allowed
    auto it = systems_.find(config_.home);
    if (it == systems_.end() || !it->second->profile) return true;  // the target decides
    const auto* entry = it->second->profile->partner(system);
    return entry && entry->migration_allowed;
}

McServiceId McClient::resume_target(const CallRecord& record) const {
    // A peer that migrates too is found through its primary system (it knows where its user
    // is now); otherwise the ID the peer had in the call.
    if (record.suspended_because == ReleaseReason::peer_migrating && record.peer_primary) {
        return *record.peer_primary;
    }
    return record.peer;
}

std::size_t McClient::unresumed_calls() const {
    return static_cast<std::size_t>(
        std::count_if(calls_.begin(), calls_.end(), [](const auto& entry) {
            const auto& r = *entry.second;
            return r.state == CallState::suspended ||
                   (r.state == CallState::originating && r.leg && r.leg->resume);
        }));
}

// The suspended (or silently dead) call that an incoming resume INVITE names: by its call
// reference when both ends know one, else by the ID the caller had before. [mcx-defined]
CallRecord* McClient::suspended_call_resumed_by(const proto::McpttInfo& info,
                                                const McServiceId& caller) {
    for (auto& [id, record] : calls_) {
        auto& r = *record;
        const bool waiting = r.state == CallState::suspended || r.state == CallState::connected ||
                             (r.state == CallState::originating && r.leg && r.leg->resume);
        if (!waiting) continue;
        if (info.mcx.call_ref && !r.call_ref.empty()) {
            if (*info.mcx.call_ref == r.call_ref) return &r;
            continue;
        }
        const auto& previous = *info.mcx.resumes_previous_id;
        if (previous == r.peer.uri() || caller == r.peer ||
            (info.mcx.primary_id && r.peer_primary &&
             *info.mcx.primary_id == r.peer_primary->uri())) {
            return &r;
        }
    }
    return nullptr;
}

Result<void> McClient::migrate(const std::string& system, MigrationOrder order) {
    if (migration_.active()) {
        return fail(Errc::invalid_argument,
                    "a migration to " + migration_.target() + " is under way");
    }
    if (!config_.system(system)) {
        return fail(Errc::invalid_argument,
                    "unknown MC system '" + system + "' (not in the client configuration)");
    }
    if (system == serving_) return fail(Errc::invalid_argument, "already served by " + system);
    if (!registered()) return fail(Errc::invalid_argument, "not registered in " + serving_);
    if (!profile_allows(system)) {
        return fail(Errc::forbidden, "the profile of " + config_.user.uri() +
                                         " does not allow migration to " + system);
    }
    MigrationRequest request;
    request.from = serving_;
    request.targets = {system};
    request.order = order;
    request.trigger = MigrationTrigger::manual;
    start_migration(std::move(request));
    return {};
}

void McClient::start_migration(MigrationRequest request) {
    for (auto& [id, record] : calls_) {
        auto& r = *record;
        switch (r.state) {
            case CallState::connected:
            case CallState::originating:
            case CallState::remote_alerting:
                request.calls.push_back(MigratingCall{r.id, resume_target(r), r.service,
                                                      r.state == CallState::connected, false});
                break;
            case CallState::suspended:
                // The peer migrated first; as the original caller we resume (glare rule).
                if (r.suspended_because == ReleaseReason::peer_migrating &&
                    resolve_glare(r.originated) == GlareResolution::keep_own_resume) {
                    r.resume_guard.cancel();
                    request.calls.push_back(
                        MigratingCall{r.id, resume_target(r), r.service, true, true});
                }
                break;
            case CallState::incoming:
            case CallState::idle:
            case CallState::released:
                break;
        }
    }
    // A call still ringing at our user cannot follow: it is declined.
    std::vector<CallId> ringing;
    for (const auto& [id, record] : calls_) {
        if (record->state == CallState::incoming) ringing.push_back(id);
    }
    for (auto id : ringing) (void)reject(id);
    migration_started_ms_ = net::monotonic_ms();
    steps_ms_.clear();
    step_started_ms_.clear();
    migrated_calls_.clear();
    spdlog::info("migration {} -> {} ({}, {} order) with {} call(s)", request.from,
                 request.targets.front(), to_string(request.trigger), to_string(request.order),
                 request.calls.size());
    apply(migration_.start(std::move(request)));
}

void McClient::suspend_for_migration(CallRecord& record, bool locally) {
    // While we talk, the BYE leaves right after a voice frame: the peer has every frame that was
    // due, and the interruption starts at a frame boundary. [mcx-defined]
    if (!locally && record.leg && record.leg->media->sending()) {
        const auto id = record.id;
        record.leg->media->after_next_frame([this, alive = alive_, id] {
            auto* r = *alive ? find(id) : nullptr;
            if (r && r->state != CallState::suspended) suspend_now(*r, false);
        });
        return;
    }
    suspend_now(record, locally);
}

void McClient::suspend_now(CallRecord& record, bool locally) {
    const auto id = record.id;
    transition(record, CallEvent::suspend);
    record.suspended_because = ReleaseReason::suspended_for_migration;
    if (record.leg && record.leg->dialog) {
        if (locally) {
            // The serving system is gone: no BYE could be answered; the dialog just ends.
        } else {
            record.leg->dialog->hangup(
                reason_header(proto::McxReleaseCause::suspended_for_migration),
                [this, alive = alive_, id](std::uint16_t) {
                    if (*alive) apply(migration_.on_call_released(id));
                });
        }
    }
    drop_leg(record);
    auto e = event(ClientEventType::suspended, &record);
    e.by = "local";
    e.reason = locally ? to_string(ReleaseReason::serving_system_lost)
                       : to_string(ReleaseReason::suspended_for_migration);
    emit(e);
    if (locally) {
        loop_.post([this, alive = alive_, id] {
            if (*alive) apply(migration_.on_call_released(id));
        });
    }
}

// The peer releases the call for its migration: keep our side suspended for its resume, and
// end it if the resume does not come in time (docs/migration.md).
void McClient::on_peer_suspended(CallRecord& record, const net::SipMessage*) {
    transition(record, CallEvent::suspend);
    record.suspended_because = ReleaseReason::peer_migrating;
    drop_leg(record);
    auto e = event(ClientEventType::suspended, &record);
    e.by = "remote";
    e.reason = "the peer migrates to another MC system; waiting for it to resume the call";
    emit(e);
    start_resume_guard(record);
}

// A call that waits for the peer's resume ends if it does not come in time (both ends).
void McClient::start_resume_guard(CallRecord& record) {
    const auto id = record.id;
    const auto timeout = config_.migration.resume_timeout;
    record.resume_guard.start(timeout, [this, id, timeout] {
        auto* r = find(id);
        if (!r || r->state != CallState::suspended) return;
        transition(*r, CallEvent::expire);
        auto ended = event(ClientEventType::released, r);
        ended.by = "local";
        ended.reason =
            "suspended call not resumed within " + std::to_string(timeout.count() / 1000) + " s";
        release(id, ReleaseReason::not_resumed, ended);
    });
}

void McClient::resume_call(CallId id) {
    auto* record = find(id);
    if (!record) return;
    if (record->state == CallState::connected) {
        // The peer's own resume arrived first (glare, or it migrated too).
        return apply(migration_.on_call_resumed(id));
    }
    if (record->state != CallState::suspended) return;
    if (auto sent = send_invite(*record, true); !sent) {
        return apply(migration_.on_call_resume_failed(id, 0, std::nullopt, sent.error().reason));
    }
}

void McClient::end_migrating_call(const CallOutcome& outcome) {
    auto* record = find(outcome.id);
    if (!record) return;
    if (record->leg && record->leg->dialog) {
        // Still running (prepared order): tell the peer it will not be resumed.
        record->leg->dialog->hangup(reason_header(proto::McxReleaseCause::not_resumed));
    }
    if (!transition(*record, CallEvent::refused)) transition(*record, CallEvent::local_release);
    auto e = event(ClientEventType::call_resume_failed, record);
    e.status = outcome.status;
    e.warning = outcome.warning;
    e.reason = outcome.reason;
    e.system = migration_.target();
    migrated_calls_.push_back(
        MigratedCall{outcome.id, record->peer.uri(), record->service, false, outcome.reason});
    release(outcome.id, ReleaseReason::resume_failed, e);
}

void McClient::apply(MigrationEffects effects) {
    const auto now = net::monotonic_ms();
    // Step notices first: a step that ended is told before what the next step sends.
    for (const auto& notice : effects.notices) {
        if (notice.kind == MigrationNotice::Kind::step_started) {
            step_started_ms_[to_string(notice.step)] = now;
        } else if (notice.kind == MigrationNotice::Kind::step_finished) {
            const auto name = std::string(to_string(notice.step));
            const auto started = step_started_ms_.count(name) ? step_started_ms_[name] : now;
            const auto duration = static_cast<std::int64_t>(now - started);
            steps_ms_.emplace_back(name, duration);
            auto e = event(ClientEventType::migration_step);
            e.step = name;
            e.duration_ms = duration;
            e.system = notice.system;
            emit(e);
        }
    }
    for (const auto& command : effects.timers) {
        auto& timer = migration_timers_[static_cast<std::size_t>(command.timer)];
        if (!command.start) {
            timer.cancel();
            continue;
        }
        timer.start(command.duration, [this, t = command.timer, g = command.generation] {
            apply(migration_.on_timer(t, g));
        });
    }
    // Step 1.
    for (auto id : effects.release) {
        if (auto* record = find(id)) suspend_for_migration(*record, effects.release_locally);
    }
    if (effects.move_to) {
        // On one machine the target's network is there at once, unless attach_delay emulates
        // the bearer set-up.
        if (config_.migration.attach_delay.count() > 0) {
            attach_timer_.start(config_.migration.attach_delay,
                                [this] { apply(migration_.on_moved()); });
        } else {
            loop_.post([this, alive = alive_] {
                if (*alive) apply(migration_.on_moved());
            });
        }
    }
    // Step 2.
    if (effects.authenticate) {
        const auto target = *effects.authenticate;
        auto& system = system_for(target);
        auto done = [this, alive = alive_, target](Result<TokenGrant> grant) {
            if (!*alive) return;
            auto* s = find_system(target);
            if (!grant || !s) {
                const bool unreachable = !grant && grant.error().code == Errc::io;
                return apply(migration_.on_authentication_failed(
                    grant ? "the target went away" : grant.error().reason, unreachable));
            }
            s->access_token = grant->access_token;
            s->mc_service_id = grant->mc_service_id.empty() ? config_.user : grant->mc_service_id;
            if (s->primary()) primary_token_ = grant->access_token;
            apply(migration_.on_authenticated());
        };
        if (system.primary()) {
            // Back home: the primary IdMS signs the user in as at start.
            idm_->password_login(system.address().idms_url, config_.user, config_.password,
                                 config_.client_id, {}, std::move(done));
        } else {
            // TS 33.180 5.1.4.2: the partner IdMS, shown the primary-issued token.
            idm_->exchange(system.address().idms_url, primary_token_, config_.client_id,
                           std::move(done));
        }
    }
    if (effects.register_in) {
        const auto target = *effects.register_in;
        auto& system = system_for(target);
        auto started = system.start_registration(
            *sip_, config_,
            [this, target](net::RegistrationEvent e, const net::SipMessage* response) {
                on_registration_event(target, e, response);
            });
        if (!started) {
            loop_.post([this, alive = alive_, why = started.error().reason] {
                if (*alive) apply(migration_.on_registration_failed(why, false));
            });
        }
    }
    if (effects.retrieve_profile) {
        auto& system = system_for(*effects.retrieve_profile);
        retrieve_profile(system, [this, target = system.id()](Result<proto::UserProfile> profile) {
            auto* s = find_system(target);
            if (!profile || !s) {
                return apply(migration_.on_profile_failed(profile ? "the target went away"
                                                                  : profile.error().reason));
            }
            s->profile = *profile;
            auto e = event(ClientEventType::profile);
            e.system = target;
            e.mc_service_id = s->mc_service_id.uri();
            emit(e);
            apply(migration_.on_profile(*profile));
        });
    }
    if (effects.serve_from && *effects.serve_from != serving_) {
        spdlog::info("now served by {} as {}", *effects.serve_from,
                     system_for(*effects.serve_from).mc_service_id.uri());
        serving_ = *effects.serve_from;
        last_answer_ms_ = now;
    }
    // Step 3.
    for (auto id : effects.resume) resume_call(id);
    for (const auto& outcome : effects.end) end_migrating_call(outcome);
    for (const auto& system_id : effects.unregister_from) {
        if (system_id == serving_) continue;
        if (auto* s = find_system(system_id)) {
            if (s->registration() == RegistrationState::registered ||
                s->registration() == RegistrationState::registering) {
                s->unregister();  // if that system no longer answers, it expires there
            } else if (!s->primary()) {
                auto it = systems_.find(system_id);
                loop_.defer_delete(std::move(it->second));
                systems_.erase(it);
            }
        }
    }
    for (const auto& notice : effects.notices) {
        switch (notice.kind) {
            case MigrationNotice::Kind::step_started:
            case MigrationNotice::Kind::step_finished:
                break;  // told above
            case MigrationNotice::Kind::call_resumed: {
                auto* record = find(notice.call.id);
                if (!record) break;
                record->suspended_because.reset();
                migrated_calls_.push_back(
                    MigratedCall{record->id, record->peer.uri(), record->service, true, {}});
                auto e = event(ClientEventType::call_resumed, record);
                e.by = "local";
                e.mc_service_id = mc_service_id().uri();
                emit(e);
                break;
            }
            case MigrationNotice::Kind::call_failed:
                break;  // told by end_migrating_call
            case MigrationNotice::Kind::target_refused: {
                auto e = event(ClientEventType::migration_step);
                e.step = "target-refused";
                e.system = notice.system;
                e.reason = notice.reason;
                emit(e);
                break;
            }
            case MigrationNotice::Kind::migrated:
            case MigrationNotice::Kind::failed: {
                const bool ok = notice.kind == MigrationNotice::Kind::migrated;
                auto e = event(ok ? ClientEventType::migrated : ClientEventType::migration_failed);
                const auto& request = migration_.request();
                e.from = request.from;
                e.to = notice.system;
                e.system = serving_;
                e.order = to_string(request.order);
                e.trigger = to_string(request.trigger);
                e.reason = notice.reason;
                e.mc_service_id = mc_service_id().uri();
                e.steps_ms = steps_ms_;
                e.duration_ms = static_cast<std::int64_t>(now - migration_started_ms_);
                for (auto id : migration_.yielded()) {
                    if (auto* r = find(id)) {
                        // Glare: the peer resumes this one; wait for it, not forever.
                        r->suspended_because = ReleaseReason::peer_migrating;
                        start_resume_guard(*r);
                        migrated_calls_.push_back(MigratedCall{id, r->peer.uri(), r->service, false,
                                                               "resumed by the peer (glare)"});
                    }
                }
                e.calls = migrated_calls_;
                spdlog::info("migration {} -> {}: {}", request.from, notice.system,
                             ok ? "done" : "failed: " + notice.reason);
                emit(e);
                // After a failure the old system serves on, unless it was lost.
                if (ok || !request.serving_lost) start_keepalive();
                if (ok && config_.migration.prepare && config_.migration.automatic &&
                    standby_.empty()) {
                    // A new standby once the old registrations have been removed.
                    standby_timer_.start(std::chrono::seconds(1), [this] { establish_standby(); });
                }
                break;
            }
        }
    }
}

// Keep-alive (pre-condition 2, the automatic trigger): SIP OPTIONS to the serving system every
// keepalive_interval; without an answer for keepalive_timeout it is lost. [mcx-defined]
void McClient::start_keepalive() {
    if (config_.migration.keepalive_interval.count() == 0 || stopping_) return;
    last_answer_ms_ = net::monotonic_ms();
    keepalive_probe_.reset();
    keepalive_timer_.start(config_.migration.keepalive_interval, [this] { probe_serving(); });
}

void McClient::probe_serving() {
    auto* system = find_system(serving_);
    if (!system || stopping_) return;
    const auto probed = serving_;
    const auto interval = config_.migration.keepalive_interval;
    auto probe = net::OptionsProbe::send(
        *sip_, "sip:" + system->address().domain, system->address().sip_server, config_.transport,
        std::min(interval, config_.migration.keepalive_timeout),
        [this, probed](std::uint16_t status) {
            if (probed != serving_) return;
            const auto now = net::monotonic_ms();
            if (status != 0) {
                last_answer_ms_ = now;
            } else if (now - last_answer_ms_ >=
                       static_cast<std::uint64_t>(config_.migration.keepalive_timeout.count())) {
                return loop_.post([this, alive = alive_, probed] {
                    if (*alive && probed == serving_) {
                        on_serving_lost(
                            "no answer to SIP OPTIONS for " +
                            std::to_string(config_.migration.keepalive_timeout.count()) + " ms");
                    }
                });
            }
            keepalive_timer_.start(config_.migration.keepalive_interval,
                                   [this] { probe_serving(); });
        });
    if (!probe) {
        spdlog::warn("keep-alive: {}", probe.error().reason);
        keepalive_timer_.start(interval, [this] { probe_serving(); });
        return;
    }
    // Replaced in a later turn: the previous probe may be the one calling us.
    if (keepalive_probe_) loop_.defer_delete(std::move(keepalive_probe_));
    keepalive_probe_ = std::move(*probe);
}

std::vector<std::string> McClient::automatic_targets(const std::string& lost) const {
    std::vector<std::string> targets;
    if (lost != config_.home && config_.system(config_.home)) targets.push_back(config_.home);
    auto it = systems_.find(config_.home);
    const proto::UserProfile* profile =
        it != systems_.end() && it->second->profile ? &*it->second->profile : nullptr;
    if (profile) {
        for (const auto& partner : profile->partners) {
            if (partner.migration_allowed && partner.system != lost &&
                config_.system(partner.system) &&
                std::find(targets.begin(), targets.end(), partner.system) == targets.end()) {
                targets.push_back(partner.system);
            }
        }
    } else {
        for (const auto& s : config_.systems) {
            if (s.id != lost && s.id != config_.home) targets.push_back(s.id);
        }
    }
    return targets;
}

void McClient::on_serving_lost(const std::string& why) {
    if (stopping_) return;
    const auto lost = serving_;
    auto e = event(ClientEventType::serving_lost);
    e.system = lost;
    e.reason = why;
    emit(e);
    keepalive_timer_.cancel();
    if (migration_.active()) return;  // the migration's own guard timers decide
    if (auto* s = find_system(lost)) s->drop_registration();
    if (!config_.migration.automatic) return;
    auto targets = automatic_targets(lost);
    if (targets.empty()) {
        auto failed = event(ClientEventType::migration_failed);
        failed.from = lost;
        failed.reason = "no MC system to migrate to";
        emit(failed);
        return;
    }
    home_lost_ = lost == config_.home;
    MigrationRequest request;
    request.from = lost;
    request.trigger = MigrationTrigger::automatic;
    request.order = MigrationOrder::literal;
    request.serving_lost = true;
    const auto* standby = standby_.empty() ? nullptr : find_system(standby_);
    if (standby && standby_ != lost && standby->registered() && standby->profile) {
        // Prepared: step 2 was done in the standby system; release and resume at once.
        request.targets = {standby_};
        request.standby_ready = true;
        request.order = MigrationOrder::prepared;
        standby_.clear();
    } else {
        request.targets = std::move(targets);
    }
    start_migration(std::move(request));
    if (home_lost_ && config_.migration.return_home) {
        home_timer_.start(config_.migration.keepalive_interval, [this] { probe_home(); });
    }
}

// [migration] prepare (automatic trigger): keep a token, a registration and the profile in the
// first partner the profile allows, so that losing the serving system costs only the release
// and the resume. [mcx-defined] docs/migration.md
void McClient::establish_standby() {
    if (!standby_.empty() || stopping_) return;
    const auto targets = automatic_targets(serving_);
    auto it = std::find_if(targets.begin(), targets.end(),
                           [this](const std::string& t) { return t != config_.home; });
    if (it == targets.end()) return;
    const auto target = *it;
    auto& system = system_for(target);
    auto failed = [this, target](const std::string& why) {
        spdlog::warn("standby in {}: {}", target, why);
        auto e = event(ClientEventType::migration_step);
        e.step = "standby-failed";
        e.system = target;
        e.reason = why;
        emit(e);
    };
    idm_->exchange(
        system.address().idms_url, primary_token_, config_.client_id,
        [this, alive = alive_, target, failed](Result<TokenGrant> grant) {
            auto* s = *alive ? find_system(target) : nullptr;
            if (!s) return;
            if (!grant) return failed(grant.error().reason);
            s->access_token = grant->access_token;
            s->mc_service_id = grant->mc_service_id.empty() ? config_.user : grant->mc_service_id;
            auto registered = s->start_registration(
                *sip_, config_,
                [this, target, failed](net::RegistrationEvent e, const net::SipMessage* response) {
                    const bool first = e == net::RegistrationEvent::registered &&
                                       find_system(target) && !find_system(target)->registered();
                    on_registration_event(target, e, response);
                    if (!first || standby_ == target) return;
                    auto* st = find_system(target);
                    if (!st) return;
                    retrieve_profile(*st, [this, target, failed](Result<proto::UserProfile> p) {
                        auto* sys = find_system(target);
                        if (!sys) return;
                        if (!p) return failed(p.error().reason);
                        sys->profile = *p;
                        standby_ = target;
                        auto ready = event(ClientEventType::standby_ready);
                        ready.system = target;
                        ready.mc_service_id = sys->mc_service_id.uri();
                        emit(ready);
                    });
                });
            if (!registered) failed(registered.error().reason);
        });
}

// return_home: while away because home was lost, ask home now and then; once it answers and
// no migration is under way, go back. [mcx-defined]
void McClient::probe_home() {
    const auto* home = config_.system(config_.home);
    if (!home || stopping_ || !home_lost_) return;
    auto again = [this] {
        home_timer_.start(config_.migration.keepalive_interval, [this] { probe_home(); });
    };
    if (migration_.active() || serving_ == config_.home) {
        if (serving_ == config_.home && !migration_.active()) {
            home_lost_ = false;
            return;
        }
        return again();
    }
    auto probe = net::OptionsProbe::send(
        *sip_, "sip:" + home->domain, home->sip_server, config_.transport,
        config_.migration.keepalive_timeout, [this, again](std::uint16_t status) {
            if (status == 0 || migration_.active() || serving_ == config_.home) return again();
            home_lost_ = false;
            MigrationRequest request;
            request.from = serving_;
            request.targets = {config_.home};
            request.trigger = MigrationTrigger::automatic;
            request.order =
                config_.migration.prepare ? MigrationOrder::prepared : MigrationOrder::literal;
            loop_.post([this, alive = alive_, request]() mutable {
                if (*alive && !migration_.active()) start_migration(std::move(request));
            });
        });
    if (!probe) return again();
    if (home_probe_) loop_.defer_delete(std::move(home_probe_));
    home_probe_ = std::move(*probe);
}

}  // namespace mcx::client
