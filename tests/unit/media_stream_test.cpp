// MediaStream: paced AMR-WB payloads over real loopback RTP, and the release hook that waits
// for the next frame (a call released for migration loses no frame that was due).
#include "client/media_stream.hpp"

#include <gtest/gtest.h>

#include "media/amr_wb.hpp"
#include "net/event_loop.hpp"
#include "net/timer.hpp"

namespace mcx::client {
namespace {

TEST(MediaStream, AfterNextFrameRunsRightAfterOneMorePayloadLeft) {
    net::EventLoop loop;
    std::uint64_t heard = 0;
    auto listener = MediaStream::open("127.0.0.1", [&](const net::RtpPacket&) { ++heard; }, {});
    auto talker = MediaStream::open("127.0.0.1", {}, {});
    ASSERT_TRUE(listener && talker);
    (*talker)->set_remote(net::to_ipv4(net::Endpoint{"127.0.0.1", (*listener)->rtp_port()}));
    std::vector<std::vector<std::uint8_t>> payloads(50, media::no_data_rtp_payload());
    (*talker)->queue(payloads);
    EXPECT_TRUE((*talker)->sending());
    std::uint64_t sent_when_released = 0;
    net::Timer later;
    later.start(std::chrono::milliseconds(70), [&] {
        const auto before = (*talker)->sent();
        (*talker)->after_next_frame([&, before] {
            sent_when_released = (*talker)->sent();
            EXPECT_EQ(sent_when_released, before + 1) << "exactly the frame that was due";
            loop.stop();
        });
        EXPECT_EQ(sent_when_released, 0u) << "not at once while a burst is being sent";
    });
    net::Timer watchdog;
    watchdog.start(std::chrono::seconds(5), [&] {
        ADD_FAILURE() << "watchdog";
        loop.stop();
    });
    loop.run();
    EXPECT_GE(sent_when_released, 4u);
    // Nothing being sent: the hook runs at once.
    (*talker)->stop();
    bool ran = false;
    (*talker)->after_next_frame([&] { ran = true; });
    EXPECT_TRUE(ran);
    EXPECT_GT(heard, 0u);
}

}  // namespace
}  // namespace mcx::client
