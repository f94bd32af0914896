// Real voice through floor control: a phrase spoken by espeak-ng is sent by alice's client as
// AMR-WB while she holds the floor, relayed by mcxd, and recorded by bob's client. At least 95 %
// of the frames must arrive and bob's recording must correlate >= 0.9 with the codec-decoded
// original (the same file through AMR-WB encode + decode, without the network).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "harness.hpp"
#include "media/amr_wb.hpp"
#include "media/correlation.hpp"
#include "media/wav.hpp"

namespace mcx::test {
namespace {

TEST(Voice, SpokenPhraseArrivesAndCorrelatesWithTheCodecDecodedOriginal) {
    if (std::system("command -v espeak-ng >/dev/null 2>&1") != 0) GTEST_SKIP() << "no espeak-ng";
    const auto dir = test_output_dir();
    const auto phrase = dir + "/phrase.wav";
    const auto recording = dir + "/bob-received.wav";
    ASSERT_EQ(std::system(("espeak-ng -w " + phrase +
                           " 'Unit seven to dispatch. We are on scene at the north gate, "
                           "requesting one more ambulance.'")
                              .c_str()),
              0);

    McSystem::Options options;
    options.users = {{"alice", "pw-a", {"*"}}, {"bob", "pw-b", {"*"}}};
    auto system = McSystem::start(options, dir);
    auto alice = ClientProcess::start(*system, "alice", "pw-a", {"--speak", phrase});
    auto bob = ClientProcess::start(*system, "bob", "pw-b", {"--record", recording});
    ASSERT_TRUE(alice->wait("registered"));
    ASSERT_TRUE(bob->wait("registered"));

    alice->send("call bob");  // implicit floor request: alice talks as soon as she is granted
    ASSERT_TRUE(alice->wait("floor-granted"));
    ASSERT_TRUE(alice->wait("speech-finished", 20s)) << "alice did not finish speaking";
    ASSERT_TRUE(bob->wait("floor-idle", 5s)) << "the floor was not released after the phrase";
    auto sent = alice->status();
    auto received = bob->status();
    ASSERT_TRUE(sent && received);
    const auto frames_sent = (*sent)["calls"][0]["rtp_sent"].get<double>();
    const auto frames_received = (*received)["calls"][0]["rtp_received"].get<double>();
    ASSERT_GT(frames_sent, 100);
    EXPECT_GE(frames_received / frames_sent, 0.95) << frames_received << " of " << frames_sent;

    alice->send("hangup");
    ASSERT_TRUE(bob->wait("released"));  // bob's client writes the recording at release

    auto original = media::read_speech_file(phrase);
    ASSERT_TRUE(original) << original.error().reason;
    auto frames = media::encode_speech(*original);
    ASSERT_TRUE(frames);
    auto decoded_original = media::decode_speech(*frames);
    ASSERT_TRUE(decoded_original);
    auto heard = media::read_speech_file(recording);
    ASSERT_TRUE(heard) << heard.error().reason;
    const auto c = media::best_correlation(*decoded_original, *heard, 1600);
    RecordProperty("correlation", std::to_string(c.coefficient));
    EXPECT_GE(c.coefficient, 0.9) << "lag " << c.lag;
}

}  // namespace
}  // namespace mcx::test
