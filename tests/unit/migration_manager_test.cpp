// The migration manager (TS 23.280 10.16.3) driven through every transition, failure branch,
// timer expiry and glare, without sockets or sleeps; and its .dot kept in sync with the code.
#include "client/migration_manager.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <tuple>

namespace mcx::client {
namespace {

McServiceId id(const std::string& uri) {
    return *McServiceId::parse(uri);
}

MigrationRequest request(std::vector<CallId> calls, MigrationOrder order = MigrationOrder::literal,
                         std::vector<std::string> targets = {"B"}) {
    MigrationRequest r;
    r.from = "A";
    r.targets = std::move(targets);
    r.order = order;
    for (auto c : calls) {
        r.calls.push_back(MigratingCall{c, id("sip:peer" + std::to_string(c) + "@a.mcx"),
                                        McService::mcptt, true});
    }
    return r;
}

proto::UserProfile open_profile() {
    proto::UserProfile p;
    p.user = id("sip:alice.a@b.mcx");
    p.allow_private_call = true;
    p.allow_private_call_to_any_user = true;
    return p;
}

bool has_notice(const MigrationEffects& e, MigrationNotice::Kind kind) {
    return std::any_of(e.notices.begin(), e.notices.end(),
                       [kind](const MigrationNotice& n) { return n.kind == kind; });
}

std::optional<std::uint64_t> started(const MigrationEffects& e, MigrationTimer timer) {
    for (const auto& t : e.timers) {
        if (t.timer == timer && t.start) return t.generation;
    }
    return std::nullopt;
}

// Rows of kMigrationTransitions taken by the managers of one scenario.
using Rows = std::set<std::size_t>;
void collect(const MigrationManager& manager, Rows& rows) {
    EXPECT_EQ(manager.untabled_transitions(), 0u) << "the code took a transition the table lacks";
    for (std::size_t i = 0; i < manager.taken().size(); ++i) {
        if (manager.taken()[i]) rows.insert(i);
    }
}

// Literal order up to the profile step, the calls released.
void literal_until_profile(MigrationManager& m, std::vector<CallId> calls) {
    m.start(request(calls));
    ASSERT_EQ(m.state(), MigrationState::releasing);
    for (auto c : calls) m.on_call_released(c);
    ASSERT_EQ(m.state(), MigrationState::suspended);
    m.on_moved();
    m.on_authenticated();
    m.on_registered();
    ASSERT_EQ(m.state(), MigrationState::retrieving_profile);
}

// Each scenario is a test of its own (listed at the end) and, all together, the proof that
// every row of the table is driven.
using Scenario = void (*)(MigrationManager& m, Rows& rows);
void run(Scenario scenario) {
    MigrationManager m;
    Rows rows;
    scenario(m, rows);
    collect(m, rows);
}

void LiteralOrderFollowsTheSeedStepByStep([[maybe_unused]] MigrationManager& m,
                                          [[maybe_unused]] Rows& rows) {
    auto e = m.start(request({1, 2}));
    EXPECT_EQ(m.state(), MigrationState::releasing);
    EXPECT_EQ(e.release, (std::vector<CallId>{1, 2})) << "step 1 releases every call";
    EXPECT_FALSE(e.release_locally);
    EXPECT_TRUE(started(e, MigrationTimer::release));
    EXPECT_FALSE(e.authenticate) << "the literal order authenticates only after the release";

    e = m.on_call_released(1);
    EXPECT_EQ(m.state(), MigrationState::releasing);
    EXPECT_FALSE(e.move_to);
    e = m.on_call_released(2);
    EXPECT_EQ(m.state(), MigrationState::suspended);
    EXPECT_EQ(e.move_to, "B");

    e = m.on_moved();
    EXPECT_EQ(m.state(), MigrationState::authenticating);
    EXPECT_EQ(e.authenticate, "B");
    e = m.on_authenticated();
    EXPECT_EQ(m.state(), MigrationState::registering);
    EXPECT_EQ(e.register_in, "B");
    e = m.on_registered();
    EXPECT_EQ(m.state(), MigrationState::retrieving_profile);
    EXPECT_EQ(e.retrieve_profile, "B");

    e = m.on_profile(open_profile());
    EXPECT_EQ(m.state(), MigrationState::resuming);
    EXPECT_EQ(e.resume, (std::vector<CallId>{1, 2})) << "step 3 re-initiates every call";
    EXPECT_EQ(e.serve_from, "B") << "from now on requests go through the target";
    EXPECT_TRUE(started(e, MigrationTimer::resume));

    e = m.on_call_resumed(2);
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::call_resumed));
    EXPECT_EQ(m.state(), MigrationState::resuming);
    e = m.on_call_resumed(1);
    EXPECT_EQ(m.state(), MigrationState::serving);
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::migrated));
    EXPECT_EQ(e.unregister_from, (std::vector<std::string>{"A"}))
        << "the old registration is removed once the target serves";
    EXPECT_TRUE(m.target().empty());
}

void StepNoticesComeInTheSeedsOrder([[maybe_unused]] MigrationManager& m,
                                    [[maybe_unused]] Rows& rows) {
    std::vector<std::string> steps;
    auto collect = [&](const MigrationEffects& e) {
        for (const auto& n : e.notices) {
            if (n.kind == MigrationNotice::Kind::step_started) steps.push_back(to_string(n.step));
        }
    };
    collect(m.start(request({1})));
    collect(m.on_call_released(1));
    collect(m.on_moved());
    collect(m.on_authenticated());
    collect(m.on_registered());
    collect(m.on_profile(open_profile()));
    collect(m.on_call_resumed(1));
    EXPECT_EQ(steps, (std::vector<std::string>{"release", "authenticate", "register", "profile",
                                               "resume"}));
}

void PreparedOrderDoesStepTwoWhileTheCallsRun([[maybe_unused]] MigrationManager& m,
                                              [[maybe_unused]] Rows& rows) {
    auto e = m.start(request({1}, MigrationOrder::prepared));
    EXPECT_EQ(m.state(), MigrationState::authenticating);
    EXPECT_TRUE(e.release.empty()) << "calls keep running during step 2";
    EXPECT_EQ(e.authenticate, "B");
    m.on_authenticated();
    m.on_registered();
    e = m.on_profile(open_profile());
    EXPECT_EQ(m.state(), MigrationState::releasing);
    EXPECT_EQ(e.release, (std::vector<CallId>{1}));
    e = m.on_call_released(1);
    EXPECT_EQ(m.state(), MigrationState::resuming) << "released, then re-initiated at once";
    EXPECT_EQ(e.resume, (std::vector<CallId>{1}));
    EXPECT_EQ(e.serve_from, "B");
    e = m.on_call_resumed(1);
    EXPECT_EQ(m.state(), MigrationState::serving);
}

void PreparedOrderReleaseTimeoutResumesAnyway([[maybe_unused]] MigrationManager& m,
                                              [[maybe_unused]] Rows& rows) {
    m.start(request({1, 2}, MigrationOrder::prepared));
    m.on_authenticated();
    m.on_registered();
    auto e = m.on_profile(open_profile());
    const auto release = started(e, MigrationTimer::release);
    ASSERT_TRUE(release);
    e = m.on_call_released(1);
    EXPECT_EQ(e.resume, (std::vector<CallId>{1})) << "call 1 does not wait for call 2";
    e = m.on_timer(MigrationTimer::release, *release);
    EXPECT_EQ(m.state(), MigrationState::resuming);
    EXPECT_EQ(e.resume, (std::vector<CallId>{2})) << "the rest, once the BYEs had their time";
}

// Prepared: each call is re-initiated as soon as its own BYE was answered, and its outcome may
// come before the other call is released (a retry too).
void PreparedOrderResumesEachCallAsSoonAsItIsReleased([[maybe_unused]] MigrationManager& m,
                                                      [[maybe_unused]] Rows& rows) {
    m.start(request({1, 2, 3}, MigrationOrder::prepared));
    m.on_authenticated();
    m.on_registered();
    m.on_profile(open_profile());
    auto e = m.on_call_released(1);
    EXPECT_EQ(m.state(), MigrationState::releasing);
    EXPECT_EQ(e.resume, (std::vector<CallId>{1}));
    EXPECT_EQ(e.serve_from, "B") << "the resume goes through the target";
    EXPECT_TRUE(started(e, MigrationTimer::resume));
    e = m.on_call_resumed(1);
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::call_resumed));
    EXPECT_EQ(m.state(), MigrationState::releasing);
    e = m.on_call_released(2);
    EXPECT_EQ(e.resume, (std::vector<CallId>{2}));
    EXPECT_FALSE(started(e, MigrationTimer::resume)) << "one resume deadline for the migration";
    e = m.on_call_resume_failed(2, 480, std::nullopt, "480");
    EXPECT_TRUE(e.end.empty()) << "retried";
    e = m.on_timer(MigrationTimer::retry, *started(e, MigrationTimer::retry));
    EXPECT_EQ(e.resume, (std::vector<CallId>{2}));
    EXPECT_EQ(m.state(), MigrationState::releasing);
    e = m.on_call_resume_failed(2, 403, 144, "403");
    ASSERT_EQ(e.end.size(), 1u) << "a final refusal before the last release";
    e = m.on_call_released(3);
    EXPECT_EQ(m.state(), MigrationState::resuming);
    EXPECT_EQ(e.resume, (std::vector<CallId>{3})) << "only the call not yet re-initiated";
    e = m.on_call_resumed(3);
    EXPECT_EQ(m.state(), MigrationState::serving);
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::migrated));
    EXPECT_EQ(m.on_call_resumed(1).notices.size(), 0u) << "call 1 already resumed";
}

// Glare before the last release in the prepared order: the call waits for the peer's resume.
void PreparedEarlyGlareYields([[maybe_unused]] MigrationManager& m, [[maybe_unused]] Rows& rows) {
    m.start(request({1, 2}, MigrationOrder::prepared));
    m.on_authenticated();
    m.on_registered();
    m.on_profile(open_profile());
    m.on_call_released(1);
    auto e = m.on_call_resume_failed(1, 491, std::nullopt, "491");
    EXPECT_TRUE(e.end.empty());
    EXPECT_EQ(m.yielded(), (std::vector<CallId>{1}));
    m.on_call_released(2);
    e = m.on_call_resumed(2);
    EXPECT_EQ(m.state(), MigrationState::serving);
}

void PreparedFailureLeavesTheCallsAlone([[maybe_unused]] MigrationManager& m,
                                        [[maybe_unused]] Rows& rows) {
    m.start(request({1}, MigrationOrder::prepared));
    auto e = m.on_authentication_failed("invalid_grant: not allowed", false);
    EXPECT_EQ(m.state(), MigrationState::serving);
    EXPECT_TRUE(e.end.empty()) << "nothing was released: the call goes on where it is";
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::failed));
    EXPECT_TRUE(e.unregister_from.empty());
}

void PreparedRegistrationFailureIsFinal([[maybe_unused]] MigrationManager& m,
                                        [[maybe_unused]] Rows& rows) {
    m.start(request({1}, MigrationOrder::prepared, {"B", "C"}));
    m.on_authenticated();
    auto e = m.on_registration_failed("403", false);
    EXPECT_EQ(m.state(), MigrationState::serving) << "the prepared order tries no other target";
    EXPECT_TRUE(e.end.empty());
}

void PreparedWithEveryCallRestrictedEndsThemAndSwitches([[maybe_unused]] MigrationManager& m,
                                                        [[maybe_unused]] Rows& rows) {
    m.start(request({1}, MigrationOrder::prepared));
    m.on_authenticated();
    m.on_registered();
    auto profile = open_profile();
    profile.allow_private_call = false;
    auto e = m.on_profile(profile);
    EXPECT_EQ(m.state(), MigrationState::serving);
    ASSERT_EQ(e.end.size(), 1u);
    EXPECT_EQ(e.serve_from, "B");
}

void LiteralWithoutCallsJustMoves([[maybe_unused]] MigrationManager& m,
                                  [[maybe_unused]] Rows& rows) {
    auto e = m.start(request({}));
    EXPECT_EQ(m.state(), MigrationState::suspended);
    EXPECT_EQ(e.move_to, "B");
    m.on_moved();
    m.on_authenticated();
    m.on_registered();
    e = m.on_profile(open_profile());
    EXPECT_EQ(m.state(), MigrationState::serving);
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::migrated));
}

void ReleaseTimeoutMovesOnWithUnansweredByes([[maybe_unused]] MigrationManager& m,
                                             [[maybe_unused]] Rows& rows) {
    auto e = m.start(request({1, 2}));
    const auto gen = *started(e, MigrationTimer::release);
    m.on_call_released(1);
    e = m.on_timer(MigrationTimer::release, gen);
    EXPECT_EQ(m.state(), MigrationState::suspended);
    EXPECT_EQ(e.move_to, "B");
}

void ServingSystemLostReleasesLocally([[maybe_unused]] MigrationManager& m,
                                      [[maybe_unused]] Rows& rows) {
    auto r = request({1});
    r.serving_lost = true;
    r.trigger = MigrationTrigger::automatic;
    auto e = m.start(r);
    EXPECT_TRUE(e.release_locally) << "no BYE can be answered by a lost system";
}

void StandbyReadyGoesStraightToRelease([[maybe_unused]] MigrationManager& m,
                                       [[maybe_unused]] Rows& rows) {
    auto r = request({1, 2});
    r.standby_ready = true;
    auto e = m.start(r);
    EXPECT_EQ(m.state(), MigrationState::releasing);
    e = m.on_call_released(1);
    EXPECT_EQ(e.resume, (std::vector<CallId>{1})) << "a standby migration is a prepared one";
    e = m.on_call_released(2);
    EXPECT_EQ(m.state(), MigrationState::resuming);
    EXPECT_EQ(e.resume, (std::vector<CallId>{2}));
    m.on_call_resumed(1);
    e = m.on_call_resumed(2);
    EXPECT_EQ(m.state(), MigrationState::serving);
}

// The peer migrated first and we, the original caller, resume: nothing is released again.
void AlreadySuspendedCallsAreNotReleasedAgain([[maybe_unused]] MigrationManager& m,
                                              [[maybe_unused]] Rows& rows) {
    auto r = request({1});
    r.calls[0].already_suspended = true;
    auto e = m.start(r);
    EXPECT_EQ(m.state(), MigrationState::suspended);
    EXPECT_TRUE(e.release.empty());
    EXPECT_EQ(e.move_to, "B");
    {
        MigrationManager p;
        auto pr = request({1, 2}, MigrationOrder::prepared);
        pr.calls[0].already_suspended = true;
        p.start(pr);
        p.on_authenticated();
        p.on_registered();
        e = p.on_profile(open_profile());
        EXPECT_EQ(e.release, (std::vector<CallId>{2})) << "only the running call is released";
        collect(p, rows);
    }
    {
        MigrationManager p;
        auto pr = request({1}, MigrationOrder::prepared);
        pr.calls[0].already_suspended = true;
        p.start(pr);
        p.on_authenticated();
        p.on_registered();
        e = p.on_profile(open_profile());
        EXPECT_EQ(p.state(), MigrationState::resuming);
        EXPECT_EQ(e.resume, (std::vector<CallId>{1}));
        collect(p, rows);
    }
    {
        MigrationManager p;
        auto pr = request({1});
        pr.calls[0].already_suspended = true;
        pr.standby_ready = true;
        e = p.start(pr);
        EXPECT_EQ(p.state(), MigrationState::resuming);
        EXPECT_EQ(e.resume, (std::vector<CallId>{1}));
        collect(p, rows);
    }
}

void StandbyReadyWithoutCallsSwitchesAtOnce([[maybe_unused]] MigrationManager& m,
                                            [[maybe_unused]] Rows& rows) {
    auto r = request({});
    r.standby_ready = true;
    auto e = m.start(r);
    EXPECT_EQ(m.state(), MigrationState::serving);
    EXPECT_EQ(e.serve_from, "B");
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::migrated));
}

void RestrictedPeerIsNotCalled([[maybe_unused]] MigrationManager& m, [[maybe_unused]] Rows& rows) {
    literal_until_profile(m, {1, 2});
    auto profile = open_profile();
    profile.allow_private_call_to_any_user = false;
    profile.private_call_targets = {id("sip:peer2@a.mcx")};
    auto e = m.on_profile(profile);
    EXPECT_EQ(e.resume, (std::vector<CallId>{2})) << "NOTE 2: peer1 is not allowed in B";
    ASSERT_EQ(e.end.size(), 1u);
    EXPECT_EQ(e.end[0].id, 1u);
    EXPECT_EQ(e.end[0].reason.rfind("restricted: ", 0), 0u) << e.end[0].reason;
}

void EveryCallRestrictedEndsTheMigrationAtOnce([[maybe_unused]] MigrationManager& m,
                                               [[maybe_unused]] Rows& rows) {
    literal_until_profile(m, {1});
    auto profile = open_profile();
    profile.allow_private_call = false;
    auto e = m.on_profile(profile);
    EXPECT_EQ(m.state(), MigrationState::serving);
    ASSERT_EQ(e.end.size(), 1u);
    EXPECT_NE(e.end[0].reason.find("private calls are not allowed in B"), std::string::npos);
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::migrated)) << "the user did migrate";
}

void McvideoCallNeedsMcvideoInTheNewProfile([[maybe_unused]] MigrationManager& m,
                                            [[maybe_unused]] Rows& rows) {
    auto r = request({});
    r.calls.push_back(MigratingCall{7, id("sip:v@a.mcx"), McService::mcvideo, true});
    m.start(r);
    m.on_call_released(7);
    m.on_moved();
    m.on_authenticated();
    m.on_registered();
    auto e = m.on_profile(open_profile());
    ASSERT_EQ(e.end.size(), 1u);
    EXPECT_NE(e.end[0].reason.find("MCVideo"), std::string::npos);
}

void TargetRefusesAuthenticationEveryCallFails([[maybe_unused]] MigrationManager& m,
                                               [[maybe_unused]] Rows& rows) {
    m.start(request({1, 2}));
    m.on_call_released(1);
    m.on_call_released(2);
    m.on_moved();
    auto e = m.on_authentication_failed("alice may not migrate to B", false);
    EXPECT_EQ(m.state(), MigrationState::serving);
    ASSERT_EQ(e.end.size(), 2u);
    EXPECT_NE(e.end[0].reason.find("may not migrate to B"), std::string::npos);
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::failed));
    EXPECT_FALSE(e.serve_from) << "the old system still serves";
    EXPECT_TRUE(e.unregister_from.empty()) << "the old registration is kept";
}

void UnreachableTargetTriesTheNextOne([[maybe_unused]] MigrationManager& m,
                                      [[maybe_unused]] Rows& rows) {
    m.start(request({1}, MigrationOrder::literal, {"B", "C"}));
    m.on_call_released(1);
    m.on_moved();
    auto e = m.on_authentication_failed("connection refused", true);
    EXPECT_EQ(m.state(), MigrationState::suspended);
    EXPECT_EQ(e.move_to, "C");
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::target_refused));
    EXPECT_EQ(m.target(), "C");
    m.on_moved();
    e = m.on_authenticated();
    EXPECT_EQ(e.register_in, "C");
}

void RegistrationFailureTriesTheNextThenFails([[maybe_unused]] MigrationManager& m,
                                              [[maybe_unused]] Rows& rows) {
    m.start(request({1}, MigrationOrder::literal, {"B", "C"}));
    m.on_call_released(1);
    m.on_moved();
    m.on_authenticated();
    auto e = m.on_registration_failed("403 Forbidden", false);
    EXPECT_EQ(m.state(), MigrationState::suspended);
    EXPECT_EQ(e.move_to, "C");
    m.on_moved();
    m.on_authenticated();
    e = m.on_registration_failed("403 Forbidden", false);
    EXPECT_EQ(m.state(), MigrationState::serving);
    EXPECT_EQ(e.end.size(), 1u);
}

void ProfileFailureUnregistersFromTheTarget([[maybe_unused]] MigrationManager& m,
                                            [[maybe_unused]] Rows& rows) {
    literal_until_profile(m, {1});
    auto e = m.on_profile_failed("403 A refused: not allowed to migrate to B");
    EXPECT_EQ(m.state(), MigrationState::serving);
    EXPECT_EQ(e.unregister_from, (std::vector<std::string>{"B"}));
    ASSERT_EQ(e.end.size(), 1u);
    EXPECT_NE(e.end[0].reason.find("not allowed to migrate"), std::string::npos);
}

void StepTimeoutsInEveryStep2State([[maybe_unused]] MigrationManager& m,
                                   [[maybe_unused]] Rows& rows) {
    {
        MigrationManager a;
        a.start(request({}, MigrationOrder::literal, {"B", "C"}));
        auto e = a.on_moved();
        e = a.on_timer(MigrationTimer::step, *started(e, MigrationTimer::step));
        EXPECT_EQ(a.state(), MigrationState::suspended) << "authenticating: next target";
        EXPECT_EQ(e.move_to, "C");
        e = a.on_moved();
        e = a.on_timer(MigrationTimer::step, *started(e, MigrationTimer::step));
        EXPECT_EQ(a.state(), MigrationState::serving) << "authenticating: last target";
        collect(a, rows);
    }
    {
        MigrationManager r;
        r.start(request({}, MigrationOrder::literal, {"B", "C"}));
        r.on_moved();
        auto e = r.on_authenticated();
        e = r.on_timer(MigrationTimer::step, *started(e, MigrationTimer::step));
        EXPECT_EQ(r.state(), MigrationState::suspended) << "registering: next target";
        r.on_moved();
        e = r.on_authenticated();
        e = r.on_timer(MigrationTimer::step, *started(e, MigrationTimer::step));
        EXPECT_EQ(r.state(), MigrationState::serving) << "registering: last target";
        collect(r, rows);
    }
    m.start(request({}));
    m.on_moved();
    m.on_authenticated();
    auto e = m.on_registered();
    e = m.on_timer(MigrationTimer::step, *started(e, MigrationTimer::step));
    EXPECT_EQ(m.state(), MigrationState::serving) << "retrieving the profile: fail";
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::failed));
}

void StaleTimersAreIgnored([[maybe_unused]] MigrationManager& m, [[maybe_unused]] Rows& rows) {
    auto e = m.start(request({1}));
    const auto gen = *started(e, MigrationTimer::release);
    e = m.on_call_released(1);  // cancels the release timer
    EXPECT_TRUE(m.on_timer(MigrationTimer::release, gen).notices.empty());
    EXPECT_EQ(m.state(), MigrationState::suspended);
    EXPECT_EQ(m.refused_events(), 0u) << "a stale expiry is not a refused event";
}

void RetryableResumeFailureIsRetried([[maybe_unused]] MigrationManager& m,
                                     [[maybe_unused]] Rows& rows) {
    literal_until_profile(m, {1});
    m.on_profile(open_profile());
    auto e = m.on_call_resume_failed(1, 480, 146, "480 Temporarily Unavailable");
    EXPECT_EQ(m.state(), MigrationState::resuming);
    EXPECT_TRUE(e.end.empty()) << "the peer may not be registered yet: try again";
    const auto retry = started(e, MigrationTimer::retry);
    ASSERT_TRUE(retry);
    e = m.on_timer(MigrationTimer::retry, *retry);
    EXPECT_EQ(e.resume, (std::vector<CallId>{1}));
    e = m.on_call_resumed(1);
    EXPECT_EQ(m.state(), MigrationState::serving);
}

void FinalResumeFailureEndsTheCall([[maybe_unused]] MigrationManager& m,
                                   [[maybe_unused]] Rows& rows) {
    literal_until_profile(m, {1, 2});
    m.on_profile(open_profile());
    auto e = m.on_call_resume_failed(1, 403, 144, "403 Forbidden: not authorised");
    ASSERT_EQ(e.end.size(), 1u);
    EXPECT_EQ(e.end[0].status, 403);
    EXPECT_EQ(e.end[0].warning, 144);
    EXPECT_EQ(m.state(), MigrationState::resuming);
    e = m.on_call_resume_failed(2, 404, std::nullopt, "404");
    EXPECT_EQ(m.state(), MigrationState::resuming) << "404 is retried";
    e = m.on_timer(MigrationTimer::retry, *started(e, MigrationTimer::retry));
    e = m.on_call_resume_failed(2, 603, std::nullopt, "603 Decline");
    EXPECT_EQ(m.state(), MigrationState::serving) << "the last call ended: done";
    EXPECT_TRUE(has_notice(e, MigrationNotice::Kind::migrated));
}

void ResumeTimeoutFailsWhatIsLeft([[maybe_unused]] MigrationManager& m,
                                  [[maybe_unused]] Rows& rows) {
    literal_until_profile(m, {1, 2});
    auto e = m.on_profile(open_profile());
    const auto resume = *started(e, MigrationTimer::resume);
    m.on_call_resumed(1);
    e = m.on_call_resume_failed(2, 0, std::nullopt, "no response");
    e = m.on_timer(MigrationTimer::resume, resume);
    EXPECT_EQ(m.state(), MigrationState::serving);
    ASSERT_EQ(e.end.size(), 1u);
    EXPECT_EQ(e.end[0].id, 2u);
    EXPECT_NE(e.end[0].reason.find("not resumed within"), std::string::npos);
}

void GlareYieldsToThePeersResume([[maybe_unused]] MigrationManager& m,
                                 [[maybe_unused]] Rows& rows) {
    literal_until_profile(m, {1});
    m.on_profile(open_profile());
    auto e = m.on_call_resume_failed(1, 491, std::nullopt, "491 Request Pending");
    EXPECT_EQ(m.state(), MigrationState::serving);
    EXPECT_TRUE(e.end.empty()) << "the call is not lost: the peer resumes it";
    EXPECT_EQ(m.yielded(), (std::vector<CallId>{1}));
}

TEST(MigrationGlare, TheOriginalCallersResumeWins) {
    EXPECT_EQ(resolve_glare(true), GlareResolution::keep_own_resume);
    EXPECT_EQ(resolve_glare(false), GlareResolution::take_peer_resume);
}

TEST(MigrationGlare, AnIncomingResumeAgainstOurOwn) {
    // No resume of ours: the peer's is answered, whoever called first.
    EXPECT_EQ(decide_incoming_resume(OwnResume::none, true, false), IncomingResume::take);
    EXPECT_EQ(decide_incoming_resume(OwnResume::none, false, false), IncomingResume::take);
    // Both pending: the original caller's resume wins.
    EXPECT_EQ(decide_incoming_resume(OwnResume::pending, true, false),
              IncomingResume::refuse_own_wins);
    EXPECT_EQ(decide_incoming_resume(OwnResume::pending, false, false),
              IncomingResume::take_dropping_own);
    // Ours answered already: one naming the peer's old ID crossed ours (slower path), one
    // naming the ID our call reaches is the peer migrating again.
    EXPECT_EQ(decide_incoming_resume(OwnResume::answered, true, false),
              IncomingResume::refuse_crossed);
    EXPECT_EQ(decide_incoming_resume(OwnResume::answered, false, false),
              IncomingResume::refuse_crossed);
    EXPECT_EQ(decide_incoming_resume(OwnResume::answered, true, true), IncomingResume::take);
}

TEST(MigrationNote3, PolicyDecidesRequestsDuringTheResume) {
    auto refused = decide_incoming(1, false, IncomingDuringResume::reject);
    EXPECT_FALSE(refused.accept);
    EXPECT_EQ(refused.status, 486);
    EXPECT_NE(refused.warning_detail.find("migration is in progress"), std::string::npos);
    EXPECT_TRUE(decide_incoming(1, false, IncomingDuringResume::accept).accept);
    EXPECT_TRUE(decide_incoming(1, true, IncomingDuringResume::reject).accept)
        << "the resume itself is always taken";
    EXPECT_TRUE(decide_incoming(0, false, IncomingDuringResume::reject).accept)
        << "no suspended call: nothing to protect";
}

void WrongEventsAreRefusedAndCounted([[maybe_unused]] MigrationManager& m,
                                     [[maybe_unused]] Rows& rows) {
    EXPECT_TRUE(m.on_moved().notices.empty());
    m.on_authenticated();
    m.on_registered();
    m.on_profile(open_profile());
    m.on_call_resumed(1);
    m.on_call_released(1);
    EXPECT_EQ(m.refused_events(), 6u);
    EXPECT_EQ(m.state(), MigrationState::serving);
    auto e = m.start(request({1}, MigrationOrder::literal, {"A"}));
    EXPECT_EQ(m.refused_events(), 7u) << "migrating to the serving system is refused";
    m.start(request({1}));
    m.start(request({1}));
    EXPECT_EQ(m.refused_events(), 8u) << "a second start while migrating is refused";
    m.on_call_released(9);
    EXPECT_EQ(m.refused_events(), 9u) << "an unknown call";
    m.on_call_released(1);
    m.on_call_released(1);
    EXPECT_EQ(m.refused_events(), 10u) << "a call released twice";
}

TEST(Migration, LiteralOrderFollowsTheSeedStepByStep) {
    run(LiteralOrderFollowsTheSeedStepByStep);
}
TEST(Migration, StepNoticesComeInTheSeedsOrder) {
    run(StepNoticesComeInTheSeedsOrder);
}
TEST(Migration, PreparedOrderDoesStepTwoWhileTheCallsRun) {
    run(PreparedOrderDoesStepTwoWhileTheCallsRun);
}
TEST(Migration, PreparedOrderReleaseTimeoutResumesAnyway) {
    run(PreparedOrderReleaseTimeoutResumesAnyway);
}
TEST(Migration, PreparedOrderResumesEachCallAsSoonAsItIsReleased) {
    run(PreparedOrderResumesEachCallAsSoonAsItIsReleased);
}
TEST(Migration, PreparedEarlyGlareYields) {
    run(PreparedEarlyGlareYields);
}
TEST(Migration, PreparedFailureLeavesTheCallsAlone) {
    run(PreparedFailureLeavesTheCallsAlone);
}
TEST(Migration, PreparedRegistrationFailureIsFinal) {
    run(PreparedRegistrationFailureIsFinal);
}
TEST(Migration, PreparedWithEveryCallRestrictedEndsThemAndSwitches) {
    run(PreparedWithEveryCallRestrictedEndsThemAndSwitches);
}
TEST(Migration, LiteralWithoutCallsJustMoves) {
    run(LiteralWithoutCallsJustMoves);
}
TEST(Migration, ReleaseTimeoutMovesOnWithUnansweredByes) {
    run(ReleaseTimeoutMovesOnWithUnansweredByes);
}
TEST(Migration, ServingSystemLostReleasesLocally) {
    run(ServingSystemLostReleasesLocally);
}
TEST(Migration, StandbyReadyGoesStraightToRelease) {
    run(StandbyReadyGoesStraightToRelease);
}
TEST(Migration, StandbyReadyWithoutCallsSwitchesAtOnce) {
    run(StandbyReadyWithoutCallsSwitchesAtOnce);
}
TEST(Migration, RestrictedPeerIsNotCalled) {
    run(RestrictedPeerIsNotCalled);
}
TEST(Migration, EveryCallRestrictedEndsTheMigrationAtOnce) {
    run(EveryCallRestrictedEndsTheMigrationAtOnce);
}
TEST(Migration, McvideoCallNeedsMcvideoInTheNewProfile) {
    run(McvideoCallNeedsMcvideoInTheNewProfile);
}
TEST(Migration, TargetRefusesAuthenticationEveryCallFails) {
    run(TargetRefusesAuthenticationEveryCallFails);
}
TEST(Migration, UnreachableTargetTriesTheNextOne) {
    run(UnreachableTargetTriesTheNextOne);
}
TEST(Migration, RegistrationFailureTriesTheNextThenFails) {
    run(RegistrationFailureTriesTheNextThenFails);
}
TEST(Migration, ProfileFailureUnregistersFromTheTarget) {
    run(ProfileFailureUnregistersFromTheTarget);
}
TEST(Migration, StepTimeoutsInEveryStep2State) {
    run(StepTimeoutsInEveryStep2State);
}
TEST(Migration, StaleTimersAreIgnored) {
    run(StaleTimersAreIgnored);
}
TEST(Migration, RetryableResumeFailureIsRetried) {
    run(RetryableResumeFailureIsRetried);
}
TEST(Migration, FinalResumeFailureEndsTheCall) {
    run(FinalResumeFailureEndsTheCall);
}
TEST(Migration, ResumeTimeoutFailsWhatIsLeft) {
    run(ResumeTimeoutFailsWhatIsLeft);
}
TEST(Migration, GlareYieldsToThePeersResume) {
    run(GlareYieldsToThePeersResume);
}
TEST(Migration, WrongEventsAreRefusedAndCounted) {
    run(WrongEventsAreRefusedAndCounted);
}

constexpr Scenario kScenarios[] = {
    LiteralOrderFollowsTheSeedStepByStep,
    StepNoticesComeInTheSeedsOrder,
    PreparedOrderDoesStepTwoWhileTheCallsRun,
    PreparedOrderReleaseTimeoutResumesAnyway,
    PreparedOrderResumesEachCallAsSoonAsItIsReleased,
    PreparedEarlyGlareYields,
    PreparedFailureLeavesTheCallsAlone,
    PreparedRegistrationFailureIsFinal,
    PreparedWithEveryCallRestrictedEndsThemAndSwitches,
    LiteralWithoutCallsJustMoves,
    ReleaseTimeoutMovesOnWithUnansweredByes,
    ServingSystemLostReleasesLocally,
    StandbyReadyGoesStraightToRelease,
    StandbyReadyWithoutCallsSwitchesAtOnce,
    AlreadySuspendedCallsAreNotReleasedAgain,
    RestrictedPeerIsNotCalled,
    EveryCallRestrictedEndsTheMigrationAtOnce,
    McvideoCallNeedsMcvideoInTheNewProfile,
    TargetRefusesAuthenticationEveryCallFails,
    UnreachableTargetTriesTheNextOne,
    RegistrationFailureTriesTheNextThenFails,
    ProfileFailureUnregistersFromTheTarget,
    StepTimeoutsInEveryStep2State,
    StaleTimersAreIgnored,
    RetryableResumeFailureIsRetried,
    FinalResumeFailureEndsTheCall,
    ResumeTimeoutFailsWhatIsLeft,
    GlareYieldsToThePeersResume,
    WrongEventsAreRefusedAndCounted,
};

TEST(MigrationTable, EveryTransitionIsDriven) {
    Rows rows;
    for (auto scenario : kScenarios) {
        MigrationManager manager;
        scenario(manager, rows);
        collect(manager, rows);
    }
    for (std::size_t i = 0; i < kMigrationTransitions.size(); ++i) {
        EXPECT_TRUE(rows.count(i)) << "no test drives: " << to_string(kMigrationTransitions[i].from)
                                   << " -> " << to_string(kMigrationTransitions[i].to) << " ["
                                   << kMigrationTransitions[i].label << "]";
    }
}

TEST(MigrationTable, DotDiagramMatchesTheTable) {
    std::ifstream dot(MCX_TEST_SOURCE_DIR "/src/client/migration_manager.dot");
    ASSERT_TRUE(dot) << "migration_manager.dot missing";
    const std::regex edge(R"re((\w+) -> (\w+) \[label="([^"]+)"\];)re");
    std::multiset<std::tuple<std::string, std::string, std::string>> drawn;
    for (std::string line; std::getline(dot, line);) {
        std::smatch match;
        if (std::regex_search(line, match, edge)) drawn.insert({match[1], match[2], match[3]});
    }
    auto node = [](MigrationState s) {
        std::string n = to_string(s);
        std::replace(n.begin(), n.end(), '-', '_');
        return n;
    };
    std::multiset<std::tuple<std::string, std::string, std::string>> coded;
    for (const auto& t : kMigrationTransitions) {
        coded.insert({node(t.from), node(t.to), std::string(t.label)});
        // The label starts with the event's name.
        EXPECT_EQ(t.label.rfind(to_string(t.event), 0), 0u) << t.label;
    }
    EXPECT_EQ(drawn, coded);
}

}  // namespace
}  // namespace mcx::client
