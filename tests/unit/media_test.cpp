// Speech media: AMR-WB codec and RFC 4867 payload, speech files, correlation.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numbers>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/process.hpp"
#include "media/amr_wb.hpp"
#include "media/correlation.hpp"
#include "media/wav.hpp"

namespace mcx::media {
namespace {

namespace fs = std::filesystem;

// ---- helpers ------------------------------------------------------------------------------

// A voiced-speech-like test signal: a 140 Hz glottal fundamental with decaying harmonics up to
// 4 kHz, its pitch gliding and its loudness varying syllable by syllable (4 Hz).
std::vector<std::int16_t> synthetic_voice(int sample_rate_hz, double seconds) {
    const auto count = static_cast<std::size_t>(sample_rate_hz * seconds);
    std::vector<std::int16_t> pcm(count);
    double phase = 0;
    for (std::size_t n = 0; n < count; ++n) {
        const double t = static_cast<double>(n) / sample_rate_hz;
        const double pitch_hz = 140 + 30 * std::sin(2 * std::numbers::pi * 0.7 * t);
        double value = 0;
        for (int harmonic = 1; harmonic * pitch_hz < 4000; ++harmonic) {
            value += std::sin(harmonic * phase) / harmonic;
        }
        phase += 2 * std::numbers::pi * pitch_hz / sample_rate_hz;  // sample n sits at t = n / rate
        const double envelope = 0.55 + 0.45 * std::sin(2 * std::numbers::pi * 4 * t);
        pcm[n] = static_cast<std::int16_t>(5000 * envelope * value);
    }
    return pcm;
}

std::vector<std::int16_t> white_noise(std::size_t count, unsigned seed) {
    std::mt19937 random(seed);
    std::normal_distribution<double> gauss(0, 3000);
    std::vector<std::int16_t> pcm(count);
    for (auto& sample : pcm)
        sample = static_cast<std::int16_t>(std::clamp(gauss(random), -3e4, 3e4));
    return pcm;
}

std::optional<std::string> find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    if (!path) return std::nullopt;
    std::string dirs = path;
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const auto end = std::min(dirs.find(':', start), dirs.size());
        const fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        start = end + 1;
    }
    return std::nullopt;
}

// Runs a program to completion; true when it exited with status 0.
bool run(const std::vector<std::string>& argv) {
    auto child = ChildProcess::spawn(argv, "/dev/null");
    if (!child) return false;
    while (child->read_line(std::chrono::seconds(30))) {
    }
    const auto status = child->wait(std::chrono::seconds(30));
    return status && *status == 0;
}

// A fresh directory under the system temp dir, removed afterwards.
class MediaTempDir : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() / ("mcx-media-" + std::to_string(::getpid()) + "-" +
                                            test->test_suite_name() + "-" + test->name());
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    fs::path dir_;
};

constexpr const char* espeak_phrase =
    "Mission critical push to talk. Unit seven, proceed to the north gate.";

// ---- correlation ------------------------------------------------------------------------------

TEST(Correlation, ShiftedCopyScoresOneAtItsLag) {
    const auto reference = synthetic_voice(16000, 1.0);
    std::vector<std::int16_t> delayed(237, 0);  // candidate lags behind by 237 samples
    for (auto sample : reference) delayed.push_back(static_cast<std::int16_t>(sample / 2));
    auto result = best_correlation(reference, delayed, default_max_lag_samples);
    EXPECT_GT(result.coefficient, 0.999);
    EXPECT_EQ(result.lag, 237);

    const std::span<const std::int16_t> advanced(reference.begin() + 100, reference.end());
    result = best_correlation(reference, advanced, default_max_lag_samples);
    EXPECT_GT(result.coefficient, 0.999);
    EXPECT_EQ(result.lag, -100);
}

TEST(Correlation, NoiseIsUncorrelated) {
    const auto first = white_noise(16000, 1);
    const auto second = white_noise(16000, 2);
    const auto result = best_correlation(first, second, default_max_lag_samples);
    EXPECT_LT(std::abs(result.coefficient), 0.05);
}

TEST(Correlation, NoiseFindsItsCopyAmongManyLags) {
    const auto noise = white_noise(8000, 3);
    std::vector<std::int16_t> delayed(1234, 0);
    delayed.insert(delayed.end(), noise.begin(), noise.end());
    const auto result = best_correlation(noise, delayed, default_max_lag_samples);
    EXPECT_GT(result.coefficient, 0.999);
    EXPECT_EQ(result.lag, 1234);
}

TEST(Correlation, InvertedSignalIsMinusOne) {
    const auto reference = synthetic_voice(16000, 0.2);
    std::vector<std::int16_t> inverted;
    for (auto sample : reference) inverted.push_back(static_cast<std::int16_t>(-sample));
    const auto result = best_correlation(reference, inverted, 0);
    EXPECT_NEAR(result.coefficient, -1.0, 1e-9);
    EXPECT_EQ(result.lag, 0);
}

TEST(Correlation, OffsetAndGainDoNotMatter) {
    const auto reference = synthetic_voice(16000, 0.5);
    std::vector<std::int16_t> shifted;
    for (auto sample : reference) shifted.push_back(static_cast<std::int16_t>(sample / 4 + 500));
    EXPECT_GT(best_correlation(reference, shifted, 10).coefficient, 0.999);
}

TEST(Correlation, DegenerateInputsScoreZero) {
    const std::vector<std::int16_t> empty;
    const std::vector<std::int16_t> constant(1000, 42);
    const auto voice = synthetic_voice(16000, 0.1);
    EXPECT_EQ(best_correlation(empty, voice, 100).coefficient, 0.0);
    EXPECT_EQ(best_correlation(constant, voice, 100).coefficient, 0.0);
    EXPECT_EQ(best_correlation(voice, constant, 100).coefficient, 0.0);
}

TEST(Correlation, LagOutsideTheWindowIsNotFound) {
    const auto noise = white_noise(16000, 4);
    std::vector<std::int16_t> delayed(2000, 0);
    delayed.insert(delayed.end(), noise.begin(), noise.end());
    EXPECT_LT(best_correlation(noise, delayed, 1600).coefficient, 0.1);
}

// ---- RFC 4867 payload -------------------------------------------------------------------------

TEST(AmrWbPayload, FrameSizesFollowRfc4867) {
    const std::size_t bits[] = {132, 177, 253, 285, 317, 365, 397, 461, 477, 40};
    const std::size_t octets[] = {17, 23, 32, 36, 40, 46, 50, 58, 60, 5};
    for (std::uint8_t ft = 0; ft < 10; ++ft) {
        EXPECT_EQ(amr_wb_speech_bits(ft), bits[ft]) << int{ft};
        EXPECT_EQ(amr_wb_speech_octets(ft), octets[ft]) << int{ft};
    }
    for (std::uint8_t ft = 10; ft < 14; ++ft) EXPECT_FALSE(amr_wb_speech_octets(ft)) << int{ft};
    EXPECT_EQ(amr_wb_speech_octets(amr_wb_ft_speech_lost), 0u);
    EXPECT_EQ(amr_wb_speech_octets(amr_wb_ft_no_data), 0u);
    EXPECT_FALSE(amr_wb_speech_octets(16));
}

TEST(AmrWbPayload, RoundTripsEveryFrameType) {
    for (std::uint8_t ft : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 15}) {
        AmrWbFrame frame;
        frame.frame_type = ft;
        frame.quality_ok = ft != 3;
        for (std::size_t i = 0; i < *amr_wb_speech_octets(ft); ++i) {
            frame.speech.push_back(static_cast<std::uint8_t>(i * 37 + ft));
        }
        const auto payload = to_rtp_payload(frame);
        ASSERT_EQ(payload.size(), 2 + frame.speech.size());
        EXPECT_EQ(payload[0], 0xF0);                                          // CMR=15, reserved 0
        EXPECT_EQ(payload[1], (ft << 3) | (frame.quality_ok ? 0x04 : 0x00));  // F=0, FT, Q, P=0
        auto parsed = from_rtp_payload(payload);
        ASSERT_TRUE(parsed) << parsed.error().reason;
        EXPECT_EQ(*parsed, frame);
    }
}

TEST(AmrWbPayload, NoDataIsTwoOctets) {
    const auto payload = no_data_rtp_payload();
    EXPECT_EQ(payload, (std::vector<std::uint8_t>{0xF0, 0x7C}));
    auto parsed = from_rtp_payload(payload);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->frame_type, amr_wb_ft_no_data);
    EXPECT_TRUE(parsed->speech.empty());
}

TEST(AmrWbPayload, IgnoresCmrReservedAndPaddingBits) {
    std::vector<std::uint8_t> payload = {0x2F, 0x14 | 0x03};  // CMR=2, reserved and P bits set
    payload.resize(2 + 32, 0xAB);
    auto parsed = from_rtp_payload(payload);
    ASSERT_TRUE(parsed) << parsed.error().reason;
    EXPECT_EQ(parsed->frame_type, 2);
    EXPECT_EQ(parsed->speech.size(), 32u);
}

TEST(AmrWbPayload, RejectsMalformedPayloads) {
    const auto speech_12_65 = [](std::size_t octets) {
        std::vector<std::uint8_t> payload = {0xF0, 0x14};
        payload.resize(2 + octets, 0x55);
        return payload;
    };
    struct Case {
        std::vector<std::uint8_t> payload;
        Errc code;
        const char* reason;
    };
    const Case cases[] = {
        {{}, Errc::malformed, "needs a CMR and a ToC"},
        {{0xF0}, Errc::malformed, "needs a CMR and a ToC"},
        {{0xF0, 10 << 3 | 4}, Errc::malformed, "reserved frame type 10"},
        {{0xF0, 13 << 3 | 4}, Errc::malformed, "reserved frame type 13"},
        {speech_12_65(31), Errc::malformed, "carries 31 speech octets, its ToC announces 32"},
        {speech_12_65(33), Errc::malformed, "carries 33 speech octets"},
        {{0xF0, 0x7C, 0x00}, Errc::malformed, "carries 1 speech octets, its ToC announces 0"},
        {{0xF0, 0x80 | 0x14, 0x14}, Errc::unsupported, "several frames"},
    };
    for (const auto& c : cases) {
        auto parsed = from_rtp_payload(c.payload);
        ASSERT_FALSE(parsed) << c.reason;
        EXPECT_EQ(parsed.error().code, c.code) << c.reason;
        EXPECT_NE(parsed.error().reason.find(c.reason), std::string::npos) << parsed.error().reason;
    }
}

TEST(AmrWbPayload, ParsesSeveralFramesWhenAskedTo) {
    // Two frames: 12.65 then NO_DATA (RFC 4867 4.4.5.1: ToC list, then speech in ToC order).
    std::vector<std::uint8_t> payload = {0xF0, 0x80 | 0x14, 0x7C};
    for (int i = 0; i < 32; ++i) payload.push_back(static_cast<std::uint8_t>(i));
    auto frames = from_rtp_payload_frames(payload);
    ASSERT_TRUE(frames) << frames.error().reason;
    ASSERT_EQ(frames->size(), 2u);
    EXPECT_EQ((*frames)[0].frame_type, 2);
    EXPECT_EQ((*frames)[0].speech.size(), 32u);
    EXPECT_EQ((*frames)[0].speech[31], 31);
    EXPECT_EQ((*frames)[1].frame_type, amr_wb_ft_no_data);

    const std::vector<std::uint8_t> unterminated_toc = {0xF0, 0x80 | 0x14, 0x80 | 0x14};
    auto rejected = from_rtp_payload_frames(unterminated_toc);
    ASSERT_FALSE(rejected);
    EXPECT_NE(rejected.error().reason.find("inside the table of contents"), std::string::npos);
}

TEST(AmrWbPayload, RandomBytesNeverReadOutOfBounds) {
    std::mt19937 random(7);
    std::uniform_int_distribution<int> octet(0, 255);
    std::uniform_int_distribution<std::size_t> length(0, 70);
    auto decoder = AmrWbDecoder::create();
    ASSERT_TRUE(decoder);
    int accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        std::vector<std::uint8_t> payload(length(random));
        for (auto& b : payload) b = static_cast<std::uint8_t>(octet(random));
        if (round % 2 == 0 && payload.size() >= 2) payload[1] &= 0x7F;  // single frame often
        auto frames = from_rtp_payload_frames(payload);
        if (!frames) continue;
        for (const auto& frame : *frames) {
            ASSERT_EQ(frame.speech.size(), amr_wb_speech_octets(frame.frame_type));
            ASSERT_TRUE(decoder->decode(frame));
        }
        ++accepted;
    }
    EXPECT_GT(accepted, 0);
}

// ---- AMR-WB codec ---------------------------------------------------------------------------

TEST(AmrWbCodec, EncoderEmitsStorageFramesOfItsMode) {
    const auto voice = synthetic_voice(16000, 0.02);
    for (std::uint8_t mode = 0; mode <= 8; ++mode) {
        auto encoder = AmrWbEncoder::create(static_cast<AmrWbMode>(mode));
        ASSERT_TRUE(encoder);
        auto frame = encoder->encode(voice);
        ASSERT_TRUE(frame) << frame.error().reason;
        EXPECT_EQ(frame->frame_type, mode);
        EXPECT_TRUE(frame->quality_ok);
        EXPECT_EQ(frame->speech.size(), amr_wb_speech_octets(mode));
        // Unused bits of the last octet are zero (RFC 4867 4.4.3).
        const auto unused_bits = 8 * frame->speech.size() - *amr_wb_speech_bits(mode);
        EXPECT_EQ(frame->speech.back() & ((1 << unused_bits) - 1), 0) << int{mode};
    }
}

TEST(AmrWbCodec, RejectsWrongInput) {
    auto encoder = AmrWbEncoder::create();
    ASSERT_TRUE(encoder);
    const std::vector<std::int16_t> short_block(319, 0);
    auto frame = encoder->encode(short_block);
    ASSERT_FALSE(frame);
    EXPECT_EQ(frame.error().code, Errc::invalid_argument);
    EXPECT_FALSE(AmrWbEncoder::create(static_cast<AmrWbMode>(9)));

    auto decoder = AmrWbDecoder::create();
    ASSERT_TRUE(decoder);
    EXPECT_FALSE(decoder->decode(AmrWbFrame{2, true, std::vector<std::uint8_t>(31)}));
    EXPECT_FALSE(decoder->decode(AmrWbFrame{11, true, {}}));
    EXPECT_TRUE(decoder->decode(amr_wb_no_data_frame()));
}

TEST(AmrWbCodec, SyntheticVoiceSurvivesEveryMode) {
    const auto voice = synthetic_voice(16000, 2.0);
    double previous = 0;
    for (auto mode : {AmrWbMode::kbps_6_60, AmrWbMode::kbps_12_65, AmrWbMode::kbps_23_85}) {
        auto frames = encode_speech(voice, mode);
        ASSERT_TRUE(frames) << frames.error().reason;
        EXPECT_EQ(frames->size(), 100u);  // 2 s / 20 ms
        auto decoded = decode_speech(*frames);
        ASSERT_TRUE(decoded) << decoded.error().reason;
        ASSERT_EQ(decoded->size(), voice.size());
        const auto result = best_correlation(voice, *decoded, default_max_lag_samples);
        std::cout << "[ figure ] synthetic voice, mode " << int(mode) << ": correlation "
                  << result.coefficient << " at lag " << result.lag << "\n";
        EXPECT_GT(result.coefficient, 0.85);
        EXPECT_GE(result.coefficient, previous - 0.02);  // more bits, no worse
        previous = result.coefficient;
    }
}

TEST(AmrWbCodec, RtpPathDecodesLikeTheEncoderOutput) {
    const auto voice = synthetic_voice(16000, 0.5);
    auto frames = encode_speech(voice);
    ASSERT_TRUE(frames);
    auto direct = decode_speech(*frames);
    ASSERT_TRUE(direct);

    std::vector<AmrWbFrame> received;
    for (const auto& frame : *frames) {
        auto parsed = from_rtp_payload(to_rtp_payload(frame));
        ASSERT_TRUE(parsed) << parsed.error().reason;
        received.push_back(*parsed);
    }
    auto via_rtp = decode_speech(received);
    ASSERT_TRUE(via_rtp);
    EXPECT_EQ(*via_rtp, *direct);
}

TEST(AmrWbCodec, LostAndEmptyFramesKeepTheTimeline) {
    const auto voice = synthetic_voice(16000, 0.2);
    auto frames = encode_speech(voice);
    ASSERT_TRUE(frames);
    auto decoder = AmrWbDecoder::create();
    ASSERT_TRUE(decoder);
    std::size_t produced = 0;
    for (std::size_t i = 0; i < frames->size(); ++i) {
        if (i == 4) {
            produced += decoder->decode_lost().size();
        } else if (i == 6) {
            auto block = decoder->decode(amr_wb_no_data_frame());
            ASSERT_TRUE(block);
            produced += block->size();
        } else {
            auto damaged = (*frames)[i];
            damaged.quality_ok = i != 8;
            auto block = decoder->decode(damaged);
            ASSERT_TRUE(block);
            produced += block->size();
        }
    }
    EXPECT_EQ(produced, voice.size());
}

// ---- speech files -------------------------------------------------------------------------

class WavFile : public MediaTempDir {};

TEST_F(WavFile, WriteReadRoundTripIsExactAt16kMono) {
    const auto voice = synthetic_voice(16000, 0.3);
    const auto path = dir_ / "voice.wav";
    auto written = write_wav(path, voice);
    ASSERT_TRUE(written) << written.error().reason;
    EXPECT_EQ(fs::file_size(path), 44 + 2 * voice.size());  // RIFF/fmt/data headers + PCM
    auto read = read_speech_file(path);
    ASSERT_TRUE(read) << read.error().reason;
    EXPECT_EQ(*read, voice);
}

TEST_F(WavFile, StereoAt44kIsMixedAndResampled) {
    const auto left = synthetic_voice(44100, 1.0);
    std::vector<std::int16_t> stereo;
    for (auto sample : left) {
        stereo.push_back(sample);
        stereo.push_back(static_cast<std::int16_t>(sample / 3));  // same waveform, quieter
    }
    const auto path = dir_ / "stereo.wav";
    ASSERT_TRUE(write_wav(path, stereo, 44100, 2));
    auto read = read_speech_file(path);
    ASSERT_TRUE(read) << read.error().reason;
    EXPECT_EQ(read->size(), 16000u);
    const auto expected = synthetic_voice(16000, 1.0);
    const auto result = best_correlation(expected, *read, 50);
    EXPECT_GT(result.coefficient, 0.99);
    // The sinc resampler may shift by one output sample depending on the build's float code.
    EXPECT_LE(std::abs(result.lag), 1);
}

TEST_F(WavFile, Resamples22050To16000) {
    const auto voice = synthetic_voice(22050, 1.5);
    const auto path = dir_ / "espeak-rate.wav";
    ASSERT_TRUE(write_wav(path, voice, 22050));
    auto read = read_speech_file(path);
    ASSERT_TRUE(read) << read.error().reason;
    EXPECT_EQ(read->size(), 24000u);
    const auto result = best_correlation(synthetic_voice(16000, 1.5), *read, 50);
    EXPECT_GT(result.coefficient, 0.99);
    EXPECT_EQ(result.lag, 0);
}

TEST_F(WavFile, ErrorsNameTheFile) {
    auto missing = read_speech_file(dir_ / "missing.wav");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::io);
    EXPECT_NE(missing.error().reason.find("missing.wav"), std::string::npos);

    const auto garbage = dir_ / "garbage.wav";
    std::ofstream(garbage) << "this is not a RIFF file";
    auto bad = read_speech_file(garbage);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().reason.find("garbage.wav"), std::string::npos);

    auto unwritable = write_wav(dir_ / "no-such-dir" / "out.wav", synthetic_voice(16000, 0.1));
    ASSERT_FALSE(unwritable);
    EXPECT_NE(unwritable.error().reason.find("out.wav"), std::string::npos);
}

// ---- espeak-ng speech end to end ------------------------------------------------------------

class MediaSpeech : public MediaTempDir {
  protected:
    // The phrase at 16 kHz mono; skips the test when espeak-ng is not installed.
    std::vector<std::int16_t> spoken_phrase() {
        const auto espeak = find_program("espeak-ng");
        if (!espeak) return {};
        phrase_path_ = dir_ / "phrase.wav";
        EXPECT_TRUE(run({*espeak, "-w", phrase_path_.string(), espeak_phrase}));
        auto pcm = read_speech_file(phrase_path_);
        EXPECT_TRUE(pcm) << pcm.error().reason;
        return pcm ? *pcm : std::vector<std::int16_t>{};
    }
    fs::path phrase_path_;
};

#define SKIP_WITHOUT_ESPEAK() \
    if (!find_program("espeak-ng")) GTEST_SKIP() << "espeak-ng not installed"

TEST_F(MediaSpeech, EspeakPhraseIsResampledLikeSox) {
    SKIP_WITHOUT_ESPEAK();
    const auto ours = spoken_phrase();
    ASSERT_FALSE(ours.empty());
    const auto sox = find_program("sox");
    if (!sox) GTEST_SKIP() << "sox not installed";
    const auto sox_path = dir_ / "sox-16k.wav";
    ASSERT_TRUE(run({*sox, phrase_path_.string(), "-r", "16000", sox_path.string()}));
    auto theirs = read_speech_file(sox_path);
    ASSERT_TRUE(theirs) << theirs.error().reason;
    EXPECT_NEAR(static_cast<double>(ours.size()), static_cast<double>(theirs->size()), 2.0);
    const auto result = best_correlation(*theirs, ours, 50);
    std::cout << "[ figure ] espeak 22050 -> 16000 Hz vs sox: correlation " << result.coefficient
              << " at lag " << result.lag << "\n";
    EXPECT_GT(result.coefficient, 0.995);
    EXPECT_EQ(result.lag, 0);
}

TEST_F(MediaSpeech, EspeakPhraseSurvivesAmrWb) {
    SKIP_WITHOUT_ESPEAK();
    const auto phrase = spoken_phrase();
    ASSERT_GT(phrase.size(), 16000u);
    for (auto mode : {AmrWbMode::kbps_12_65, AmrWbMode::kbps_23_85}) {
        auto frames = encode_speech(phrase, mode);
        ASSERT_TRUE(frames) << frames.error().reason;
        auto decoded = decode_speech(*frames);
        ASSERT_TRUE(decoded) << decoded.error().reason;
        const auto result = best_correlation(phrase, *decoded, default_max_lag_samples);
        std::cout << "[ figure ] espeak phrase, mode " << int(mode) << ": correlation "
                  << result.coefficient << " at lag " << result.lag << "\n";
        EXPECT_GT(result.coefficient, 0.85);
    }
}

// What the client-to-client test will do: send every frame through an RTP payload, lose a few,
// write the received speech to a WAV, and compare with the codec-decoded original.
TEST_F(MediaSpeech, ReceivedPhraseMatchesCodecDecodedOriginal) {
    SKIP_WITHOUT_ESPEAK();
    const auto phrase = spoken_phrase();
    ASSERT_GT(phrase.size(), 16000u);
    auto frames = encode_speech(phrase);
    ASSERT_TRUE(frames);
    auto reference = decode_speech(*frames);
    ASSERT_TRUE(reference);

    auto decoder = AmrWbDecoder::create();
    ASSERT_TRUE(decoder);
    std::vector<std::int16_t> received;
    std::size_t lost = 0;
    for (std::size_t i = 0; i < frames->size(); ++i) {
        PcmFrame block;
        if (i % 25 == 12) {  // 4 % loss
            block = decoder->decode_lost();
            ++lost;
        } else {
            auto parsed = from_rtp_payload(to_rtp_payload((*frames)[i]));
            ASSERT_TRUE(parsed);
            auto decoded = decoder->decode(*parsed);
            ASSERT_TRUE(decoded);
            block = *decoded;
        }
        received.insert(received.end(), block.begin(), block.end());
    }
    const auto out_path = dir_ / "received.wav";
    ASSERT_TRUE(write_wav(out_path, received));
    auto reread = read_speech_file(out_path);
    ASSERT_TRUE(reread);
    const auto result = best_correlation(*reference, *reread, default_max_lag_samples);
    std::cout << "[ figure ] espeak phrase with " << lost << "/" << frames->size()
              << " frames lost vs codec-decoded original: correlation " << result.coefficient
              << " at lag " << result.lag << "\n";
    EXPECT_GT(result.coefficient, 0.9);
    EXPECT_EQ(result.lag, 0);
}

}  // namespace
}  // namespace mcx::media
