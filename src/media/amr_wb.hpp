#pragma once
// AMR-WB speech codec (TS 26.171 / TS 26.190; mandatory for MCPTT per TS 26.179) and its RTP
// payload format (RFC 4867, octet-aligned mode, one frame per packet). See docs/voice.md.
//
// Encoder: Debian's vo-amrwbenc. Decoder: opencore-amrwb. Both exchange frames in the
// "MIME storage" layout of RFC 4867 section 5.3: one ToC octet (P, FT, Q, P, P) followed by the
// speech bits in the sensitivity order of TS 26.201, zero-padded to whole octets.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/error.hpp"

namespace mcx::media {

inline constexpr int amr_wb_sample_rate_hz = 16000;
inline constexpr int amr_wb_frame_duration_ms = 20;
inline constexpr std::size_t amr_wb_samples_per_frame = 320;  // 20 ms at 16 kHz

// Codec modes = frame types 0..8 (TS 26.201 Table 1a).
enum class AmrWbMode : std::uint8_t {
    kbps_6_60 = 0,
    kbps_8_85 = 1,
    kbps_12_65 = 2,
    kbps_14_25 = 3,
    kbps_15_85 = 4,
    kbps_18_25 = 5,
    kbps_19_85 = 6,
    kbps_23_05 = 7,
    kbps_23_85 = 8,
};

// 12.65 kbit/s: the top mode of AMR-WB configuration set 0 {6.60, 8.85, 12.65} that every
// AMR-WB peer supports (TS 26.103, TS 26.114); see docs/voice.md for the measured quality.
inline constexpr AmrWbMode amr_wb_default_mode = AmrWbMode::kbps_12_65;

// Frame types that carry no speech mode (TS 26.201 Table 1a; FT 10..13 are reserved).
inline constexpr std::uint8_t amr_wb_ft_sid = 9;
inline constexpr std::uint8_t amr_wb_ft_speech_lost = 14;
inline constexpr std::uint8_t amr_wb_ft_no_data = 15;
// CMR value meaning "no mode request" (RFC 4867 section 4.3.1).
inline constexpr std::uint8_t amr_wb_cmr_no_request = 15;

// Number of speech (or SID) bits carried by a frame type, nullopt for reserved or invalid FT
// (RFC 4867 Table 1a / TS 26.201 Table 1a: 132, 177, 253, 285, 317, 365, 397, 461, 477, SID 40).
std::optional<std::size_t> amr_wb_speech_bits(std::uint8_t frame_type);
// The same, rounded up to whole octets (octet-aligned mode, RFC 4867 section 4.4.3).
std::optional<std::size_t> amr_wb_speech_octets(std::uint8_t frame_type);

// One 20 ms AMR-WB frame.
struct AmrWbFrame {
    std::uint8_t frame_type = amr_wb_ft_no_data;  // FT: 0..9, 14 or 15
    bool quality_ok = true;                       // Q bit: false = damaged, decoded as lost
    std::vector<std::uint8_t> speech;  // amr_wb_speech_octets(frame_type) octets, zero-padded

    bool operator==(const AmrWbFrame&) const = default;
};

// A NO_DATA frame (FT=15): nothing was sent for this 20 ms, e.g. silence before the first talk
// burst or after the floor is released.
AmrWbFrame amr_wb_no_data_frame();

class AmrWbEncoder {
  public:
    static Result<AmrWbEncoder> create(AmrWbMode mode = amr_wb_default_mode);
    AmrWbEncoder(AmrWbEncoder&&) noexcept = default;
    AmrWbEncoder& operator=(AmrWbEncoder&&) noexcept = default;
    ~AmrWbEncoder() = default;

    AmrWbMode mode() const { return mode_; }
    void set_mode(AmrWbMode mode) { mode_ = mode; }

    // Encodes exactly amr_wb_samples_per_frame samples of 16 kHz mono PCM. DTX is off: every
    // call yields a speech frame of the current mode.
    Result<AmrWbFrame> encode(std::span<const std::int16_t> pcm);

  private:
    struct StateDeleter {
        void operator()(void* state) const;
    };
    AmrWbEncoder(void* state, AmrWbMode mode) : state_(state), mode_(mode) {}
    std::unique_ptr<void, StateDeleter> state_;
    AmrWbMode mode_;
};

using PcmFrame = std::array<std::int16_t, amr_wb_samples_per_frame>;

class AmrWbDecoder {
  public:
    static Result<AmrWbDecoder> create();
    AmrWbDecoder(AmrWbDecoder&&) noexcept = default;
    AmrWbDecoder& operator=(AmrWbDecoder&&) noexcept = default;
    ~AmrWbDecoder() = default;

    // Decodes one frame into 20 ms of 16 kHz PCM. SID, NO_DATA, SPEECH_LOST and frames with
    // Q=0 give the decoder's comfort noise / concealment. Fails only on an inconsistent frame
    // (reserved FT or a speech size that does not match FT).
    Result<PcmFrame> decode(const AmrWbFrame& frame);
    // 20 ms of concealment for a frame that never arrived (gap in RTP sequence numbers).
    PcmFrame decode_lost();

  private:
    struct StateDeleter {
        void operator()(void* state) const;
    };
    explicit AmrWbDecoder(void* state) : state_(state) {}
    std::unique_ptr<void, StateDeleter> state_;
};

// Whole-signal helpers: split pcm into 20 ms frames (the last one zero-padded) and encode each;
// decode a frame sequence back into one PCM signal.
Result<std::vector<AmrWbFrame>> encode_speech(std::span<const std::int16_t> pcm,
                                              AmrWbMode mode = amr_wb_default_mode);
Result<std::vector<std::int16_t>> decode_speech(std::span<const AmrWbFrame> frames);

// RTP payload, RFC 4867 section 4.4 octet-aligned mode, one frame: CMR octet (CMR=15, reserved
// bits 0), ToC octet (F=0, FT, Q, two zero padding bits), then the speech octets.
std::vector<std::uint8_t> to_rtp_payload(const AmrWbFrame& frame);
// The payload of a NO_DATA frame (CMR octet + ToC FT=15): two octets.
std::vector<std::uint8_t> no_data_rtp_payload();

// Parses an octet-aligned payload holding exactly one frame. CMR and reserved/padding bits are
// ignored (RFC 4867 4.3.1, 4.4.2: "MUST be ignored by the receiver"). Rejected as malformed:
// fewer than 2 octets, reserved FT 10..13, a length that does not match FT. A payload with F=1
// (several frames) is rejected as unsupported; use from_rtp_payload_frames for those.
Result<AmrWbFrame> from_rtp_payload(std::span<const std::uint8_t> payload);
// Parses an octet-aligned payload with one or more frames (ToC list until F=0, then the frames'
// speech octets in ToC order, RFC 4867 4.4.5.1). Same rejections as above.
Result<std::vector<AmrWbFrame>> from_rtp_payload_frames(std::span<const std::uint8_t> payload);

}  // namespace mcx::media
