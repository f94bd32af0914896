// The client's REGISTER against a registrar that answers 503 (RFC 3261 21.5.4, 20.33): with a
// Retry-After it is sent again after that wait, five times in a row at most; without one, or
// after those, registration fails. Two SIP stacks on 127.0.0.1 over the real loopback.
#include "net/registration_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "net/event_loop.hpp"
#include "net/sip_stack.hpp"
#include "net/timer.hpp"

namespace mcx::net {
namespace {

using Clock = std::chrono::steady_clock;

struct Registering : ::testing::Test {
    EventLoop loop;
    std::unique_ptr<SipStack> client;
    std::unique_ptr<SipStack> registrar;
    Timer watchdog;
    std::vector<Clock::time_point> registers;  // when each REGISTER arrived
    std::vector<RegistrationEvent> events;

    void SetUp() override {
        auto a = SipStack::create(loop, {});
        auto b = SipStack::create(loop, {});
        ASSERT_TRUE(a && b);
        client = std::move(*a);
        registrar = std::move(*b);
        watchdog.start(std::chrono::seconds(15), [this] {
            ADD_FAILURE() << "watchdog expired";
            loop.stop();
        });
    }

    // The registrar answers the n-th REGISTER (from 0) with answer(n).
    void answer_with(std::function<SipResponse(std::size_t)> answer) {
        registrar->set_request_handler([this, answer](const SipMessage& msg) {
            if (msg.method() != "REGISTER") return false;
            registers.push_back(Clock::now());
            (void)registrar->reply(msg, answer(registers.size() - 1));
            return true;
        });
    }

    // Registers and runs the loop until the first event.
    void register_once() {
        RegistrationOptions options;
        options.registrar_uri = "sip:a.mcx";
        options.registrar = registrar->local_endpoint();
        options.aor = "sip:alice@a.mcx";
        options.contact_user = "alice";
        auto started = RegistrationClient::start(*client, options,
                                                 [this](RegistrationEvent e, const SipMessage*) {
                                                     events.push_back(e);
                                                     loop.stop();
                                                 });
        ASSERT_TRUE(started) << started.error().reason;
        loop.run();
    }
};

SipResponse unavailable(const std::string& retry_after) {
    return SipResponse{503, "Service Unavailable",
                       retry_after.empty() ? "" : "Retry-After: " + retry_after + "\r\n", "", ""};
}

TEST_F(Registering, A503WithRetryAfterIsTriedAgainAfterTheWait) {
    answer_with([](std::size_t n) {
        return n == 0 ? unavailable("1 (overloaded)") : SipResponse{200, "OK", "", "", ""};
    });
    register_once();
    ASSERT_EQ(events, std::vector{RegistrationEvent::registered});
    ASSERT_EQ(registers.size(), 2u);
    EXPECT_GE(registers[1] - registers[0], std::chrono::milliseconds(950));
}

TEST_F(Registering, A503WithoutRetryAfterOrWithALongOneFails) {
    for (const std::string retry_after : {"", "61", "soon"}) {
        registers.clear();
        events.clear();
        answer_with([retry_after](std::size_t) { return unavailable(retry_after); });
        register_once();
        EXPECT_EQ(events, std::vector{RegistrationEvent::failed}) << retry_after;
        EXPECT_EQ(registers.size(), 1u) << "Retry-After: " << retry_after;
    }
}

TEST_F(Registering, FiveRetriesInARowAtMost) {
    answer_with([](std::size_t) { return unavailable("0"); });  // 0 s: waits 1 s all the same
    register_once();
    EXPECT_EQ(events, std::vector{RegistrationEvent::failed});
    ASSERT_EQ(registers.size(), 6u) << "the first REGISTER and five retries";
    EXPECT_GE(registers[5] - registers[0], std::chrono::milliseconds(4900));
}

}  // namespace
}  // namespace mcx::net
