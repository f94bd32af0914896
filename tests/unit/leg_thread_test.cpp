// Outgoing INVITE dialogs on a LegThread: the INVITE leaves from the leg thread's own port, the
// events (with their messages) reach the handler on the home thread.
#include "net/leg_thread.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "net/event_loop.hpp"
#include "net/timer.hpp"
#include "test_support.hpp"

namespace mcx::net {
namespace {

TEST(SipMessageWire, RoundTripKeepsStartLineHeadersBodyAndAddresses) {
    const std::string raw =
        "SIP/2.0 486 Busy Here\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
        "From: <sip:alice@a.mcx>;tag=1\r\n"
        "To: <sip:bob@a.mcx>;tag=2\r\n"
        "Call-ID: abc\r\n"
        "CSeq: 1 INVITE\r\n"
        "Warning: 399 a.mcx \"124 busy\"\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 4\r\n"
        "\r\n"
        "body";
    SipMessage::Wire wire{raw, {"127.0.0.1", 5070}, {"127.0.0.1", 5060}, Transport::udp};
    auto msg = SipMessage::from_wire(wire);
    ASSERT_TRUE(msg) << msg.error().reason;
    EXPECT_EQ(msg->status(), 486);
    EXPECT_EQ(msg->method(), "INVITE");
    EXPECT_EQ(msg->header("Warning").value_or(""), "399 a.mcx \"124 busy\"");
    EXPECT_EQ(msg->body(), "body");
    EXPECT_EQ(msg->source(), (Endpoint{"127.0.0.1", 5070}));
    EXPECT_EQ(msg->destination(), (Endpoint{"127.0.0.1", 5060}));
    const auto again = msg->to_wire();
    EXPECT_EQ(again.bytes, raw);
    EXPECT_EQ(again.source, wire.source);

    SipMessage::Wire garbage{"not sip at all", {}, {}, Transport::udp};
    EXPECT_FALSE(SipMessage::from_wire(garbage));
}

struct LegThreadTest : ::testing::Test {
    EventLoop loop;
    std::unique_ptr<SipStack> callee;
    std::unique_ptr<LegThread> legs;
    Timer watchdog;

    void SetUp() override {
        auto stack = SipStack::create(loop, {});
        ASSERT_TRUE(stack);
        callee = std::move(*stack);
        auto started = LegThread::start({});
        ASSERT_TRUE(started) << started.error().reason;
        legs = std::move(*started);
        watchdog.start(std::chrono::seconds(10), [this] {
            ADD_FAILURE() << "watchdog expired";
            loop.stop();
        });
    }

    OutgoingInvite invite_to_callee() const {
        OutgoingInvite out;
        out.request_uri = "sip:bob@" + callee->local_endpoint().to_string();
        out.from_uri = "sip:alice@a.mcx";
        out.to_uri = "sip:bob@a.mcx";
        out.next_hop = callee->local_endpoint();
        out.contact_user = "mcptt-cf";
        out.content_type = "text/plain";
        out.body = "offer";
        return out;
    }
};

TEST_F(LegThreadTest, InviteLeavesFromTheLegPortAndEventsReachTheHomeThread) {
    const auto home = std::this_thread::get_id();
    ASSERT_NE(legs->local_endpoint().port, callee->local_endpoint().port);
    std::unique_ptr<InviteDialog> uas;
    std::unique_ptr<OutgoingDialog> uac;
    Endpoint invite_source;
    std::vector<std::string> ladder;
    callee->set_request_handler([&](const SipMessage& msg) {
        if (msg.method() != "INVITE") return false;
        invite_source = msg.source();
        auto d =
            InviteDialog::accept(*callee, msg, "bob", "", [&](DialogEvent e, const SipMessage*) {
                ladder.push_back(std::string("uas ") + to_string(e));
                if (e == DialogEvent::bye) loop.stop();
            });
        EXPECT_TRUE(d);
        uas = std::move(*d);
        EXPECT_TRUE(uas->progress(180, "Ringing"));
        EXPECT_TRUE(uas->answer({}, "text/plain", "answer"));
        return true;
    });
    uac = OutgoingDialog::connect(*legs, loop, invite_to_callee(),
                                  [&](DialogEvent e, const SipMessage* msg) {
                                      EXPECT_EQ(std::this_thread::get_id(), home);
                                      ladder.push_back(std::string("uac ") + to_string(e));
                                      if (e == DialogEvent::provisional) {
                                          EXPECT_EQ(msg->status(), 180);
                                      }
                                      if (e == DialogEvent::answered) {
                                          EXPECT_EQ(msg->body(), "answer");
                                          uac->hangup();
                                      }
                                  });
    loop.run();
    EXPECT_EQ(invite_source, legs->local_endpoint());
    // The leg thread ACKs at once; its "answered" may reach home after the callee's "confirmed".
    std::vector<std::string> uac_events;
    for (const auto& step : ladder) {
        if (step.starts_with("uac")) uac_events.push_back(step);
    }
    EXPECT_EQ(uac_events, (std::vector<std::string>{"uac provisional", "uac answered"}));
    EXPECT_NE(std::find(ladder.begin(), ladder.end(), "uas confirmed"), ladder.end());
    ASSERT_FALSE(ladder.empty());
    EXPECT_EQ(ladder.back(), "uas bye");
}

// A header line of a raw SIP message ("" when absent).
std::string raw_header(const std::string& msg, const std::string& name) {
    const auto at = msg.find("\r\n" + name + ":");
    if (at == std::string::npos) return "";
    const auto start = msg.find_first_not_of(' ', at + name.size() + 3);
    return msg.substr(start, msg.find("\r\n", start) - start);
}

// Over TCP libre skips CRLF keep-alives (RFC 5626 3.5.1) in front of a message; the 2xx that
// follows one must still cross to the home thread whole (it once arrived as an empty message).
TEST_F(LegThreadTest, AnswerAfterATcpKeepAliveKeepsItsMessage) {
    mcx::test::LoopbackListener callee_socket;
    const int listener = callee_socket.fd();
    const auto port = callee_socket.port();

    // The callee: reads the INVITE, answers "\r\n" + 200 OK in one segment.
    std::thread callee_thread([listener, port] {
        pollfd ready{listener, POLLIN, 0};
        if (::poll(&ready, 1, 5000) != 1) return;
        const int conn = ::accept(listener, nullptr, nullptr);
        std::string invite;
        char buf[4096];
        while (invite.find("\r\n\r\n") == std::string::npos) {
            pollfd in{conn, POLLIN, 0};
            if (::poll(&in, 1, 5000) != 1) break;
            const auto n = ::read(conn, buf, sizeof(buf));
            if (n <= 0) break;
            invite.append(buf, static_cast<std::size_t>(n));
        }
        const std::string body = "answer";
        std::string answer = "\r\nSIP/2.0 200 OK\r\n";
        for (const auto* name : {"Via", "From", "Call-ID", "CSeq"}) {
            answer += std::string(name) + ": " + raw_header(invite, name) + "\r\n";
        }
        answer += "To: " + raw_header(invite, "To") + ";tag=callee\r\n";
        answer += "Contact: <sip:bob@127.0.0.1:" + std::to_string(port) + ";transport=tcp>\r\n";
        answer += "Content-Type: text/plain\r\n";
        answer += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        (void)::write(conn, answer.data(), answer.size());
        pollfd in{conn, POLLIN, 0};
        (void)::poll(&in, 1, 2000);  // the ACK
        ::close(conn);
    });

    auto out = invite_to_callee();
    out.request_uri = "sip:bob@127.0.0.1:" + std::to_string(port) + ";transport=tcp";
    out.next_hop = Endpoint{"127.0.0.1", port};
    out.transport = Transport::tcp;
    std::string answer_body = "(no message)";
    bool answered = false;
    std::unique_ptr<OutgoingDialog> uac;
    uac = OutgoingDialog::connect(*legs, loop, out, [&](DialogEvent e, const SipMessage* msg) {
        if (e != DialogEvent::answered && e != DialogEvent::failed) return;
        answered = e == DialogEvent::answered;
        if (msg) answer_body = std::string(msg->body());
        loop.stop();
    });
    loop.run();
    callee_thread.join();
    EXPECT_TRUE(answered);
    EXPECT_EQ(answer_body, "answer");
}

TEST_F(LegThreadTest, RejectionCrossesWithItsWarning) {
    std::unique_ptr<InviteDialog> uas;
    callee->set_request_handler([&](const SipMessage& msg) {
        auto d =
            InviteDialog::accept(*callee, msg, "bob", "", [](DialogEvent, const SipMessage*) {});
        uas = std::move(*d);
        EXPECT_TRUE(uas->reject(486, "Busy Here", "Warning: 399 test \"124 busy\"\r\n"));
        return true;
    });
    std::uint16_t status = 0;
    std::string warning;
    auto uac = OutgoingDialog::connect(*legs, loop, invite_to_callee(),
                                       [&](DialogEvent e, const SipMessage* msg) {
                                           EXPECT_EQ(e, DialogEvent::failed);
                                           ASSERT_NE(msg, nullptr);
                                           status = msg->status();
                                           warning = msg->header("Warning").value_or("");
                                           loop.stop();
                                       });
    loop.run();
    EXPECT_EQ(status, 486);
    EXPECT_EQ(warning, "399 test \"124 busy\"");
}

TEST_F(LegThreadTest, UnsendableInviteFailsWithoutMessage) {
    auto out = invite_to_callee();
    out.request_uri = "not a uri";
    out.next_hop.reset();
    bool failed = false;
    auto uac = OutgoingDialog::connect(*legs, loop, out, [&](DialogEvent e, const SipMessage* msg) {
        failed = e == DialogEvent::failed && msg == nullptr;
        loop.stop();
    });
    loop.run();
    EXPECT_TRUE(failed);
}

TEST_F(LegThreadTest, DialogDroppedBeforeAnswerDeliversNothing) {
    int invites = 0;
    Timer stop_later;
    std::unique_ptr<InviteDialog> uas;
    callee->set_request_handler([&](const SipMessage& msg) {
        if (msg.method() != "INVITE") return false;
        ++invites;
        auto d =
            InviteDialog::accept(*callee, msg, "bob", "", [](DialogEvent, const SipMessage*) {});
        uas = std::move(*d);
        EXPECT_TRUE(uas->progress(180, "Ringing"));
        stop_later.start(std::chrono::milliseconds(200), [&] { loop.stop(); });
        return true;
    });
    int events = 0;
    auto uac = OutgoingDialog::connect(*legs, loop, invite_to_callee(),
                                       [&](DialogEvent, const SipMessage*) { ++events; });
    uac.reset();  // the INVITE is still sent (queued first), its 180 is dropped
    loop.run();
    EXPECT_EQ(invites, 1);
    EXPECT_EQ(events, 0);
}

}  // namespace
}  // namespace mcx::net
