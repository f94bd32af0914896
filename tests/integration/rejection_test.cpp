// Every refusal of TS 24.379 that issue 2 names gets its own status and Warning, and mcxd keeps
// serving afterwards. Call refusals are driven by real clients; malformed requests by hand.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "harness.hpp"
#include "proto/mcptt_info.hpp"
#include "proto/multipart.hpp"
#include "proto/resource_lists.hpp"
#include "test_support.hpp"

namespace mcx::test {
namespace {

class Rejections : public ::testing::Test {
  protected:
    void SetUp() override {
        McSystem::Options options;
        options.max_calls_per_user = 1;
        options.users = {{"alice", "pw-a", {"bob"}},
                         {"bob", "pw-b", {"*"}},
                         {"carol", "pw-c", {"*"}},        // never registers
                         {"dave", "pw-d", {"*"}, false},  // not authorised to make private calls
                         {"erin", "pw-e", {"*"}},
                         {"frank", "pw-f", {"*"}, true, false},  // may not be called
                         {"raw", "pw-r", {"*"}}};
        if (with_silent_partner_) add_silent_partner(options);
        system_ = McSystem::start(options, test_output_dir());
    }
    void TearDown() override { system_.reset(); }

    // Partner B, whose IdMS accepts connections and never answers.
    void add_silent_partner(McSystem::Options& options) {
        silent_idms_ = std::make_unique<LoopbackListener>();
        options.extra_toml =
            "[[partners]]\nid = \"B\"\ndomain = \"b.mcx\"\nplain_http = true\n"
            "idms_url = \"http://127.0.0.1:" +
            std::to_string(silent_idms_->port()) + "\"\n";
    }

    std::unique_ptr<ClientProcess> client(const std::string& name, const std::string& pw) {
        auto c = ClientProcess::start(*system_, name, pw);
        EXPECT_TRUE(c->wait("registered")) << name << " did not register";
        return c;
    }

    // The caller's `released` event for a refused call.
    Json refused(ClientProcess& caller, const std::string& target) {
        caller.send("call " + target);
        auto event = caller.wait("released");
        EXPECT_TRUE(event) << caller.name() << " -> " << target << ": no answer";
        return event.value_or(Json{});
    }

    std::unique_ptr<McSystem> system_;
    bool with_silent_partner_ = false;
    std::unique_ptr<LoopbackListener> silent_idms_;
};

TEST_F(Rejections, CallRefusalsAreDistinctAndTheServerKeepsServing) {
    auto alice = client("alice", "pw-a");
    auto bob = client("bob", "pw-b");
    auto dave = client("dave", "pw-d");
    auto erin = client("erin", "pw-e");

    auto unknown = refused(*bob, "nobody");
    EXPECT_EQ(unknown["status"], 404);
    EXPECT_EQ(unknown["warning"], 145);

    auto unregistered = refused(*bob, "carol");
    EXPECT_EQ(unregistered["status"], 480);
    EXPECT_EQ(unregistered["warning"], 146);

    auto not_authorised = refused(*dave, "bob");
    EXPECT_EQ(not_authorised["status"], 403);
    EXPECT_EQ(not_authorised["warning"], 107);

    auto not_in_list = refused(*alice, "erin");
    EXPECT_EQ(not_in_list["status"], 403);
    EXPECT_EQ(not_in_list["warning"], 144);

    auto not_callable = refused(*bob, "frank");
    EXPECT_EQ(not_callable["status"], 403);
    EXPECT_EQ(not_callable["warning"], 127);

    // Busy: bob is in a call with alice and the system allows one call per user.
    alice->send("call bob");
    ASSERT_TRUE(alice->wait("connected"));
    ASSERT_TRUE(bob->wait("connected"));
    auto busy = refused(*erin, "bob");
    EXPECT_EQ(busy["status"], 486);
    EXPECT_EQ(busy["warning"], 124);
    alice->send("hangup");
    ASSERT_TRUE(bob->wait("released"));

    // After all of that a call still works.
    erin->send("call bob");
    EXPECT_TRUE(erin->wait("connected"));
    EXPECT_TRUE(bob->wait("connected"));
    erin->send("hangup");
    EXPECT_TRUE(bob->wait("released"));
    EXPECT_EQ(system_->status()["counters"]["invite_rejected"], 6);
}

// Requests written by hand from one UDP socket.
class HandWritten : public Rejections {
  protected:
    std::string request(const std::string& method, const std::string& ruri, const std::string& to,
                        const std::string& extra, const std::string& content_type,
                        const std::string& body) {
        const auto n = std::to_string(++sequence_);
        last_branch_ = "z9hG4bK-test-" + n;
        last_call_id_ = "call-" + n + "@test";
        std::string msg = method + " " + ruri + " SIP/2.0\r\n";
        msg += "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(sock_.port()) +
               ";branch=" + last_branch_ + ";rport\r\n";
        msg += "Max-Forwards: 70\r\n";
        msg += "From: <" + system_->uri("raw") + ">;tag=t" + n + "\r\n";
        msg += "To: <" + to + ">\r\n";
        msg += "Call-ID: " + last_call_id_ + "\r\n";
        msg += "CSeq: 1 " + method + "\r\n";
        msg += "Contact: <sip:raw@127.0.0.1:" + std::to_string(sock_.port()) + ">\r\n";
        msg += extra;
        if (!body.empty()) msg += "Content-Type: " + content_type + "\r\n";
        msg += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        return msg;
    }

    // The final response to `msg` (retransmissions of earlier ones skipped).
    std::string send(const std::string& msg) {
        sock_.send(system_->sip(), msg);
        for (;;) {
            auto response = sock_.receive_final();
            if (response.empty() || header_of(response, "Call-ID") == last_call_id_)
                return response;
        }
    }

    std::string register_with(const std::string& content_type, const std::string& body) {
        return send(request("REGISTER", "sip:" + system_->domain(), system_->uri("raw"),
                            "Expires: 600\r\n", content_type, body));
    }

    // The MCPTT client ID of the hand-written client; its tokens are issued to it.
    static constexpr const char* kRawClient = "urn:uuid:00000000-0000-4000-8000-000000000001";

    std::string mcptt_info_with_token(const std::string& token) {
        proto::McpttInfo info;
        info.access_token = token;
        info.client_id = kRawClient;
        return proto::build_mcptt_info(info);
    }

    std::string invite(const std::string& content_type, const std::string& body) {
        auto response =
            send(request("INVITE", "sip:mcptt-orig@" + system_->domain(),
                         "sip:mcptt-orig@" + system_->domain(), "", content_type, body));
        return response;
    }

    std::string sdp(const std::string& address = "127.0.0.1") const {
        return "v=0\r\no=- 1 1 IN IP4 " + address + "\r\ns=-\r\nc=IN IP4 " + address +
               "\r\nt=0 0\r\nm=audio 40000 RTP/AVP 96\r\na=rtpmap:96 AMR-WB/16000\r\n";
    }

    std::string private_call_body(const std::string& callee, const std::string& address) const {
        proto::McpttInfo info;
        info.session_type = "private";
        return proto::build_multipart(
            {{"application/sdp", sdp(address)},
             {"application/vnd.3gpp.mcptt-info+xml", proto::build_mcptt_info(info)},
             {"application/resource-lists+xml", proto::build_resource_lists({callee})}},
            "b");
    }

    void register_raw() {
        auto registered =
            register_with("application/vnd.3gpp.mcptt-info+xml",
                          mcptt_info_with_token(system_->token("raw", "pw-r", kRawClient)));
        ASSERT_EQ(status_of(registered), 200) << registered;
    }

    RawSipSocket sock_;
    int sequence_ = 0;
    std::string last_branch_;
    std::string last_call_id_;
};

TEST_F(HandWritten, RegisterWithoutTokenIsAskedForOne) {
    auto response = register_with("", "");
    EXPECT_EQ(status_of(response), 401) << response;
    EXPECT_NE(header_of(response, "WWW-Authenticate").find("Bearer"), std::string::npos)
        << response;
    EXPECT_EQ(system_->status()["registrations"], 0);
}

TEST_F(HandWritten, RegisterWithBadTokensIsForbidden) {
    for (const auto& token : {std::string("garbage"), system_->token("bob", "pw-b")}) {
        auto response =
            register_with("application/vnd.3gpp.mcptt-info+xml", mcptt_info_with_token(token));
        EXPECT_EQ(status_of(response), 403) << response;
        EXPECT_NE(header_of(response, "Warning").find("\"101 "), std::string::npos) << response;
    }
    EXPECT_EQ(system_->status()["registrations"], 0);
}

class SilentPartner : public HandWritten {
  protected:
    void SetUp() override {
        with_silent_partner_ = true;
        HandWritten::SetUp();
    }
};

// Tokens signed by partner B, whose IdMS never answers: each REGISTER is refused at once (B's key
// is fetched off the event loop, idms/partner_keys.hpp), and a flood of them stalls nothing.
TEST_F(SilentPartner, TokensOfAPartnerWithASilentIdmsAreRefusedAtOnce) {
    // Unsigned, but naming issuer mcx-idms:B: {"iss":"mcx-idms:B","sub":"sip:raw@a.mcx",...}.
    const std::string token =
        "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJpc3MiOiJtY3gtaWRtczpCIiwic3ViIjoic2lwOnJhd0BhLm1jeCIsImF1ZCI6Im1jeDpBIn0.c2lnbmF0dXJl";
    for (int i = 0; i < 5; ++i) {
        const auto start = std::chrono::steady_clock::now();
        auto response =
            register_with("application/vnd.3gpp.mcptt-info+xml", mcptt_info_with_token(token));
        const auto took = std::chrono::steady_clock::now() - start;
        EXPECT_EQ(status_of(response), 403) << response;
        EXPECT_NE(header_of(response, "Warning").find("not known yet"), std::string::npos)
            << response;
        EXPECT_LT(took, 1s) << "REGISTER " << i << " waited for the partner's IdMS";
    }
    EXPECT_EQ(system_->status()["partner_idms_keys"]["B"], "not known yet");
    EXPECT_EQ(system_->status()["registrations"], 0);
}

TEST_F(HandWritten, MalformedRequestsGetDistinctAnswers) {
    auto registered =
        register_with("application/vnd.3gpp.mcptt-info+xml",
                      mcptt_info_with_token(system_->token("raw", "pw-r", kRawClient)));
    ASSERT_EQ(status_of(registered), 200) << registered;
    auto bob = client("bob", "pw-b");

    // Malformed mcptt-info XML.
    const auto lists = proto::build_resource_lists({system_->uri("bob")});
    auto bad_xml =
        proto::build_multipart({{"application/sdp", sdp()},
                                {"application/vnd.3gpp.mcptt-info+xml",
                                 "<mcpttinfo xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\"><mcptt-Params>"},
                                {"application/resource-lists+xml", lists}},
                               "b");
    auto response = invite("multipart/mixed;boundary=b", bad_xml);
    EXPECT_EQ(status_of(response), 400) << response;
    EXPECT_NE(header_of(response, "Warning").find("mcptt-info"), std::string::npos) << response;

    // INVITE with only SDP (no multipart, so no resource-lists): the callee is unknown.
    response = invite("application/sdp", sdp());
    EXPECT_EQ(status_of(response), 403) << response;
    EXPECT_NE(header_of(response, "Warning").find("\"145 "), std::string::npos) << response;

    // A multipart body without its close delimiter.
    response =
        invite("multipart/mixed;boundary=b", "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n");
    EXPECT_EQ(status_of(response), 400) << response;

    // Garbage that is not SIP at all is dropped; the server keeps answering.
    sock_.send(system_->sip(), std::string("\x00\x01garbage\r\n\r\n", 15));
    response = send(
        request("OPTIONS", "sip:" + system_->domain(), "sip:" + system_->domain(), "", "", ""));
    EXPECT_EQ(status_of(response), 200) << response;

    // And a well-formed private call from the same socket reaches bob.
    proto::McpttInfo info;
    info.session_type = "private";
    auto good = proto::build_multipart(
        {{"application/sdp", sdp()},
         {"application/vnd.3gpp.mcptt-info+xml", proto::build_mcptt_info(info)},
         {"application/resource-lists+xml", lists}},
        "b");
    response = invite("multipart/mixed;boundary=b", good);
    EXPECT_EQ(status_of(response), 200) << response;
    EXPECT_TRUE(bob->wait("connected"));
    EXPECT_GE(system_->status()["counters"]["malformed_requests"].get<int>(), 2);
}

// A c= naming an address the caller's signalling did not come from would aim the relay at a
// third party (192.0.2.1, TEST-NET-1, stands for it): 488 with the reason, nothing rings.
TEST_F(HandWritten, OfferNamingAThirdAddressIsRefused) {
    register_raw();
    auto bob = client("bob", "pw-b");
    auto response =
        invite("multipart/mixed;boundary=b", private_call_body(system_->uri("bob"), "192.0.2.1"));
    EXPECT_EQ(status_of(response), 488) << response;
    EXPECT_NE(header_of(response, "Warning").find("192.0.2.1"), std::string::npos) << response;
    EXPECT_NE(header_of(response, "Warning").find("not the address the signalling came from"),
              std::string::npos)
        << response;
    EXPECT_FALSE(bob->wait("incoming", 500ms)) << "bob was called";
    EXPECT_EQ(system_->status()["calls"].size(), 0u);
    // ACK the 488 (RFC 3261 17.1.1.3) so that it is not retransmitted; then the caller's own
    // address is fine.
    sock_.send(system_->sip(),
               "ACK sip:mcptt-orig@" + system_->domain() +
                   " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" + std::to_string(sock_.port()) +
                   ";branch=" + last_branch_ +
                   ";rport\r\nMax-Forwards: 70\r\nFrom: " + header_of(response, "From") +
                   "\r\nTo: " + header_of(response, "To") + "\r\nCall-ID: " + last_call_id_ +
                   "\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n");
    response =
        invite("multipart/mixed;boundary=b", private_call_body(system_->uri("bob"), "127.0.0.1"));
    EXPECT_EQ(status_of(response), 200) << response;
    EXPECT_TRUE(bob->wait("connected"));
}

// The same for the callee's answer: the caller is refused with 488, the callee's leg ends.
TEST_F(HandWritten, AnswerNamingAThirdAddressIsRefused) {
    register_raw();
    auto bob = client("bob", "pw-b");
    bob->send("call raw");
    auto [invite, from] = sock_.receive_request("INVITE");
    ASSERT_FALSE(invite.empty()) << "raw was not called";
    sock_.send(from,
               response_to(invite, 200, "OK", "raw-1",
                           "Contact: <sip:raw@127.0.0.1:" + std::to_string(sock_.port()) + ">\r\n",
                           "application/sdp", sdp("192.0.2.1")));
    auto released = bob->wait("released");
    ASSERT_TRUE(released);
    EXPECT_EQ((*released)["status"], 488) << released->dump();
    auto [bye, bye_from] = sock_.receive_request("BYE");
    EXPECT_FALSE(bye.empty()) << "the callee leg was not ended";
    EXPECT_TRUE(eventually([&] { return system_->status()["calls"].empty(); }, 3s));
}

}  // namespace
}  // namespace mcx::test
