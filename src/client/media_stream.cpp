#include "client/media_stream.hpp"

#include <utility>

namespace mcx::client {

namespace {
constexpr std::uint32_t kSamplesPer20ms = 320;  // 16 kHz clock
}

Result<std::unique_ptr<MediaStream>> MediaStream::open(const std::string& host,
                                                       PacketObserver on_packet, PcmSink pcm) {
    std::unique_ptr<MediaStream> self(new MediaStream());
    auto* raw = self.get();
    auto rtp = net::RtpSession::open(
        host, [raw](const net::Ipv4Endpoint&, const net::RtpPacket& p) { raw->on_packet(p); });
    if (!rtp) return tl::unexpected(rtp.error());
    self->rtp_ = std::move(*rtp);
    self->on_packet_ = std::move(on_packet);
    if (pcm) {
        auto decoder = media::AmrWbDecoder::create();
        if (!decoder) return tl::unexpected(decoder.error());
        self->decoder_ = std::make_unique<media::AmrWbDecoder>(std::move(*decoder));
        self->pcm_ = std::move(pcm);
    }
    return self;
}

MediaStream::~MediaStream() = default;

void MediaStream::stop() {
    pacer_.cancel();
    outgoing_.clear();
    on_drained_ = nullptr;
    if (auto fn = std::exchange(after_frame_, nullptr)) fn();
}

void MediaStream::after_next_frame(std::function<void()> fn) {
    if (!pacer_.running()) {
        fn();
        return;
    }
    after_frame_ = std::move(fn);
}

void MediaStream::queue(std::span<const std::vector<std::uint8_t>> payloads,
                        std::function<void()> on_drained) {
    outgoing_.insert(outgoing_.end(), payloads.begin(), payloads.end());
    if (on_drained) on_drained_ = std::move(on_drained);
    if (pacer_.running()) return;
    next_send_ms_ = net::monotonic_ms();
    pace();
}

// One payload per 20 ms on a fixed schedule (no drift), while the gate is open.
void MediaStream::pace() {
    if (may_send_ && !may_send_()) {
        outgoing_.clear();  // permission lost: stop talking
        on_drained_ = nullptr;
        burst_start_ = true;
        if (auto fn = std::exchange(after_frame_, nullptr)) fn();
        return;
    }
    if (outgoing_.empty()) {
        burst_start_ = true;
        if (auto fn = std::exchange(after_frame_, nullptr)) fn();
        if (auto drained = std::move(on_drained_)) {
            on_drained_ = nullptr;
            drained();  // may destroy this stream (a release): nothing after this
        }
        return;
    }
    if (rtp_->send(remote_, kAmrWbPayloadType, burst_start_, timestamp_, outgoing_.front())) {
        ++sent_;
    }
    burst_start_ = false;
    outgoing_.pop_front();
    timestamp_ += kSamplesPer20ms;
    next_send_ms_ += 20;
    const auto now = net::monotonic_ms();
    const auto delay = next_send_ms_ > now ? next_send_ms_ - now : 0;
    pacer_.start(std::chrono::milliseconds(delay), [this] { pace(); });
    if (auto fn = std::exchange(after_frame_, nullptr)) fn();  // may destroy this stream
}

Result<std::uint32_t> MediaStream::send_now(std::span<const std::uint8_t> payload, bool marker) {
    const auto timestamp = timestamp_;
    auto sent = rtp_->send(remote_, kAmrWbPayloadType, marker, timestamp, payload);
    timestamp_ += kSamplesPer20ms;
    if (!sent) return tl::unexpected(sent.error());
    ++sent_;
    return timestamp;
}

void MediaStream::on_packet(const net::RtpPacket& packet) {
    ++received_;
    if (on_packet_) on_packet_(packet);
    if (!decoder_) return;
    // Frames missing between two packets are concealed so the recording keeps its timeline.
    if (last_sequence_ && !packet.marker) {
        const auto gap = static_cast<std::uint16_t>(packet.sequence - *last_sequence_ - 1);
        if (gap > 0 && gap < 50) {
            frames_lost_ += gap;
            for (unsigned i = 0; i < gap; ++i) pcm_(decoder_->decode_lost());
        }
    }
    last_sequence_ = packet.sequence;
    auto frame = media::from_rtp_payload(packet.payload);
    if (!frame) {
        ++frames_lost_;
        return;
    }
    if (frame->frame_type == media::amr_wb_ft_no_data) return;
    if (auto pcm = decoder_->decode(*frame)) pcm_(*pcm);
}

}  // namespace mcx::client
