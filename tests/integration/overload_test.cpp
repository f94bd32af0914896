// Overload control on a real mcxd (issue 17 item 1): a flood of REGISTERs with forged token
// signatures is answered 503 with Retry-After (then dropped) before any token check, while a
// legitimate REGISTER and call go through; the SIP queue probe sees a stalled loop.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <atomic>
#include <chrono>
#include <thread>

#include "harness.hpp"

namespace mcx::test {
namespace {

constexpr const char* kFloodClientId = "urn:uuid:00000000-0000-4000-8000-00000000f100";

// The token with one character of its signature changed (the n-th from the end, cycling):
// the issuer and kid are right, the signature is not.
std::string forged(const std::string& token, int n) {
    auto out = token;
    const auto at = out.size() - 2 - static_cast<std::size_t>(n % 40);
    out[at] = out[at] == 'A' ? 'B' : 'A';
    return out;
}

// REGISTERs from one UDP socket at kFloodPerSecond, counting the answers. Without overload
// control each forged token costs mcxd about 0.5 ms (docs/security.md "Overload"), so this is
// five times what its loop could check. Not faster: a single source sending faster than the
// loop can even read fills the socket's receive queue, and the kernel then drops datagrams of
// every source alike, which no SIP server can cure (docs/security.md, "not covered").
constexpr int kFloodPerSecond = 10'000;

class RegisterFlood {
  public:
    RegisterFlood(const McSystem& system, const std::string& token) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(local);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
            throw std::runtime_error("cannot bind the flood socket");
        }
        port_ = ntohs(local.sin_port);
        to_.sin_family = AF_INET;
        to_.sin_port = htons(system.sip().port);
        ::inet_pton(AF_INET, "127.0.0.1", &to_.sin_addr);
        thread_ = std::thread([this, &system, token] { run(system, token); });
    }
    ~RegisterFlood() {
        stop();
        ::close(fd_);
    }
    void stop() {
        running_ = false;
        if (thread_.joinable()) thread_.join();
    }
    int sent() const { return sent_; }
    int answered() const { return answered_; }
    int answered_503() const { return answered_503_; }
    int with_retry_after() const { return with_retry_after_; }

  private:
    void run(const McSystem& system, const std::string& token) {
        char buffer[4096];
        const auto start = std::chrono::steady_clock::now();
        for (int n = 0; running_; ++n) {
            // Absolute due times: a late wake-up sends the missed datagrams at once.
            const auto due = start + std::chrono::microseconds(n * 1'000'000LL / kFloodPerSecond);
            std::this_thread::sleep_until(due);
            const auto message = build_register(
                system, {.user = "alice",
                         .access_token = forged(token, n),
                         .client_id = kFloodClientId,
                         .via = "UDP 127.0.0.1:" + std::to_string(port_),
                         .contact = "<sip:alice@127.0.0.1:" + std::to_string(port_) + ">",
                         .tag = "flood-" + std::to_string(n)});
            if (::sendto(fd_, message.data(), message.size(), 0,
                         reinterpret_cast<const sockaddr*>(&to_), sizeof(to_)) > 0) {
                ++sent_;
            } else {
                pollfd out{fd_, POLLOUT, 0};
                ::poll(&out, 1, 5);
            }
            for (;;) {
                const auto got = ::recv(fd_, buffer, sizeof(buffer) - 1, 0);
                if (got <= 0) break;
                const std::string response(buffer, static_cast<std::size_t>(got));
                ++answered_;
                if (response.starts_with("SIP/2.0 503 ")) {
                    ++answered_503_;
                    if (!header_of(response, "Retry-After").empty()) ++with_retry_after_;
                }
            }
        }
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    sockaddr_in to_{};
    std::atomic<bool> running_{true};
    std::atomic<int> sent_{0}, answered_{0}, answered_503_{0}, with_retry_after_{0};
    std::thread thread_;
};

class Overload : public ::testing::Test {
  protected:
    void SetUp() override {
        McSystem::Options options;
        options.client_tls = false;  // the flood must reach the token check over UDP
        options.pcap = false;
        options.users = {{"alice", "pw-a", {"*"}}, {"bob", "pw-b", {"*"}}};
        system_ = McSystem::start(options, test_output_dir());
    }
    std::unique_ptr<McSystem> system_;
};

TEST_F(Overload, ForgedTokenFloodGets503WhileAUserRegistersAndCalls) {
    const auto token = system_->token("alice", "pw-a", kFloodClientId);
    ASSERT_FALSE(token.empty());
    RegisterFlood flood(*system_, token);
    std::this_thread::sleep_for(500ms);

    auto alice = ClientProcess::start(*system_, "alice", "pw-a");
    auto bob = ClientProcess::start(*system_, "bob", "pw-b");
    ASSERT_TRUE(alice->wait("registered", 10s)) << "alice did not register during the flood";
    ASSERT_TRUE(bob->wait("registered", 10s)) << "bob did not register during the flood";
    bob->send("call alice");
    EXPECT_TRUE(bob->wait("connected", 10s)) << "bob's call did not connect during the flood";
    EXPECT_TRUE(alice->wait("connected", 10s));
    bob->send("hangup");
    EXPECT_TRUE(alice->wait("released", 10s));
    flood.stop();

    EXPECT_GT(flood.sent(), 2000) << "the flood did not flood";
    EXPECT_GE(flood.answered_503(), 1) << "no 503 to the flood";
    EXPECT_EQ(flood.with_retry_after(), flood.answered_503()) << "every 503 says Retry-After";
    // Ten failures are allowed, then one 503 a second: the rest cost no response.
    EXPECT_LT(flood.answered(), 100) << "of " << flood.sent() << " sent";
    const auto status = system_->status();
    ASSERT_FALSE(status.is_null()) << "mcxd stopped answering";
    EXPECT_GE(status["counters"]["overload_refused"].get<int>(), 1);
    EXPECT_GT(status["counters"]["overload_dropped"].get<int>(), 1000);
    EXPECT_EQ(status["overload"]["failing_sources"].get<int>(), 1) << status.dump();
}

// [overload] reaches the running server: a failure budget of one lets one forged REGISTER be
// checked and answers the next from the same source 503 at once (the default allows ten).
TEST(OverloadSettings, TheConfiguredFailureBudgetApplies) {
    McSystem::Options options;
    options.client_tls = false;
    options.pcap = false;
    options.users = {{"alice", "pw-a", {"*"}}};
    options.extra_toml =
        "[overload]\nsource_failure_burst = 1\nsource_failures_per_second = 0.001\n";
    auto system = McSystem::start(options, test_output_dir());
    const auto token = system->token("alice", "pw-a", kFloodClientId);
    ASSERT_FALSE(token.empty());
    RawSipSocket socket;
    auto exchange = [&](int n) {
        auto request = udp_client_register("alice", socket.port());
        request.access_token = forged(token, n);
        request.client_id = kFloodClientId;
        request.tag = "budget-" + std::to_string(n);
        socket.send(system->sip(), build_register(*system, request));
        return socket.receive_final(5s);
    };
    const auto first = exchange(0);
    const auto second = exchange(1);
    EXPECT_FALSE(first.starts_with("SIP/2.0 503 ")) << "the first failure is checked: " << first;
    ASSERT_FALSE(first.empty()) << "no answer to the first forged REGISTER";
    EXPECT_TRUE(second.starts_with("SIP/2.0 503 Too Many Failed Requests"))
        << "budget of one spent: " << second;
}

TEST_F(Overload, QueueProbeSeesAStalledLoop) {
    std::this_thread::sleep_for(200ms);
    auto before = system_->status();
    ASSERT_FALSE(before.is_null());
    EXPECT_GT(before["overload"]["queue_delay_samples"].get<int>(), 3) << before.dump();
    ASSERT_EQ(::kill(system_->pid(), SIGSTOP), 0);
    std::this_thread::sleep_for(500ms);
    ASSERT_EQ(::kill(system_->pid(), SIGCONT), 0);
    std::this_thread::sleep_for(200ms);
    auto after = system_->status();
    ASSERT_FALSE(after.is_null());
    EXPECT_GE(after["overload"]["queue_delay_max_ms"].get<int>(), 450) << after.dump();
}

}  // namespace
}  // namespace mcx::test
