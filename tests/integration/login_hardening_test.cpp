// Login hardening of the IdMS token endpoint on a real mcxd (issue 16 item 5): unknown users
// cost what wrong passwords cost, a guessed user is held with 429 + Retry-After while others log
// in, an address is held apart from others, and a login flood leaves /status, the CMS and SIP
// answering.
#include <gtest/gtest.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "net/http.hpp"

namespace mcx::test {
namespace {

using Clock = std::chrono::steady_clock;

struct Login {
    int status = 0;  // 0: no answer
    std::string error;
    std::string retry_after;
    std::chrono::microseconds took{0};
};

std::string header(const net::HttpResponse& response, const std::string& name) {
    for (const auto& [k, v] : response.headers) {
        if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    }
    return {};
}

Login login(const McSystem& system, const std::string& user, const std::string& password) {
    const auto start = Clock::now();
    auto r = net::http_post_form(
        system.http_url() + "/idms/token",
        {{"grant_type", "password"}, {"username", user}, {"password", password}}, 5s);
    Login out;
    out.took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    if (!r) return out;
    out.status = r->status;
    out.retry_after = header(*r, "Retry-After");
    auto body = Json::parse(r->body, nullptr, false);
    if (body.is_object()) out.error = body.value("error", "");
    return out;
}

double median_ms(std::vector<std::chrono::microseconds> samples) {
    std::sort(samples.begin(), samples.end());
    const auto n = samples.size();
    const auto mid = (samples[(n - 1) / 2] + samples[n / 2]) / 2;
    return static_cast<double>(mid.count()) / 1000.0;
}

// CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat.
double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {
        if (i == 14) utime = std::stol(field);
        if (i == 15) {
            stime = std::stol(field);
            break;
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Medians {
    double wrong_password_ms = 0;
    double unknown_user_ms = 0;
    bool within(double share) const {
        return std::abs(wrong_password_ms - unknown_user_ms) <=
               share * std::min(wrong_password_ms, unknown_user_ms);
    }
};

// 50 wrong-password logins of alice and 50 logins of users that do not exist, interleaved (the
// order swapped every pair, so that a drift of the machine's load falls on both alike).
Medians time_failed_logins(const McSystem& system, int round) {
    std::vector<std::chrono::microseconds> known, unknown;
    for (int i = 0; i < 50; ++i) {
        const auto password = "guess-" + std::to_string(round) + "-" + std::to_string(i);
        const auto stranger =
            system.uri("nobody-" + std::to_string(round) + "-" + std::to_string(i));
        auto wrong = [&] {
            auto r = login(system, system.uri("alice"), password);
            EXPECT_EQ(r.status, 400);
            EXPECT_EQ(r.error, "invalid_grant");
            known.push_back(r.took);
        };
        auto missing = [&] {
            auto r = login(system, stranger, password);
            EXPECT_EQ(r.status, 400);
            EXPECT_EQ(r.error, "invalid_grant");
            unknown.push_back(r.took);
        };
        if (i % 2 == 0) {
            wrong();
            missing();
        } else {
            missing();
            wrong();
        }
    }
    return {median_ms(known), median_ms(unknown)};
}

// Issue 16's acceptance: the medians of 50 unknown-user and 50 wrong-password logins are within
// 20 % of each other (without the dummy hash they differ tenfold). The throttle is set out of
// the way: this measures the work, not the holds. A machine busy with other work can upset one
// round of 100 logins, so up to three rounds are taken, and one within 20 % passes.
TEST(IdmsLogin, UnknownUserAndWrongPasswordTakeTheSameTime) {
    McSystem::Options options;
    options.users = {{"alice", "pw-a", {"*"}}};
    options.idms_toml = "login_user_failures = 1000000\nlogin_source_failures = 1000000\n";
    auto system = McSystem::start(options, test_output_dir());
    for (int i = 0; i < 5; ++i) {  // warm-up: connections, caches, the store's pages
        login(*system, system->uri("alice"), "warm-up");
        login(*system, system->uri("warm-up-" + std::to_string(i)), "warm-up");
    }
    Medians medians;
    for (int round = 0; round < 3; ++round) {
        medians = time_failed_logins(*system, round);
        std::cout << "median login time, round " << round << ": wrong password "
                  << medians.wrong_password_ms << " ms, unknown user " << medians.unknown_user_ms
                  << " ms\n";
        if (medians.within(0.2)) break;
    }
    RecordProperty("wrong_password_median_us", static_cast<int>(medians.wrong_password_ms * 1000));
    RecordProperty("unknown_user_median_us", static_cast<int>(medians.unknown_user_ms * 1000));
    EXPECT_TRUE(medians.within(0.2)) << "wrong password " << medians.wrong_password_ms
                                     << " ms, unknown user " << medians.unknown_user_ms << " ms";
}

// The default thresholds (config/README.md): a user is held after 5 failed logins, for 30 s
// at first; bob, from the same address, logs in during alice's burst.
TEST(IdmsLogin, BurstOfWrongPasswordsIsHeldWhileAnotherUserLogsIn) {
    McSystem::Options options;
    options.users = {{"alice", "pw-a", {"*"}}, {"bob", "pw-b", {"*"}}};
    auto system = McSystem::start(options, test_output_dir());
    std::vector<std::chrono::microseconds> held, checked;
    for (int i = 0; i < 100; ++i) {
        const auto r = login(*system, system->uri("alice"), "guess-" + std::to_string(i));
        (i < 5 ? checked : held).push_back(r.took);
        if (i < 5) {
            EXPECT_EQ(r.status, 400) << "attempt " << i;
            EXPECT_EQ(r.error, "invalid_grant") << "attempt " << i;
            EXPECT_TRUE(r.retry_after.empty()) << "attempt " << i;
        } else {
            ASSERT_EQ(r.status, 429) << "attempt " << i;
            EXPECT_EQ(r.error, "slow_down");
            const int seconds = r.retry_after.empty() ? 0 : std::stoi(r.retry_after);
            EXPECT_GE(seconds, 1) << "attempt " << i << ": Retry-After '" << r.retry_after << "'";
            EXPECT_LE(seconds, 30) << "attempt " << i;
        }
        if (i == 50) {
            const auto bob = login(*system, system->uri("bob"), "pw-b");
            EXPECT_EQ(bob.status, 200) << "bob during alice's burst";
            EXPECT_LT(bob.took, 1s);
        }
    }
    std::cout << "median login time: checked " << median_ms(checked) << " ms, held (429) "
              << median_ms(held) << " ms\n";
    EXPECT_EQ(login(*system, system->uri("alice"), "pw-a").status, 429)
        << "held: even the right password waits for the hold to end";
    const auto logins = system->status()["logins"];
    EXPECT_EQ(logins["failed"], 5) << logins;
    EXPECT_EQ(logins["held_user"], 96) << "every held attempt was answered without a hash";
    EXPECT_EQ(logins["succeeded"], 2) << "bob, and the harness's administrator at the start";
}

// [idms] login_source_failures: an address is held after that many failures (for any users);
// another address is not.
TEST(IdmsLogin, AHeldAddressDoesNotHoldAnotherAddress) {
    McSystem::Options options;
    options.users = {{"alice", "pw-a", {"*"}}, {"bob", "pw-b", {"*"}}};
    options.idms_toml = "login_source_failures = 10\n";
    auto system = McSystem::start(options, test_output_dir());
    ASSERT_EQ(login_from("127.0.0.2", *system, system->uri("bob"), "pw-b"), 200)
        << "127.0.0.2 must reach mcxd on 127.0.0.1 (the loopback network)";
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(login(*system, system->uri("user-" + std::to_string(i)), "guess").status, 400);
    }
    const auto held = login(*system, system->uri("bob"), "pw-b");
    EXPECT_EQ(held.status, 429);
    EXPECT_FALSE(held.retry_after.empty());
    EXPECT_EQ(login_from("127.0.0.2", *system, system->uri("bob"), "pw-b"), 200);
    EXPECT_EQ(system->status()["logins"]["held_source"], 1);
}

// 8 threads of wrong passwords for random users (the address throttle set out of the way, so
// that every attempt reaches the hash pool): /status (which runs on the SIP event loop), a CMS
// request and a SIP OPTIONS still answer within 1 s, and logins beyond the pool's room get 503
// with Retry-After at once.
TEST(IdmsLogin, LoginFloodLeavesStatusCmsAndSipAnswering) {
    McSystem::Options options;
    options.users = {{"alice", "pw-a", {"*"}}};
    options.idms_toml = "login_source_failures = 1000000\n";
    auto system = McSystem::start(options, test_output_dir());
    const auto bearer = "Bearer " + system->token("alice", "pw-a");
    ASSERT_NE(bearer, "Bearer ");
    const auto profile_url = system->http_url() + "/cms/org.3gpp.mcptt.user-profile/users/" +
                             system->uri("alice") + "/user-profile-0.xml";

    std::atomic<bool> flooding{true};
    std::atomic<int> refused{0}, busy{0}, busy_without_retry_after{0}, other{0};
    std::vector<std::thread> flood;
    for (int t = 0; t < 8; ++t) {
        flood.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t));
            while (flooding) {
                const auto r =
                    login(*system, system->uri("flood-" + std::to_string(rng())), "guess");
                if (r.status == 400) {
                    ++refused;
                } else if (r.status == 503) {
                    ++busy;
                    if (r.retry_after != "1") ++busy_without_retry_after;
                } else {
                    ++other;
                }
            }
        });
    }
    const auto flood_start = Clock::now();
    const auto cpu_start = cpu_seconds(system->pid());
    while (refused < 50 && Clock::now() - flood_start < 10s) std::this_thread::yield();

    RawSipSocket sip;
    std::chrono::milliseconds slowest{0};
    for (int i = 0; i < 10; ++i) {
        auto start = Clock::now();
        auto status = system->admin_get("/status");  // token from before the flood
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        ASSERT_TRUE(status && status->status == 200) << "probe " << i;
        EXPECT_LT(took, 1s) << "GET /status, probe " << i;
        slowest = std::max(slowest, took);

        start = Clock::now();
        auto profile = net::http_get(profile_url, {{"Authorization", bearer}}, 3s);
        took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        ASSERT_TRUE(profile) << "probe " << i;
        EXPECT_EQ(profile->status, 200) << "probe " << i;
        EXPECT_LT(took, 1s) << "CMS, probe " << i;
        slowest = std::max(slowest, took);

        start = Clock::now();
        sip.send(system->sip(),
                 "OPTIONS sip:a.mcx SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" +
                     std::to_string(sip.port()) + ";branch=z9hG4bK-flood-" + std::to_string(i) +
                     "\r\nMax-Forwards: 70\r\nFrom: <sip:probe@a.mcx>;tag=p" + std::to_string(i) +
                     "\r\nTo: <sip:a.mcx>\r\nCall-ID: flood-probe-" + std::to_string(i) +
                     "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
        const auto answer = sip.receive_final(1s);
        took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        EXPECT_EQ(status_of(answer), 200) << "SIP OPTIONS, probe " << i;
        slowest = std::max(slowest, took);
        std::this_thread::sleep_for(100ms);
    }
    const auto cpu_used = cpu_seconds(system->pid()) - cpu_start;
    const auto wall = std::chrono::duration<double>(Clock::now() - flood_start).count();
    flooding = false;
    for (auto& t : flood) t.join();

    std::cout << "login flood: " << refused << " checked (400), " << busy << " busy (503), "
              << other << " other; mcxd used " << cpu_used / wall << " cores; slowest probe "
              << slowest.count() << " ms\n";
    EXPECT_GE(refused, 50);
    EXPECT_GT(busy, 0) << "8 at once exceed 1 thread + 4 waiting: the rest get 503";
    EXPECT_EQ(busy_without_retry_after, 0);
    EXPECT_EQ(other, 0);
    const auto logins = system->status()["logins"];
    EXPECT_EQ(logins["busy"], busy.load()) << logins;
}

}  // namespace
}  // namespace mcx::test
