#include "media/wav.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include <samplerate.h>
#include <sndfile.h>

namespace mcx::media {

namespace {

struct SndfileCloser {
    void operator()(SNDFILE* file) const { sf_close(file); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

std::string quoted(const std::filesystem::path& path) {
    return "'" + path.string() + "'";
}

}  // namespace

std::vector<float> mix_to_mono(std::span<const float> interleaved, int channels) {
    if (channels <= 1) return {interleaved.begin(), interleaved.end()};
    const auto width = static_cast<std::size_t>(channels);
    std::vector<float> mono(interleaved.size() / width);
    for (std::size_t frame = 0; frame < mono.size(); ++frame) {
        double sum = 0;
        for (std::size_t channel = 0; channel < width; ++channel) {
            sum += interleaved[frame * width + channel];
        }
        mono[frame] = static_cast<float>(sum / channels);
    }
    return mono;
}

Result<std::vector<float>> resample(std::span<const float> mono, int from_hz, int to_hz) {
    if (from_hz <= 0 || to_hz <= 0) {
        return fail(Errc::invalid_argument, "sample rates must be positive, got " +
                                                std::to_string(from_hz) + " and " +
                                                std::to_string(to_hz));
    }
    if (from_hz == to_hz || mono.empty()) return std::vector<float>(mono.begin(), mono.end());

    const double ratio = static_cast<double>(to_hz) / from_hz;
    const auto wanted = static_cast<std::size_t>(std::llround(mono.size() * ratio));
    std::vector<float> out(wanted + 16);  // src_simple may return a few frames less
    SRC_DATA data{};
    data.data_in = mono.data();
    data.input_frames = static_cast<long>(mono.size());
    data.data_out = out.data();
    data.output_frames = static_cast<long>(out.size());
    data.src_ratio = ratio;
    data.end_of_input = 1;
    if (int error = src_simple(&data, SRC_SINC_MEDIUM_QUALITY, 1); error != 0) {
        return fail(Errc::internal, std::string("libsamplerate: ") + src_strerror(error));
    }
    out.resize(static_cast<std::size_t>(data.output_frames_gen));
    out.resize(wanted, 0.0f);  // exact length: pad the filter's tail shortfall with silence
    return out;
}

std::vector<std::int16_t> to_pcm16(std::span<const float> samples) {
    std::vector<std::int16_t> pcm(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const double scaled = std::round(static_cast<double>(samples[i]) * 32768.0);
        pcm[i] = static_cast<std::int16_t>(std::clamp(scaled, -32768.0, 32767.0));
    }
    return pcm;
}

Result<std::vector<std::int16_t>> read_speech_file(const std::filesystem::path& path) {
    SF_INFO info{};
    SndfilePtr file(sf_open(path.c_str(), SFM_READ, &info));
    if (!file) {
        return fail(Errc::io,
                    "cannot read audio file " + quoted(path) + ": " + sf_strerror(nullptr));
    }
    if (info.channels <= 0 || info.samplerate <= 0 || info.frames < 0) {
        return fail(Errc::malformed, "audio file " + quoted(path) + " has " +
                                         std::to_string(info.channels) + " channels at " +
                                         std::to_string(info.samplerate) + " Hz");
    }
    if (info.frames > static_cast<sf_count_t>(max_speech_file_seconds) * info.samplerate) {
        return fail(Errc::invalid_argument, "audio file " + quoted(path) + " is longer than " +
                                                std::to_string(max_speech_file_seconds) + " s");
    }
    // libsndfile scales integer PCM to floats in [-1, 1) (divides 16-bit samples by 32768).
    std::vector<float> interleaved(static_cast<std::size_t>(info.frames) *
                                   static_cast<std::size_t>(info.channels));
    const sf_count_t got = sf_readf_float(file.get(), interleaved.data(), info.frames);
    if (got != info.frames) {
        return fail(Errc::io, "audio file " + quoted(path) + ": read " + std::to_string(got) +
                                  " of " + std::to_string(info.frames) +
                                  " frames: " + sf_strerror(file.get()));
    }
    auto mono =
        resample(mix_to_mono(interleaved, info.channels), info.samplerate, speech_sample_rate_hz);
    if (!mono) {
        return fail(mono.error().code, "audio file " + quoted(path) + ": " + mono.error().reason);
    }
    return to_pcm16(*mono);
}

Result<void> write_wav(const std::filesystem::path& path, std::span<const std::int16_t> samples,
                       int sample_rate_hz, int channels) {
    if (sample_rate_hz <= 0 || channels <= 0) {
        return fail(Errc::invalid_argument,
                    "cannot write " + quoted(path) + ": invalid sample rate or channel count");
    }
    SF_INFO info{};
    info.samplerate = sample_rate_hz;
    info.channels = channels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SndfilePtr file(sf_open(path.c_str(), SFM_WRITE, &info));
    if (!file) {
        return fail(Errc::io,
                    "cannot write WAV file " + quoted(path) + ": " + sf_strerror(nullptr));
    }
    const auto frames =
        static_cast<sf_count_t>(samples.size() / static_cast<std::size_t>(channels));
    if (sf_writef_short(file.get(), samples.data(), frames) != frames) {
        return fail(Errc::io,
                    "cannot write WAV file " + quoted(path) + ": " + sf_strerror(file.get()));
    }
    // Closing writes the final RIFF sizes; report a failure there too.
    SNDFILE* raw = file.release();
    if (sf_close(raw) != 0) {
        return fail(Errc::io, "cannot finish WAV file " + quoted(path));
    }
    return {};
}

}  // namespace mcx::media
