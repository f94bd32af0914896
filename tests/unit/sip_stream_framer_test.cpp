// The SIP stream framer (proto/sip_stream_framer.hpp): whole messages and keep-alives handed on
// only when complete, whether fed at once or a byte at a time; each cap and defect refused.
#include <gtest/gtest.h>

#include <string>

#include "proto/sip_stream_framer.hpp"

namespace mcx::proto {
namespace {

using Limit = SipStreamRefusal::Limit;

const std::string kOptions =
    "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
    "Call-ID: a\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

const std::string kMessage =
    "MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK2\r\n"
    "l:5\r\n"  // the compact form (RFC 3261 20.14)
    "\r\n"
    "hello";

// Everything `framer` hands on when fed `bytes` a byte at a time; fails on a refusal.
std::string fed_byte_by_byte(SipStreamFramer& framer, const std::string& bytes) {
    std::string handed_on;
    std::string complete;
    for (char c : bytes) {
        EXPECT_EQ(framer.feed(std::string_view(&c, 1), complete), std::nullopt);
        handed_on += complete;
    }
    return handed_on;
}

TEST(SipStreamFramer, HandsOnWholeMessagesOnly) {
    SipStreamFramer framer(16 * 1024, 64 * 1024);
    std::string complete;
    const std::string both = kOptions + kMessage;
    // All but the last body byte: the first message only.
    ASSERT_EQ(framer.feed(std::string_view(both).substr(0, both.size() - 1), complete),
              std::nullopt);
    EXPECT_EQ(complete, kOptions);
    EXPECT_TRUE(framer.mid_unit());
    ASSERT_EQ(framer.feed("o", complete), std::nullopt);
    EXPECT_EQ(complete, kMessage);
    EXPECT_FALSE(framer.mid_unit());
}

TEST(SipStreamFramer, AByteAtATimeGivesEachMessageOnceItsLastByteIsIn) {
    SipStreamFramer framer(16 * 1024, 64 * 1024);
    std::string complete;
    for (std::size_t i = 0; i + 1 < kMessage.size(); ++i) {
        ASSERT_EQ(framer.feed(std::string_view(&kMessage[i], 1), complete), std::nullopt);
        ASSERT_EQ(complete, "") << "handed on before byte " << i + 1 << " of " << kMessage.size();
    }
    ASSERT_EQ(framer.feed("o", complete), std::nullopt);
    EXPECT_EQ(complete, kMessage);
    EXPECT_EQ(fed_byte_by_byte(framer, kOptions + kMessage + kOptions),
              kOptions + kMessage + kOptions);
}

TEST(SipStreamFramer, KeepAlivesPassOnAsTheirOwnUnits) {
    SipStreamFramer framer(16 * 1024, 64 * 1024);
    std::string complete;
    // A double-CRLF ping (RFC 5626 3.5.1) before a message, a single CRLF after it.
    ASSERT_EQ(framer.feed("\r\n\r\n" + kOptions + "\r", complete), std::nullopt);
    EXPECT_EQ(complete, "\r\n\r\n" + kOptions);
    ASSERT_EQ(framer.feed("\n", complete), std::nullopt);
    EXPECT_EQ(complete, "\r\n");
    EXPECT_FALSE(framer.mid_unit());
    EXPECT_EQ(fed_byte_by_byte(framer, "\r\n\r\n" + kMessage), "\r\n\r\n" + kMessage);
}

TEST(SipStreamFramer, ALongHeadIsRefusedAtTheCap) {
    SipStreamFramer framer(64, 1024);
    std::string complete;
    std::optional<SipStreamRefusal> refusal;
    const std::string dripped =
        "INVITE sip:bob@127.0.0.1 SIP/2.0\r\nSubject: " + std::string(100, 'x');
    std::size_t fed = 0;
    while (!refusal && fed < dripped.size())
        refusal = framer.feed(dripped.substr(fed++, 1), complete);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->limit, Limit::head_bytes);
    EXPECT_EQ(fed, 65u) << "refused as the 65th byte arrives";
    EXPECT_NE(refusal->reason.find("64"), std::string::npos) << refusal->reason;
    // A whole head over the cap, its empty line included, is refused too.
    SipStreamFramer whole(static_cast<std::size_t>(kOptions.size() - 1), 1024);
    refusal = whole.feed(kOptions, complete);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->limit, Limit::head_bytes);
    SipStreamFramer exact(kOptions.size(), 1024);
    EXPECT_EQ(exact.feed(kOptions, complete), std::nullopt);
    EXPECT_EQ(complete, kOptions);
}

TEST(SipStreamFramer, ALongMessageIsRefusedFromItsContentLength) {
    const std::string head = "MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nContent-Length: 2000\r\n\r\n";
    SipStreamFramer framer(1024, 1024);
    std::string complete;
    auto refusal = framer.feed(head, complete);
    ASSERT_TRUE(refusal) << "refused before the body arrives";
    EXPECT_EQ(refusal->limit, Limit::message_bytes);
    EXPECT_NE(refusal->reason.find("2000"), std::string::npos) << refusal->reason;
    SipStreamFramer larger(1024, head.size() + 2000);
    EXPECT_EQ(larger.feed(head, complete), std::nullopt);
    EXPECT_TRUE(larger.mid_unit());
}

TEST(SipStreamFramer, MalformedContentLengthsAreRefused) {
    for (const char* field : {"Content-Length: 12x\r\n", "Content-Length:\r\n",
                              "Content-Length: -1\r\n", "Content-Length: 99999999999999999999\r\n",
                              "Content-Length: 0\r\nl: 3\r\n", "Subject: none\r\n"}) {
        SipStreamFramer framer(1024, 1024);
        std::string complete;
        auto refusal = framer.feed(
            std::string("OPTIONS sip:127.0.0.1 SIP/2.0\r\n") + field + "\r\n", complete);
        ASSERT_TRUE(refusal) << field;
        EXPECT_EQ(refusal->limit, Limit::none) << field;
        EXPECT_EQ(complete, "") << field;
    }
    // Case and spacing do not matter; the same value twice is no conflict.
    SipStreamFramer framer(1024, 1024);
    std::string complete;
    const std::string ok =
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\ncontent-LENGTH \t: 2 \r\nL: 2\r\n\r\nab";
    EXPECT_EQ(framer.feed(ok, complete), std::nullopt);
    EXPECT_EQ(complete, ok);
}

TEST(SipStreamFramer, ALongHeadDrippedAByteAtATimeIsFramed) {
    // A head of 8 000 bytes fed a byte at a time completes, and nothing of it stays buffered.
    SipStreamFramer framer(16 * 1024, 64 * 1024);
    const std::string big = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nSubject: " + std::string(8000, 'y') +
                            "\r\nContent-Length: 0\r\n\r\n";
    EXPECT_EQ(fed_byte_by_byte(framer, big + kOptions), big + kOptions);
    EXPECT_FALSE(framer.mid_unit());
}

}  // namespace
}  // namespace mcx::proto
