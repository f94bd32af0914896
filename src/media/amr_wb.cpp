#include "media/amr_wb.hpp"

#include <algorithm>
#include <string>

#include <opencore-amrwb/dec_if.h>
#include <vo-amrwbenc/enc_if.h>

namespace mcx::media {

namespace {

// Largest storage frame: ToC octet + 60 speech octets of mode 8 (RFC 4867 Table 1a).
constexpr std::size_t max_storage_frame_octets = 1 + 60;

// ToC octet fields (RFC 4867 4.3.2 / 5.3): F(1) FT(4) Q(1) P(2).
constexpr std::uint8_t toc_follow_bit = 0x80;
constexpr std::uint8_t toc_quality_bit = 0x04;

std::uint8_t toc_octet(std::uint8_t frame_type, bool quality_ok, bool more_frames_follow) {
    auto toc = static_cast<std::uint8_t>((frame_type & 0x0f) << 3);
    if (quality_ok) toc |= toc_quality_bit;
    if (more_frames_follow) toc |= toc_follow_bit;
    return toc;
}

std::uint8_t toc_frame_type(std::uint8_t toc) {
    return (toc >> 3) & 0x0f;
}

}  // namespace

std::optional<std::size_t> amr_wb_speech_bits(std::uint8_t frame_type) {
    // RFC 4867 Table 1a (AMR-WB): class A+B+C bits per mode; SID = 35 comfort noise bits +
    // STI bit + 4-bit mode indication.
    static constexpr std::array<std::size_t, 10> bits = {132, 177, 253, 285, 317,
                                                         365, 397, 461, 477, 40};
    if (frame_type < bits.size()) return bits[frame_type];
    if (frame_type == amr_wb_ft_speech_lost || frame_type == amr_wb_ft_no_data) return 0;
    return std::nullopt;  // 10..13 reserved, > 15 not a 4-bit FT
}

std::optional<std::size_t> amr_wb_speech_octets(std::uint8_t frame_type) {
    auto bits = amr_wb_speech_bits(frame_type);
    if (!bits) return std::nullopt;
    return (*bits + 7) / 8;
}

AmrWbFrame amr_wb_no_data_frame() {
    return AmrWbFrame{amr_wb_ft_no_data, true, {}};
}

// ---- encoder ----------------------------------------------------------------------------

void AmrWbEncoder::StateDeleter::operator()(void* state) const {
    if (state) E_IF_exit(state);
}

Result<AmrWbEncoder> AmrWbEncoder::create(AmrWbMode mode) {
    if (static_cast<std::uint8_t>(mode) > static_cast<std::uint8_t>(AmrWbMode::kbps_23_85)) {
        return fail(Errc::invalid_argument, "AMR-WB mode must be 0..8");
    }
    void* state = E_IF_init();
    if (!state) return fail(Errc::internal, "E_IF_init failed");
    return AmrWbEncoder(state, mode);
}

Result<AmrWbFrame> AmrWbEncoder::encode(std::span<const std::int16_t> pcm) {
    if (pcm.size() != amr_wb_samples_per_frame) {
        return fail(Errc::invalid_argument,
                    "AMR-WB encoder needs " + std::to_string(amr_wb_samples_per_frame) +
                        " samples per frame, got " + std::to_string(pcm.size()));
    }
    const auto mode = static_cast<std::uint8_t>(mode_);
    if (mode > static_cast<std::uint8_t>(AmrWbMode::kbps_23_85)) {
        return fail(Errc::invalid_argument, "AMR-WB mode must be 0..8");
    }
    // vo-amrwbenc writes through an unsigned short pointer in its other output formats, so keep
    // the buffer 2-byte aligned and larger than any frame.
    alignas(4) std::array<unsigned char, 2 * max_storage_frame_octets> out{};
    const int length = E_IF_encode(state_.get(), mode, pcm.data(), out.data(), /*dtx=*/0);

    // Expect a storage frame: ToC with our mode, then exactly that mode's speech octets.
    const auto expected_octets = amr_wb_speech_octets(mode).value_or(0);
    if (length != static_cast<int>(1 + expected_octets) || toc_frame_type(out[0]) != mode) {
        return fail(Errc::internal, "E_IF_encode returned " + std::to_string(length) +
                                        " octets, ToC FT " +
                                        std::to_string(toc_frame_type(out[0])) + " for mode " +
                                        std::to_string(mode));
    }
    AmrWbFrame frame;
    frame.frame_type = mode;
    frame.quality_ok = (out[0] & toc_quality_bit) != 0;
    frame.speech.assign(out.begin() + 1, out.begin() + length);
    return frame;
}

// ---- decoder ----------------------------------------------------------------------------

void AmrWbDecoder::StateDeleter::operator()(void* state) const {
    if (state) D_IF_exit(state);
}

Result<AmrWbDecoder> AmrWbDecoder::create() {
    void* state = D_IF_init();
    if (!state) return fail(Errc::internal, "D_IF_init failed");
    return AmrWbDecoder(state);
}

Result<PcmFrame> AmrWbDecoder::decode(const AmrWbFrame& frame) {
    const auto octets = amr_wb_speech_octets(frame.frame_type);
    if (!octets) {
        return fail(Errc::malformed,
                    "AMR-WB frame type " + std::to_string(frame.frame_type) + " is reserved");
    }
    if (frame.speech.size() != *octets) {
        return fail(Errc::malformed, "AMR-WB frame type " + std::to_string(frame.frame_type) +
                                         " needs " + std::to_string(*octets) +
                                         " speech octets, got " +
                                         std::to_string(frame.speech.size()));
    }
    // D_IF_decode reads the ToC octet and then at most the speech octets of that FT; a
    // zero-filled full-size buffer keeps every read in bounds.
    std::array<unsigned char, max_storage_frame_octets> storage{};
    storage[0] = toc_octet(frame.frame_type, frame.quality_ok, false);
    std::copy(frame.speech.begin(), frame.speech.end(), storage.begin() + 1);

    PcmFrame pcm{};
    // opencore ignores the Q bit, so a damaged frame is handed over as a bad frame (bfi).
    const int bad_frame_indication = frame.quality_ok ? 0 : 1;
    D_IF_decode(state_.get(), storage.data(), pcm.data(), bad_frame_indication);
    return pcm;
}

PcmFrame AmrWbDecoder::decode_lost() {
    std::array<unsigned char, max_storage_frame_octets> storage{};
    storage[0] = toc_octet(amr_wb_ft_no_data, true, false);
    PcmFrame pcm{};
    D_IF_decode(state_.get(), storage.data(), pcm.data(), /*bfi=*/1);
    return pcm;
}

// ---- whole signals ----------------------------------------------------------------------

Result<std::vector<AmrWbFrame>> encode_speech(std::span<const std::int16_t> pcm, AmrWbMode mode) {
    auto encoder = AmrWbEncoder::create(mode);
    if (!encoder) return tl::unexpected(encoder.error());
    std::vector<AmrWbFrame> frames;
    frames.reserve((pcm.size() + amr_wb_samples_per_frame - 1) / amr_wb_samples_per_frame);
    for (std::size_t start = 0; start < pcm.size(); start += amr_wb_samples_per_frame) {
        PcmFrame block{};  // zero-padded when the signal ends mid-frame
        const auto count = std::min(amr_wb_samples_per_frame, pcm.size() - start);
        std::copy_n(pcm.begin() + static_cast<std::ptrdiff_t>(start), count, block.begin());
        auto frame = encoder->encode(block);
        if (!frame) return tl::unexpected(frame.error());
        frames.push_back(std::move(*frame));
    }
    return frames;
}

Result<std::vector<std::int16_t>> decode_speech(std::span<const AmrWbFrame> frames) {
    auto decoder = AmrWbDecoder::create();
    if (!decoder) return tl::unexpected(decoder.error());
    std::vector<std::int16_t> pcm;
    pcm.reserve(frames.size() * amr_wb_samples_per_frame);
    for (const auto& frame : frames) {
        auto block = decoder->decode(frame);
        if (!block) return tl::unexpected(block.error());
        pcm.insert(pcm.end(), block->begin(), block->end());
    }
    return pcm;
}

// ---- RTP payload (RFC 4867 section 4.4, octet-aligned) -----------------------------------

std::vector<std::uint8_t> to_rtp_payload(const AmrWbFrame& frame) {
    std::vector<std::uint8_t> payload;
    payload.reserve(2 + frame.speech.size());
    // Payload header (4.4.1): CMR in the 4 high bits, 4 reserved zero bits.
    payload.push_back(static_cast<std::uint8_t>(amr_wb_cmr_no_request << 4));
    // Table of contents (4.4.2): a single entry, so F=0.
    payload.push_back(toc_octet(frame.frame_type, frame.quality_ok, false));
    // Speech data (4.4.3): already octet-aligned with zero padding.
    payload.insert(payload.end(), frame.speech.begin(), frame.speech.end());
    return payload;
}

std::vector<std::uint8_t> no_data_rtp_payload() {
    return to_rtp_payload(amr_wb_no_data_frame());
}

Result<std::vector<AmrWbFrame>> from_rtp_payload_frames(std::span<const std::uint8_t> payload) {
    if (payload.size() < 2) {
        return fail(Errc::malformed, "AMR-WB payload of " + std::to_string(payload.size()) +
                                         " octets: needs a CMR and a ToC octet");
    }
    // ToC entries follow the CMR octet until one has F=0 (4.4.2).
    std::size_t offset = 1;
    std::vector<AmrWbFrame> frames;
    std::size_t speech_total = 0;
    while (true) {
        if (offset >= payload.size()) {
            return fail(Errc::malformed, "AMR-WB payload ends inside the table of contents");
        }
        const std::uint8_t toc = payload[offset++];
        const std::uint8_t frame_type = toc_frame_type(toc);
        const auto octets = amr_wb_speech_octets(frame_type);
        if (!octets) {
            return fail(Errc::malformed,
                        "AMR-WB payload has reserved frame type " + std::to_string(frame_type));
        }
        AmrWbFrame frame;
        frame.frame_type = frame_type;
        frame.quality_ok = (toc & toc_quality_bit) != 0;
        frame.speech.resize(*octets);
        speech_total += *octets;
        frames.push_back(std::move(frame));
        if ((toc & toc_follow_bit) == 0) break;
    }
    // The speech octets of all frames follow, in ToC order (4.4.5.1).
    if (payload.size() - offset != speech_total) {
        return fail(Errc::malformed,
                    "AMR-WB payload carries " + std::to_string(payload.size() - offset) +
                        " speech octets, its ToC announces " + std::to_string(speech_total));
    }
    for (auto& frame : frames) {
        std::copy_n(payload.begin() + static_cast<std::ptrdiff_t>(offset), frame.speech.size(),
                    frame.speech.begin());
        offset += frame.speech.size();
    }
    return frames;
}

Result<AmrWbFrame> from_rtp_payload(std::span<const std::uint8_t> payload) {
    if (payload.size() >= 2 && (payload[1] & toc_follow_bit) != 0) {
        return fail(Errc::unsupported,
                    "AMR-WB payload with several frames (ToC F=1); one frame per packet expected");
    }
    auto frames = from_rtp_payload_frames(payload);
    if (!frames) return tl::unexpected(frames.error());
    return std::move(frames->front());
}

}  // namespace mcx::media
