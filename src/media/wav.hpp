#pragma once
// Speech files: read anything libsndfile reads (WAV in any sample rate / channel count, also
// AIFF, FLAC, ...) as 16 kHz mono 16-bit PCM, the AMR-WB input; write 16-bit PCM WAV.
// Channels are mixed down by averaging; the rate is converted with libsamplerate's
// band-limited sinc converter (SRC_SINC_MEDIUM_QUALITY). See docs/voice.md.

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "common/error.hpp"

namespace mcx::media {

inline constexpr int speech_sample_rate_hz = 16000;
// Longest file read_speech_file accepts (guards memory against a corrupt header).
inline constexpr int max_speech_file_seconds = 3600;

// Reads an audio file and converts it to 16 kHz mono. Errors name the file.
Result<std::vector<std::int16_t>> read_speech_file(const std::filesystem::path& path);

// Writes interleaved 16-bit samples as a PCM WAV file (RIFF, WAVE_FORMAT_PCM).
Result<void> write_wav(const std::filesystem::path& path, std::span<const std::int16_t> samples,
                       int sample_rate_hz = speech_sample_rate_hz, int channels = 1);

// Averages the channels of interleaved samples (a trailing partial frame is dropped).
std::vector<float> mix_to_mono(std::span<const float> interleaved, int channels);

// Converts a mono signal (floats in [-1, 1]) from one sample rate to another with libsamplerate;
// the output has round(size * to / from) samples. Same rate: a copy.
Result<std::vector<float>> resample(std::span<const float> mono, int from_hz, int to_hz);

// Floats in [-1, 1] to 16-bit samples, rounded and clipped (x 32768, as libsndfile reads them).
std::vector<std::int16_t> to_pcm16(std::span<const float> samples);

}  // namespace mcx::media
