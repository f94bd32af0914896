// net::SipStreamGuard's hook: libre's transport must reach mcxd's tcp_accept, not its own, or
// no SIP connection over TCP or TLS is capped or framed (tests/integration/sip_stream_test.cpp
// shows what the guard does on a real mcxd).
#include <gtest/gtest.h>

#include "net/sip_stream_guard.hpp"

namespace mcx::net {
namespace {

TEST(SipStreamGuard, LibreReachesTheInterposedTcpAccept) {
    EXPECT_TRUE(SipStreamGuard::interposed());
}

TEST(SipStreamGuard, EveryRefusalHasAMetricName) {
    for (std::size_t i = 0; i < kSipStreamRefusals; ++i) {
        EXPECT_STRNE(to_string(static_cast<SipStreamRefusal>(i)), "unknown") << i;
    }
}

}  // namespace
}  // namespace mcx::net
