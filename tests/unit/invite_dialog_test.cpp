// Two SIP stacks in one process on 127.0.0.1 exchange an INVITE dialog over the real loopback.
#include "net/invite_dialog.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <vector>

#include "net/event_loop.hpp"
#include "net/timer.hpp"

namespace mcx::net {
namespace {

struct LoopbackPair : ::testing::Test {
    EventLoop loop;
    std::unique_ptr<SipStack> caller;
    std::unique_ptr<SipStack> callee;
    Timer watchdog;

    void SetUp() override {
        auto a = SipStack::create(loop, {});
        auto b = SipStack::create(loop, {});
        ASSERT_TRUE(a && b);
        caller = std::move(*a);
        callee = std::move(*b);
        watchdog.start(std::chrono::seconds(10), [this] {
            ADD_FAILURE() << "watchdog expired";
            loop.stop();
        });
    }

    OutgoingInvite invite_to_callee(Transport transport) const {
        OutgoingInvite out;
        out.request_uri = "sip:bob@" + callee->local_endpoint().to_string();
        out.from_uri = "sip:alice@a.mcx";
        out.to_uri = "sip:bob@a.mcx";
        out.next_hop = callee->local_endpoint();
        out.transport = transport;
        out.contact_user = "alice";
        out.contact_params = ";+g.3gpp.mcptt";
        out.content_type = "text/plain";
        out.body = "offer";
        return out;
    }
};

class InviteDialogTransport : public LoopbackPair,
                              public ::testing::WithParamInterface<Transport> {};

TEST_P(InviteDialogTransport, AnswerAckAndByeFromCaller) {
    std::vector<std::string> ladder;
    std::unique_ptr<InviteDialog> uas;
    std::unique_ptr<InviteDialog> uac;
    std::string received_contact, received_body;
    callee->set_request_handler([&](const SipMessage& msg) {
        if (msg.method() != "INVITE") return false;
        received_contact = std::string(msg.header("Contact").value_or(""));
        received_body = std::string(msg.body());
        auto d = InviteDialog::accept(*callee, msg, "bob", ";+g.3gpp.mcptt",
                                      [&](DialogEvent e, const SipMessage*) {
                                          ladder.push_back(std::string("uas ") + to_string(e));
                                          if (e == DialogEvent::bye) loop.stop();
                                      });
        EXPECT_TRUE(d);
        uas = std::move(*d);
        EXPECT_TRUE(uas->progress(180, "Ringing"));
        EXPECT_TRUE(uas->answer({}, "text/plain", "answer"));
        return true;
    });
    auto d = InviteDialog::connect(*caller, invite_to_callee(GetParam()),
                                   [&](DialogEvent e, const SipMessage* msg) {
                                       ladder.push_back(std::string("uac ") + to_string(e));
                                       if (e == DialogEvent::answered) {
                                           EXPECT_EQ(msg->body(), "answer");
                                           // Let the ACK arrive, then hang up.
                                           loop.post([&] { uac->hangup(); });
                                       }
                                   });
    ASSERT_TRUE(d) << d.error().reason;
    uac = std::move(*d);
    loop.run();
    EXPECT_EQ(received_body, "offer");
    EXPECT_NE(received_contact.find(">;+g.3gpp.mcptt"), std::string::npos) << received_contact;
    ASSERT_GE(ladder.size(), 3u);
    EXPECT_EQ(ladder[0], "uac provisional");
    EXPECT_EQ(ladder[1], "uac answered");
    EXPECT_EQ(ladder.back(), "uas bye");
}

INSTANTIATE_TEST_SUITE_P(UdpAndTcp, InviteDialogTransport,
                         ::testing::Values(Transport::udp, Transport::tcp));

// TCP_NODELAY on the SIP connections of this process that reach `port` (either end).
std::vector<int> no_delay_of_connections_with(std::uint16_t port) {
    std::vector<int> flags;
    for (int fd = 3; fd < 1024; ++fd) {
        int type = 0;
        socklen_t len = sizeof(type);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) continue;
        sockaddr_in local{}, peer{};
        socklen_t ll = sizeof(local), pl = sizeof(peer);
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0 ||
            getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) {
            continue;  // a listening socket
        }
        if (ntohs(local.sin_port) != port && ntohs(peer.sin_port) != port) continue;
        int flag = 0;
        len = sizeof(flag);
        if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &flag, &len) == 0) flags.push_back(flag);
    }
    return flags;
}

// Nagle's algorithm would hold a second small SIP message up to 40 ms behind a delayed ACK:
// both ends of a SIP connection set TCP_NODELAY once a message arrived over it.
TEST_F(LoopbackPair, SipOverTcpSetsNoDelayOnBothEnds) {
    std::unique_ptr<InviteDialog> uas;
    std::unique_ptr<InviteDialog> uac;
    callee->set_request_handler([&](const SipMessage& msg) {
        auto d =
            InviteDialog::accept(*callee, msg, "bob", "", [](DialogEvent, const SipMessage*) {});
        uas = std::move(*d);
        EXPECT_TRUE(uas->answer({}, "text/plain", "answer"));
        return true;
    });
    auto d = InviteDialog::connect(*caller, invite_to_callee(Transport::tcp),
                                   [&](DialogEvent e, const SipMessage*) {
                                       if (e == DialogEvent::answered) loop.stop();
                                   });
    ASSERT_TRUE(d);
    uac = std::move(*d);
    loop.run();
    const auto flags = no_delay_of_connections_with(callee->local_endpoint().port);
    ASSERT_EQ(flags.size(), 2u) << "the caller's and the callee's end of one connection";
    EXPECT_NE(flags[0], 0);
    EXPECT_NE(flags[1], 0);
}

TEST_F(LoopbackPair, RejectionReachesCallerWithWarning) {
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
    auto d = InviteDialog::connect(*caller, invite_to_callee(Transport::udp),
                                   [&](DialogEvent e, const SipMessage* msg) {
                                       EXPECT_EQ(e, DialogEvent::failed);
                                       status = msg ? msg->status() : 0;
                                       warning = std::string(msg->header("Warning").value_or(""));
                                       loop.stop();
                                   });
    ASSERT_TRUE(d);
    auto uac = std::move(*d);
    loop.run();
    EXPECT_EQ(status, 486);
    EXPECT_EQ(warning, "399 test \"124 busy\"");
}

TEST_F(LoopbackPair, CancelBeforeAnswer) {
    std::unique_ptr<InviteDialog> uas;
    std::unique_ptr<InviteDialog> uac;
    bool callee_saw_cancel = false;
    callee->set_request_handler([&](const SipMessage& msg) {
        auto d =
            InviteDialog::accept(*callee, msg, "bob", "", [&](DialogEvent e, const SipMessage*) {
                callee_saw_cancel = e == DialogEvent::cancelled;
                loop.stop();
            });
        uas = std::move(*d);
        EXPECT_TRUE(uas->progress(180, "Ringing"));
        return true;
    });
    std::uint16_t final_status = 0;
    auto d = InviteDialog::connect(*caller, invite_to_callee(Transport::udp),
                                   [&](DialogEvent e, const SipMessage* msg) {
                                       if (e == DialogEvent::provisional) {
                                           loop.post([&] { uac->hangup(); });
                                       } else {
                                           final_status = msg ? msg->status() : 0;
                                           loop.stop();
                                       }
                                   });
    ASSERT_TRUE(d);
    uac = std::move(*d);
    loop.run();
    EXPECT_TRUE(callee_saw_cancel);
    EXPECT_EQ(final_status, 0) << "hangup() silences the caller's own dialog";
}

}  // namespace
}  // namespace mcx::net
