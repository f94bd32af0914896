#include "proto/multipart.hpp"

#include <gtest/gtest.h>

namespace mcx::proto {
namespace {

const std::string kBody =
    "--b1\r\n"
    "Content-Type: application/sdp\r\n"
    "\r\n"
    "v=0\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: application/vnd.3gpp.mcptt-info+xml\r\n"
    "\r\n"
    "<mcpttinfo/>\r\n"
    "--b1--\r\n";

TEST(Multipart, SplitsPartsAndKeepsBodiesExact) {
    auto parts = parse_multipart(kBody, "b1");
    ASSERT_TRUE(parts) << parts.error().reason;
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[0].content_type, "application/sdp");
    EXPECT_EQ((*parts)[0].body, "v=0\r\n");  // the CRLF before the delimiter is not content
    EXPECT_EQ((*parts)[1].content_type, "application/vnd.3gpp.mcptt-info+xml");
    EXPECT_EQ((*parts)[1].body, "<mcpttinfo/>");
}

TEST(Multipart, BuildThenParseRoundTrips) {
    std::vector<BodyPart> in = {{"application/sdp", "v=0\r\nm=audio 1 RTP/AVP 0\r\n"},
                                {"application/resource-lists+xml", "<x/>"}};
    auto text = build_multipart(in, "mcx-boundary");
    auto out = parse_multipart(text, "mcx-boundary");
    ASSERT_TRUE(out) << out.error().reason;
    ASSERT_EQ(out->size(), 2u);
    EXPECT_EQ((*out)[0].body, in[0].body);
    EXPECT_EQ((*out)[1].body, in[1].body);
}

TEST(Multipart, SplitBodyReadsBoundaryFromContentType) {
    auto parts = split_body("multipart/mixed; boundary=\"b1\"", kBody);
    ASSERT_TRUE(parts) << parts.error().reason;
    EXPECT_NE(find_part(*parts, kMimeMcpttInfo), nullptr);
    EXPECT_EQ(find_part(*parts, kMimeResourceLists), nullptr);
}

TEST(Multipart, SingleBodyIsOnePart) {
    auto parts = split_body("application/sdp", "v=0\r\n");
    ASSERT_TRUE(parts);
    ASSERT_EQ(parts->size(), 1u);
    EXPECT_NE(find_part(*parts, kMimeSdp), nullptr);
}

TEST(Multipart, RejectsMalformedInput) {
    struct Case {
        const char* body;
        const char* why;
    };
    const Case cases[] = {
        {"no delimiter at all", "no boundary"},
        {"--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n", "no close delimiter"},
        {"--b1\r\nContent-Type: application/sdp\r\nv=0\r\n--b1--", "headers not ended"},
        {"--b1\r\nX-Other: 1\r\n\r\nv=0\r\n--b1--", "part without Content-Type"},
        {"--b1\r\nContent-Type: nonsense\r\n\r\nv=0\r\n--b1--", "bad Content-Type"},
        {"--b1--", "no parts"},
        {"--b1junk\r\n", "delimiter followed by text"},
    };
    for (const auto& c : cases) {
        EXPECT_FALSE(parse_multipart(c.body, "b1")) << c.why;
    }
    EXPECT_FALSE(split_body("multipart/mixed", kBody)) << "no boundary parameter";
    EXPECT_FALSE(parse_multipart(kBody, "")) << "empty boundary";
}

TEST(Multipart, RejectsTooManyParts) {
    std::vector<BodyPart> many(17, BodyPart{"text/plain", "x"});
    EXPECT_FALSE(parse_multipart(build_multipart(many, "b"), "b"));
    many.resize(16);
    EXPECT_TRUE(parse_multipart(build_multipart(many, "b"), "b"));
}

TEST(ContentType, ParsesParametersAndQuotes) {
    auto ct = ContentType::parse("Multipart/Mixed ; boundary=\"a;b\" ; charset=utf-8");
    ASSERT_TRUE(ct) << ct.error().reason;
    EXPECT_EQ(ct->media_type, "multipart/mixed");
    EXPECT_EQ(ct->param("boundary"), "a;b");
    EXPECT_EQ(ct->param("charset"), "utf-8");
    EXPECT_FALSE(ContentType::parse("text"));
    EXPECT_FALSE(ContentType::parse("text/plain; x"));
    EXPECT_FALSE(ContentType::parse("text/plain; x=\"open"));
}

}  // namespace
}  // namespace mcx::proto
