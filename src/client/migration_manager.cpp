#include "client/migration_manager.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace mcx::client {

const char* to_string(McService service) {
    switch (service) {
        case McService::mcptt:
            return "mcptt";
        case McService::mcvideo:
            return "mcvideo";
    }
    return "unknown";
}

const char* to_string(MigrationTrigger trigger) {
    switch (trigger) {
        case MigrationTrigger::manual:
            return "manual";
        case MigrationTrigger::automatic:
            return "automatic";
    }
    return "unknown";
}

const char* to_string(MigrationOrder order) {
    switch (order) {
        case MigrationOrder::literal:
            return "literal";
        case MigrationOrder::prepared:
            return "prepared";
    }
    return "unknown";
}

const char* to_string(MigrationState state) {
    switch (state) {
        case MigrationState::serving:
            return "serving";
        case MigrationState::releasing:
            return "releasing";
        case MigrationState::suspended:
            return "suspended";
        case MigrationState::authenticating:
            return "authenticating";
        case MigrationState::registering:
            return "registering";
        case MigrationState::retrieving_profile:
            return "retrieving-profile";
        case MigrationState::resuming:
            return "resuming";
    }
    return "unknown";
}

const char* to_string(MigrationEvent event) {
    switch (event) {
        case MigrationEvent::start:
            return "start";
        case MigrationEvent::call_released:
            return "call-released";
        case MigrationEvent::release_timeout:
            return "release-timeout";
        case MigrationEvent::moved:
            return "moved";
        case MigrationEvent::authenticated:
            return "authenticated";
        case MigrationEvent::authentication_failed:
            return "authentication-failed";
        case MigrationEvent::registered:
            return "registered";
        case MigrationEvent::registration_failed:
            return "registration-failed";
        case MigrationEvent::profile_retrieved:
            return "profile-retrieved";
        case MigrationEvent::profile_failed:
            return "profile-failed";
        case MigrationEvent::step_timeout:
            return "step-timeout";
        case MigrationEvent::call_resumed:
            return "call-resumed";
        case MigrationEvent::call_resume_failed:
            return "call-resume-failed";
        case MigrationEvent::retry_timer:
            return "retry-timer";
        case MigrationEvent::resume_timeout:
            return "resume-timeout";
    }
    return "unknown";
}

const char* to_string(MigrationStep step) {
    switch (step) {
        case MigrationStep::release:
            return "release";
        case MigrationStep::authenticate:
            return "authenticate";
        case MigrationStep::register_:
            return "register";
        case MigrationStep::retrieve_profile:
            return "profile";
        case MigrationStep::resume:
            return "resume";
    }
    return "unknown";
}

namespace {

// A refused resume that may succeed a moment later: the peer is not registered (yet) where
// it is being looked for, is busy finishing its own migration, or its system did not answer.
bool retryable(std::uint16_t status) {
    return status == 0 || status == 404 || status == 408 || status == 480 || status == 486 ||
           status == 500 || status == 502 || status == 503 || status == 504;
}

}  // namespace

MigrationManager::Tracked* MigrationManager::find(CallId id) {
    auto it = std::find_if(calls_.begin(), calls_.end(),
                           [id](const Tracked& t) { return t.call.id == id; });
    return it == calls_.end() ? nullptr : &*it;
}

std::size_t MigrationManager::pending_calls() const {
    return static_cast<std::size_t>(
        std::count_if(calls_.begin(), calls_.end(), [](const Tracked& t) { return t.pending; }));
}

namespace {

// "event [guard] / action" -> "guard" ("" when the label has no guard).
std::string_view guard_of(std::string_view label) {
    const auto open = label.find('[');
    const auto close = label.find(']');
    if (open == std::string_view::npos || close == std::string_view::npos) return {};
    return label.substr(open + 1, close - open - 1);
}

}  // namespace

void MigrationManager::transition(MigrationState to, MigrationEvent event, std::string_view guard) {
    bool tabled = false;
    for (std::size_t i = 0; i < kMigrationTransitions.size(); ++i) {
        const auto& t = kMigrationTransitions[i];
        if (t.from == state_ && t.event == event && t.to == to && guard_of(t.label) == guard) {
            tabled = true;
            taken_[i] = true;
        }
    }
    if (!tabled) {
        ++untabled_;
        spdlog::error("migration: {} -> {} ({} [{}]) is not in kMigrationTransitions",
                      to_string(state_), to_string(to), to_string(event), guard);
    }
    if (to != state_) {
        spdlog::debug("migration: {} -> {} ({})", to_string(state_), to_string(to),
                      to_string(event));
    }
    state_ = to;
}

MigrationEffects MigrationManager::refuse(MigrationEvent event) {
    ++refused_;
    spdlog::debug("migration: event {} refused in state {}", to_string(event), to_string(state_));
    return {};
}

void MigrationManager::begin_step(MigrationStep step, MigrationEffects& effects) {
    MigrationNotice notice{MigrationNotice::Kind::step_started, step, {}, target_, {}};
    effects.notices.push_back(std::move(notice));
}

void MigrationManager::end_step(MigrationStep step, MigrationEffects& effects) {
    MigrationNotice notice{MigrationNotice::Kind::step_finished, step, {}, target_, {}};
    effects.notices.push_back(std::move(notice));
}

void MigrationManager::cancel_timers(MigrationEffects& effects) {
    for (auto timer : {Timer::release, Timer::step, Timer::resume, Timer::retry}) {
        effects.timers.push_back(generations_.cancel(timer));
    }
}

MigrationEffects MigrationManager::start(MigrationRequest request) {
    if (state_ != MigrationState::serving || request.targets.empty() ||
        std::find(request.targets.begin(), request.targets.end(), request.from) !=
            request.targets.end()) {
        return refuse(MigrationEvent::start);
    }
    MigrationEffects effects;
    request_ = std::move(request);
    if (request_.standby_ready) request_.order = MigrationOrder::prepared;
    target_index_ = 0;
    target_ = request_.targets.front();
    target_registered_ = request_.standby_ready;
    resume_timer_running_ = false;
    yielded_.clear();
    calls_.clear();
    for (const auto& call : request_.calls) {
        Tracked t{call};
        t.released = call.already_suspended;
        calls_.push_back(t);
    }
    const bool nothing_to_release =
        std::all_of(calls_.begin(), calls_.end(), [](const Tracked& t) { return t.released; });

    if (request_.standby_ready) {
        if (calls_.empty()) {
            transition(MigrationState::serving, MigrationEvent::start, "standby ready, no call");
            done(MigrationEvent::start, effects);
        } else if (nothing_to_release) {
            transition(MigrationState::resuming, MigrationEvent::start,
                       "standby ready, nothing to release");
            effects.serve_from = target_;
            resume_calls(effects);
        } else {
            transition(MigrationState::releasing, MigrationEvent::start, "standby ready");
            release_calls(effects);
        }
    } else if (request_.order == MigrationOrder::prepared) {
        transition(MigrationState::authenticating, MigrationEvent::start, "prepared");
        begin_step(MigrationStep::authenticate, effects);
        effects.authenticate = target_;
        effects.timers.push_back(generations_.start(Timer::step, timers_.step));
    } else if (nothing_to_release) {
        transition(MigrationState::suspended, MigrationEvent::start, "literal, no call to release");
        effects.move_to = target_;
    } else {
        transition(MigrationState::releasing, MigrationEvent::start, "literal");
        release_calls(effects);
    }
    return effects;
}

void MigrationManager::release_calls(MigrationEffects& effects) {
    begin_step(MigrationStep::release, effects);
    for (const auto& t : calls_) {
        if (t.pending && !t.released) effects.release.push_back(t.call.id);
    }
    effects.release_locally = request_.serving_lost;
    effects.timers.push_back(generations_.start(Timer::release, timers_.release));
}

MigrationEffects MigrationManager::on_call_released(CallId id) {
    auto* call = find(id);
    if (state_ != MigrationState::releasing || !call || call->released) {
        return refuse(MigrationEvent::call_released);
    }
    MigrationEffects effects;
    call->released = true;
    const bool all = std::all_of(calls_.begin(), calls_.end(),
                                 [](const Tracked& t) { return t.released || !t.pending; });
    if (all) {
        after_release(MigrationEvent::call_released, effects);
    } else if (request_.order == MigrationOrder::prepared) {
        transition(MigrationState::releasing, MigrationEvent::call_released, "more left, prepared");
        effects.serve_from = target_;
        resume_one(*call, effects);
    } else {
        transition(MigrationState::releasing, MigrationEvent::call_released, "more left, literal");
    }
    return effects;
}

void MigrationManager::resume_one(Tracked& call, MigrationEffects& effects) {
    if (!resume_timer_running_) {
        begin_step(MigrationStep::resume, effects);
        effects.timers.push_back(generations_.start(Timer::resume, timers_.resume));
        resume_timer_running_ = true;
    }
    call.resume_sent = true;
    effects.resume.push_back(call.call.id);
}

void MigrationManager::after_release(MigrationEvent event, MigrationEffects& effects) {
    effects.timers.push_back(generations_.cancel(Timer::release));
    end_step(MigrationStep::release, effects);
    if (request_.order == MigrationOrder::literal && !request_.standby_ready) {
        transition(MigrationState::suspended, event,
                   event == MigrationEvent::call_released ? "last, literal" : "literal");
        effects.move_to = target_;
        return;
    }
    transition(MigrationState::resuming, event,
               event == MigrationEvent::call_released ? "last, prepared" : "prepared");
    effects.serve_from = target_;
    resume_calls(effects);
}

MigrationEffects MigrationManager::on_moved() {
    if (state_ != MigrationState::suspended) return refuse(MigrationEvent::moved);
    MigrationEffects effects;
    transition(MigrationState::authenticating, MigrationEvent::moved, "");
    begin_step(MigrationStep::authenticate, effects);
    effects.authenticate = target_;
    effects.timers.push_back(generations_.start(Timer::step, timers_.step));
    return effects;
}

MigrationEffects MigrationManager::on_authenticated() {
    if (state_ != MigrationState::authenticating) return refuse(MigrationEvent::authenticated);
    MigrationEffects effects;
    transition(MigrationState::registering, MigrationEvent::authenticated, "");
    end_step(MigrationStep::authenticate, effects);
    begin_step(MigrationStep::register_, effects);
    effects.register_in = target_;
    effects.timers.push_back(generations_.start(Timer::step, timers_.step));
    return effects;
}

MigrationEffects MigrationManager::on_authentication_failed(const std::string& reason,
                                                            bool unreachable) {
    if (state_ != MigrationState::authenticating) {
        return refuse(MigrationEvent::authentication_failed);
    }
    MigrationEffects effects;
    target_failed(MigrationEvent::authentication_failed, reason, unreachable, effects);
    return effects;
}

MigrationEffects MigrationManager::on_registered() {
    if (state_ != MigrationState::registering) return refuse(MigrationEvent::registered);
    MigrationEffects effects;
    target_registered_ = true;
    transition(MigrationState::retrieving_profile, MigrationEvent::registered, "");
    end_step(MigrationStep::register_, effects);
    begin_step(MigrationStep::retrieve_profile, effects);
    effects.retrieve_profile = target_;
    effects.timers.push_back(generations_.start(Timer::step, timers_.step));
    return effects;
}

MigrationEffects MigrationManager::on_registration_failed(const std::string& reason,
                                                          bool unreachable) {
    if (state_ != MigrationState::registering) return refuse(MigrationEvent::registration_failed);
    MigrationEffects effects;
    target_failed(MigrationEvent::registration_failed, reason, unreachable, effects);
    return effects;
}

void MigrationManager::target_failed(MigrationEvent event, const std::string& reason, bool,
                                     MigrationEffects& effects) {
    effects.timers.push_back(generations_.cancel(Timer::step));
    // Only the literal order moves on: there every call is suspended already, and another
    // target is better than none. In the prepared order the calls still run where they are.
    const bool next = request_.order == MigrationOrder::literal && !request_.standby_ready &&
                      target_index_ + 1 < request_.targets.size();
    if (!next) return fail(event, reason, effects);
    if (target_registered_) effects.unregister_from.push_back(target_);
    effects.notices.push_back(MigrationNotice{
        MigrationNotice::Kind::target_refused, MigrationStep::authenticate, {}, target_, reason});
    target_ = request_.targets[++target_index_];
    target_registered_ = false;
    transition(MigrationState::suspended, event, "next target");
    effects.move_to = target_;
}

void MigrationManager::fail(MigrationEvent event, const std::string& reason,
                            MigrationEffects& effects) {
    cancel_timers(effects);
    if (target_registered_ && !request_.standby_ready) effects.unregister_from.push_back(target_);
    // Calls released for the migration end; in the prepared order before the release, calls
    // that were never touched go on in the system that serves them.
    for (auto& t : calls_) {
        if (!t.pending) continue;
        if (!t.released) {
            t.pending = false;
            continue;
        }
        finish_call(t,
                    CallOutcome{t.call.id, false, 0, std::nullopt,
                                "migration to " + target_ + " failed: " + reason},
                    effects);
    }
    const bool in_step2 =
        state_ == MigrationState::authenticating || state_ == MigrationState::registering;
    transition(MigrationState::serving, event, in_step2 ? "last target" : "");
    effects.notices.push_back(MigrationNotice{
        MigrationNotice::Kind::failed, MigrationStep::release, {}, target_, reason});
    target_.clear();
}

MigrationEffects MigrationManager::on_profile(const proto::UserProfile& profile) {
    if (state_ != MigrationState::retrieving_profile) {
        return refuse(MigrationEvent::profile_retrieved);
    }
    MigrationEffects effects;
    effects.timers.push_back(generations_.cancel(Timer::step));
    end_step(MigrationStep::retrieve_profile, effects);
    // NOTE 2: the restrictions of the profile valid in the target system apply.
    for (auto& t : calls_) {
        if (!t.pending) continue;
        std::string why;
        if (!profile.allow_private_call) {
            why = "private calls are not allowed in " + target_;
        } else if (t.call.service == McService::mcvideo && !profile.mcvideo_authorised) {
            why = "MCVideo is not authorised in " + target_;
        } else if (!profile.may_call(t.call.peer)) {
            why = t.call.peer.uri() + " may not be called in " + target_;
        }
        if (!why.empty()) {
            finish_call(t, CallOutcome{t.call.id, false, 0, std::nullopt, "restricted: " + why},
                        effects);
        }
    }
    if (pending_calls() == 0) {
        transition(MigrationState::serving, MigrationEvent::profile_retrieved, "nothing to resume");
        done(MigrationEvent::profile_retrieved, effects);
    } else if (request_.order == MigrationOrder::prepared && !request_.standby_ready) {
        const bool to_release = std::any_of(calls_.begin(), calls_.end(), [](const Tracked& t) {
            return t.pending && !t.released;
        });
        if (to_release) {
            transition(MigrationState::releasing, MigrationEvent::profile_retrieved, "prepared");
            release_calls(effects);
        } else {
            transition(MigrationState::resuming, MigrationEvent::profile_retrieved,
                       "prepared, nothing to release");
            effects.serve_from = target_;
            resume_calls(effects);
        }
    } else {
        transition(MigrationState::resuming, MigrationEvent::profile_retrieved, "literal");
        effects.serve_from = target_;
        resume_calls(effects);
    }
    return effects;
}

MigrationEffects MigrationManager::on_profile_failed(const std::string& reason) {
    if (state_ != MigrationState::retrieving_profile) return refuse(MigrationEvent::profile_failed);
    MigrationEffects effects;
    fail(MigrationEvent::profile_failed, reason, effects);
    return effects;
}

void MigrationManager::resume_calls(MigrationEffects& effects) {
    for (auto& t : calls_) {
        if (!t.pending || t.resume_sent) continue;
        t.released = true;  // a restricted call released in the prepared order counts too
        resume_one(t, effects);
    }
    if (!resume_timer_running_) {
        // Nothing left to send (each was resumed as it was released): the step still began.
        begin_step(MigrationStep::resume, effects);
        effects.timers.push_back(generations_.start(Timer::resume, timers_.resume));
        resume_timer_running_ = true;
    }
}

void MigrationManager::finish_call(Tracked& call, CallOutcome outcome, MigrationEffects& effects) {
    call.pending = false;
    call.retrying = false;
    const auto kind =
        outcome.resumed ? MigrationNotice::Kind::call_resumed : MigrationNotice::Kind::call_failed;
    if (!outcome.resumed) effects.end.push_back(outcome);
    effects.notices.push_back(
        MigrationNotice{kind, MigrationStep::resume, std::move(outcome), target_, {}});
}

bool MigrationManager::early_resume(const Tracked* call) const {
    return state_ == MigrationState::releasing && request_.order == MigrationOrder::prepared &&
           call && call->resume_sent;
}

MigrationEffects MigrationManager::on_call_resumed(CallId id) {
    auto* call = find(id);
    const bool early = early_resume(call);
    if ((state_ != MigrationState::resuming && !early) || !call || !call->pending) {
        return refuse(MigrationEvent::call_resumed);
    }
    MigrationEffects effects;
    finish_call(*call, CallOutcome{id, true, 200, std::nullopt, {}}, effects);
    if (early) {
        transition(MigrationState::releasing, MigrationEvent::call_resumed, "prepared");
    } else {
        maybe_done(MigrationEvent::call_resumed, effects);
    }
    return effects;
}

MigrationEffects MigrationManager::on_call_resume_failed(CallId id, std::uint16_t status,
                                                         std::optional<std::uint16_t> warning,
                                                         const std::string& reason) {
    auto* call = find(id);
    const bool early = early_resume(call);
    if ((state_ != MigrationState::resuming && !early) || !call || !call->pending ||
        call->retrying) {
        return refuse(MigrationEvent::call_resume_failed);
    }
    MigrationEffects effects;
    if (early) {
        // Before the last release: tell or retry, and stay releasing.
        if (status != 491 && retryable(status)) {
            call->retrying = true;
            effects.timers.push_back(generations_.start(Timer::retry, timers_.retry));
        } else if (status == 491) {
            call->pending = false;
            yielded_.push_back(id);
        } else {
            finish_call(*call, CallOutcome{id, false, status, warning, reason}, effects);
        }
        transition(MigrationState::releasing, MigrationEvent::call_resume_failed, "prepared");
        return effects;
    }
    if (status == 491) {
        // Glare: the peer migrated too and, as the original caller, resumes the call itself.
        call->pending = false;
        yielded_.push_back(id);
    } else if (retryable(status)) {
        call->retrying = true;
        effects.timers.push_back(generations_.start(Timer::retry, timers_.retry));
        transition(MigrationState::resuming, MigrationEvent::call_resume_failed, "more left");
        return effects;
    } else {
        finish_call(*call, CallOutcome{id, false, status, warning, reason}, effects);
    }
    maybe_done(MigrationEvent::call_resume_failed, effects);
    return effects;
}

void MigrationManager::maybe_done(MigrationEvent event, MigrationEffects& effects) {
    if (pending_calls() > 0) {
        transition(MigrationState::resuming, event, "more left");
        return;
    }
    end_step(MigrationStep::resume, effects);
    transition(MigrationState::serving, event, "last");
    done(event, effects);
}

void MigrationManager::done(MigrationEvent, MigrationEffects& effects) {
    cancel_timers(effects);
    effects.serve_from = target_;
    effects.unregister_from.push_back(request_.from);
    effects.notices.push_back(
        MigrationNotice{MigrationNotice::Kind::migrated, MigrationStep::resume, {}, target_, {}});
    target_.clear();
}

MigrationEffects MigrationManager::on_timer(Timer timer, std::uint64_t generation) {
    if (!generations_.current(timer, generation)) return {};  // stale: cancelled or restarted
    MigrationEffects effects;
    switch (timer) {
        case Timer::release:
            if (state_ != MigrationState::releasing) return refuse(MigrationEvent::release_timeout);
            after_release(MigrationEvent::release_timeout, effects);
            return effects;
        case Timer::step:
            if (state_ == MigrationState::authenticating || state_ == MigrationState::registering) {
                target_failed(MigrationEvent::step_timeout,
                              "no answer from " + target_ + " within " +
                                  std::to_string(timers_.step.count()) + " ms",
                              true, effects);
            } else if (state_ == MigrationState::retrieving_profile) {
                fail(MigrationEvent::step_timeout,
                     "no profile from the CMS of " + target_ + " within " +
                         std::to_string(timers_.step.count()) + " ms",
                     effects);
            } else {
                return refuse(MigrationEvent::step_timeout);
            }
            return effects;
        case Timer::retry: {
            const bool early =
                state_ == MigrationState::releasing && request_.order == MigrationOrder::prepared;
            if (state_ != MigrationState::resuming && !early) {
                return refuse(MigrationEvent::retry_timer);
            }
            for (auto& t : calls_) {
                if (!t.pending || !t.retrying) continue;
                t.retrying = false;
                effects.resume.push_back(t.call.id);
            }
            transition(state_, MigrationEvent::retry_timer, early ? "prepared" : "");
            return effects;
        }
        case Timer::resume:
            if (state_ != MigrationState::resuming) return refuse(MigrationEvent::resume_timeout);
            for (auto& t : calls_) {
                if (!t.pending) continue;
                finish_call(t,
                            CallOutcome{t.call.id, false, 0, std::nullopt,
                                        "not resumed within " +
                                            std::to_string(timers_.resume.count() / 1000) + " s"},
                            effects);
            }
            end_step(MigrationStep::resume, effects);
            transition(MigrationState::serving, MigrationEvent::resume_timeout, "");
            done(MigrationEvent::resume_timeout, effects);
            return effects;
    }
    return effects;
}

IncomingDecision decide_incoming(std::size_t suspended, bool resumes_ours,
                                 IncomingDuringResume policy) {
    if (resumes_ours || suspended == 0) return {};
    switch (policy) {
        case IncomingDuringResume::accept:
            return {};
        case IncomingDuringResume::reject:
            return IncomingDecision{false, 486, "Busy Here",
                                    "a migration is in progress (private call suspended)"};
    }
    return {};
}

IncomingResume decide_incoming_resume(OwnResume own, bool we_originated_the_call,
                                      bool names_reached_peer) {
    switch (own) {
        case OwnResume::none:
            return IncomingResume::take;
        case OwnResume::pending:
            return resolve_glare(we_originated_the_call) == GlareResolution::keep_own_resume
                       ? IncomingResume::refuse_own_wins
                       : IncomingResume::take_dropping_own;
        case OwnResume::answered:
            return names_reached_peer ? IncomingResume::take : IncomingResume::refuse_crossed;
    }
    return IncomingResume::take;
}

GlareResolution resolve_glare(bool we_originated_the_call) {
    return we_originated_the_call ? GlareResolution::keep_own_resume
                                  : GlareResolution::take_peer_resume;
}

}  // namespace mcx::client
