#include "proto/sip_request_check.hpp"

#include <gtest/gtest.h>

namespace mcx::proto {
namespace {

SipRequestFacts well_formed() {
    SipRequestFacts r;
    r.method = "INVITE";
    r.has_via = r.has_from = r.has_to = r.has_call_id = true;
    r.cseq = "1 INVITE";
    r.max_forwards = "70";
    r.content_length = "10";
    r.body_size = 10;
    r.datagram = true;
    return r;
}

TEST(SipRequestCheck, AWellFormedRequestPasses) {
    EXPECT_FALSE(check_sip_request(well_formed()));
    auto r = well_formed();
    r.content_length.reset();  // optional over UDP (RFC 3261 18.3)
    r.cseq = " 2147483647   INVITE ";
    r.max_forwards = "0";
    EXPECT_FALSE(check_sip_request(r));
    r.datagram = false;
    r.content_length = "0";  // a stream frames by it; a shorter body is libre's to wait for
    EXPECT_FALSE(check_sip_request(r));
}

TEST(SipRequestCheck, EachProblemIsNamed) {
    struct Case {
        void (*change)(SipRequestFacts&);
        const char* reason;
    };
    const Case cases[] = {
        {[](SipRequestFacts& r) { r.has_from = false; }, "Missing From header"},
        {[](SipRequestFacts& r) { r.has_to = false; }, "Missing To header"},
        {[](SipRequestFacts& r) { r.has_call_id = false; }, "Missing Call-ID header"},
        {[](SipRequestFacts& r) { r.cseq.reset(); }, "Missing CSeq header"},
        {[](SipRequestFacts& r) { r.cseq = "INVITE"; }, "Bad CSeq header"},
        {[](SipRequestFacts& r) { r.cseq = "x1 INVITE"; }, "Bad CSeq header"},
        {[](SipRequestFacts& r) { r.cseq = "-1 INVITE"; }, "Bad CSeq header"},
        {[](SipRequestFacts& r) { r.cseq = "2147483648 INVITE"; }, "Bad CSeq header"},
        {[](SipRequestFacts& r) { r.cseq = "1 BYE"; }, "CSeq method does not match the request"},
        {[](SipRequestFacts& r) { r.cseq = "1 invite"; }, "CSeq method does not match"},
        {[](SipRequestFacts& r) { r.max_forwards.reset(); }, "Missing Max-Forwards header"},
        {[](SipRequestFacts& r) { r.max_forwards = "256"; }, "Bad Max-Forwards header"},
        {[](SipRequestFacts& r) { r.max_forwards = "seventy"; }, "Bad Max-Forwards header"},
        {[](SipRequestFacts& r) { r.content_length = "ten"; }, "Bad Content-Length header"},
        {[](SipRequestFacts& r) { r.content_length = "-1"; }, "Bad Content-Length header"},
        {[](SipRequestFacts& r) { r.content_length = "99999999999"; }, "Bad Content-Length"},
        {[](SipRequestFacts& r) { r.content_length = "11"; },
         "Content-Length exceeds the message body"},
    };
    for (const auto& c : cases) {
        auto r = well_formed();
        c.change(r);
        auto problem = check_sip_request(r);
        ASSERT_TRUE(problem) << c.reason;
        EXPECT_TRUE(problem->respond) << c.reason;
        EXPECT_NE(problem->reason.find(c.reason), std::string::npos) << problem->reason;
    }
}

TEST(SipRequestCheck, WithoutViaOrForAckNothingIsAnswered) {
    auto r = well_formed();
    r.has_via = false;
    auto problem = check_sip_request(r);
    ASSERT_TRUE(problem);
    EXPECT_FALSE(problem->respond);
    EXPECT_EQ(problem->reason, "Missing Via header");

    auto ack = well_formed();
    ack.method = "ACK";
    ack.cseq = "1 ACK";
    EXPECT_FALSE(check_sip_request(ack));
    ack.has_call_id = false;
    problem = check_sip_request(ack);
    ASSERT_TRUE(problem);
    EXPECT_FALSE(problem->respond);  // RFC 3261 17.2.1: ACK gets no response
}

}  // namespace
}  // namespace mcx::proto
