#pragma once
// MCPTT floor control messages (TS 24.380 clause 8.2): RTCP APP packets (PT 204) with name
// "MCPT", a 5-bit subtype whose top bit asks for a Floor Ack, and TLV fields padded to 32 bits.
// Pure codec: no sockets. Field coding per TS 24.380 8.2.3; see docs/floor-control.md.
// Field IDs below 192 carry a 1-octet length (all of ours); IDs from 192 on carry 2 octets.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace mcx::proto::floor {

// TS 24.380 Table 8.2.2-1 (message types of the "MCPT" name).
enum class MessageType : std::uint8_t {
    floor_request = 0,
    floor_granted = 1,
    floor_taken = 2,
    floor_deny = 3,
    floor_release = 4,
    floor_idle = 5,
    floor_revoke = 6,
    floor_queue_position_request = 8,
    floor_queue_position_info = 9,
    floor_ack = 10,
};

inline constexpr std::array kMessageTypes{
    MessageType::floor_request,
    MessageType::floor_granted,
    MessageType::floor_taken,
    MessageType::floor_deny,
    MessageType::floor_release,
    MessageType::floor_idle,
    MessageType::floor_revoke,
    MessageType::floor_queue_position_request,
    MessageType::floor_queue_position_info,
    MessageType::floor_ack,
};

const char* to_string(MessageType type);

// Table 8.2.2-1 gives an acknowledgement-required variant ('x' in the subtype) only for Floor
// Granted, Taken, Deny, Release, Idle and Queue Position Info.
bool ack_allowed(MessageType type);

// Field 10, Source (TS 24.380 8.2.3.12).
enum class Source : std::uint16_t {
    floor_participant = 0,
    participating_function = 1,
    controlling_function = 2,
    non_controlling_function = 3,
};

// Field 2, Reject Cause: a cause code (Floor Deny: 8.2.6.2; Floor Revoke: 8.2.10.2) and an
// optional UTF-8 reject phrase.
struct RejectCause {
    std::uint16_t code = 0;
    std::string phrase;
    bool operator==(const RejectCause&) const = default;
};

// Floor Deny causes (TS 24.380 8.2.6.2).
namespace deny_cause {
inline constexpr std::uint16_t another_client_has_permission = 1;
inline constexpr std::uint16_t internal_server_error = 2;
inline constexpr std::uint16_t only_one_participant = 3;
inline constexpr std::uint16_t retry_after_timer_not_expired = 4;
inline constexpr std::uint16_t receive_only = 5;
inline constexpr std::uint16_t no_resources = 6;
inline constexpr std::uint16_t queue_full = 7;
inline constexpr std::uint16_t other = 255;
}  // namespace deny_cause

// Floor Revoke causes (TS 24.380 8.2.10.2).
namespace revoke_cause {
inline constexpr std::uint16_t only_one_client = 1;
inline constexpr std::uint16_t media_burst_too_long = 2;
inline constexpr std::uint16_t no_permission = 3;
inline constexpr std::uint16_t media_burst_preempted = 4;
inline constexpr std::uint16_t no_resources = 6;
inline constexpr std::uint16_t other = 255;
}  // namespace revoke_cause

// Field 3, Queue Info: position in the queue and the queue priority level.
struct QueueInfo {
    std::uint8_t position = 0;
    std::uint8_t priority = 0;
    bool operator==(const QueueInfo&) const = default;
};

// Field 11, Track Info (TS 24.380 8.2.3.13): added by a participating function in the path.
struct TrackInfo {
    std::uint8_t queueing_capability = 0;  // 0: not supported, 1: supported
    std::string participant_type;
    std::vector<std::uint32_t> floor_participant_references;
    bool operator==(const TrackInfo&) const = default;
};

// Field 13, Floor Indicator bits (TS 24.380 8.2.3.15).
namespace floor_indicator {
inline constexpr std::uint16_t normal_call = 0x8000;
inline constexpr std::uint16_t broadcast_group_call = 0x4000;
inline constexpr std::uint16_t system_call = 0x2000;
inline constexpr std::uint16_t emergency_call = 0x1000;
inline constexpr std::uint16_t imminent_peril_call = 0x0800;
inline constexpr std::uint16_t queueing_supported = 0x0400;
inline constexpr std::uint16_t dual_floor = 0x0200;
}  // namespace floor_indicator

struct FloorMessage {
    MessageType type = MessageType::floor_request;
    bool ack_required = false;  // top bit of the 5-bit subtype
    std::uint32_t ssrc = 0;     // SSRC of the packet sender

    std::optional<std::uint8_t> floor_priority;            // field 0
    std::optional<std::uint16_t> duration;                 // field 1, seconds
    std::optional<RejectCause> reject_cause;               // field 2
    std::optional<QueueInfo> queue_info;                   // field 3
    std::optional<std::string> granted_party_identity;     // field 4
    std::optional<bool> permission_to_request;             // field 5
    std::optional<std::string> user_id;                    // field 6
    std::optional<std::uint16_t> queue_size;               // field 7
    std::optional<std::uint16_t> message_sequence_number;  // field 8
    std::optional<std::string> queued_user_id;             // field 9
    std::optional<Source> source;                          // field 10
    std::optional<TrackInfo> track_info;                   // field 11
    std::optional<MessageType> acknowledged_type;          // field 12, Message Type
    std::optional<std::uint16_t> floor_indicator;          // field 13
    std::optional<std::uint32_t> granted_ssrc;             // field 14, SSRC

    bool operator==(const FloorMessage&) const = default;
};

// One RTCP APP packet, byte-exact, each field padded to 32 bits. Fields follow the order of the
// message's table in TS 24.380 8.2.4 to 8.2.13 (Floor Granted: Duration before Floor Priority);
// fields that table does not list follow in ascending ID order. A value longer than its 1-octet
// length allows is cut to fit (see check_encodable).
std::vector<std::uint8_t> encode(const FloorMessage& message);

// Fails, with a reason, when encode() would have to cut a value (a URI over 255 octets, a reject
// phrase over 253, a Track Info over 255 in all), or when ack_required is set on a type without
// an acknowledgement variant (Table 8.2.2-1).
Result<void> check_encodable(const FloorMessage& message);

// Decodes one APP packet that fills `packet` exactly. Rejects, with a reason, anything that is
// not V=2 / P=0 / PT=204 / name "MCPT", a length field that disagrees with the packet, a field
// that runs past the end, an unknown message type, and a field of the wrong length or with a
// value the model cannot hold. Accepts fields in any order; a repeated field keeps its first
// value. Skips unknown field IDs, tolerates non-zero padding and one all-zero trailing word.
// Never reads outside `packet`.
Result<FloorMessage> decode(std::span<const std::uint8_t> packet);

// A UDP datagram may carry several APP packets back to back (TS 24.380 8.1.1); each is
// decoded, and the first failure fails the whole datagram.
Result<std::vector<FloorMessage>> decode_datagram(std::span<const std::uint8_t> datagram);

}  // namespace mcx::proto::floor
