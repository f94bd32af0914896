#pragma once
// The voice of one call leg: an RTP session (RFC 3550) sending AMR-WB payloads (RFC 4867,
// octet-aligned) paced one per 20 ms, and receiving, counting and (when recording) decoding
// what arrives, with lost frames concealed so a recording keeps its timeline (docs/voice.md).

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "media/amr_wb.hpp"
#include "net/endpoint.hpp"
#include "net/rtp_session.hpp"
#include "net/timer.hpp"

namespace mcx::client {

inline constexpr std::uint8_t kAmrWbPayloadType = 96;

class MediaStream {
  public:
    using PacketObserver = std::function<void(const net::RtpPacket&)>;
    using PcmSink = std::function<void(std::span<const std::int16_t>)>;

    // `pcm`: where decoded speech goes; empty: received packets are only counted.
    static Result<std::unique_ptr<MediaStream>> open(const std::string& host,
                                                     PacketObserver on_packet, PcmSink pcm);
    ~MediaStream();
    MediaStream(const MediaStream&) = delete;
    MediaStream& operator=(const MediaStream&) = delete;

    std::uint16_t rtp_port() const { return rtp_->rtp_port(); }
    std::uint32_t ssrc() const { return rtp_->ssrc(); }
    void set_remote(net::Ipv4Endpoint remote) { remote_ = remote; }
    const net::Ipv4Endpoint& remote() const { return remote_; }

    // Whether a queued payload may leave now (floor control: permission to send media). A
    // closed gate drops what is queued: the talk burst ends.
    void set_gate(std::function<bool()> may_send) { may_send_ = std::move(may_send); }
    // Queues payloads (one per 20 ms); `on_drained` runs once the last of them has left.
    void queue(std::span<const std::vector<std::uint8_t>> payloads,
               std::function<void()> on_drained = {});
    bool sending() const { return pacer_.running(); }
    // Runs `fn` right after the next payload has left (at once when nothing is being sent):
    // a call released then has lost no frame that was due. `fn` may destroy this stream.
    void after_next_frame(std::function<void()> fn);
    // One payload now (measurement hooks); returns its RTP timestamp.
    Result<std::uint32_t> send_now(std::span<const std::uint8_t> payload, bool marker);
    void stop();  // stops pacing; received packets are still counted until destroyed

    std::uint64_t sent() const { return sent_; }
    std::uint64_t received() const { return received_; }
    std::uint64_t frames_lost() const { return frames_lost_; }

  private:
    MediaStream() = default;
    void pace();
    void on_packet(const net::RtpPacket& packet);

    std::unique_ptr<net::RtpSession> rtp_;
    net::Ipv4Endpoint remote_;
    std::function<bool()> may_send_;
    PacketObserver on_packet_;
    PcmSink pcm_;
    std::unique_ptr<media::AmrWbDecoder> decoder_;
    std::deque<std::vector<std::uint8_t>> outgoing_;
    std::function<void()> on_drained_;
    std::function<void()> after_frame_;
    bool burst_start_ = true;  // RTP marker bit on the first packet of a talk burst
    std::uint64_t next_send_ms_ = 0;
    std::uint32_t timestamp_ = 0;
    net::Timer pacer_;
    std::optional<std::uint16_t> last_sequence_;
    std::uint64_t sent_ = 0;
    std::uint64_t received_ = 0;
    std::uint64_t frames_lost_ = 0;
};

}  // namespace mcx::client
