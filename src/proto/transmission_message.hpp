#pragma once
// MCVideo transmission control messages (TS 24.581 clause 9, Rel-18): RTCP APP packets (PT 204)
// named "MCV0" (sent by the transmission participant), "MCV1" (sent by the transmission control
// server) or "MCV2" (sent by either), a 5-bit subtype whose top bit asks for a Transmission
// Control Ack, and TLV fields padded to 32 bits. Pure codec: no sockets. The same framing as
// the MCPTT floor codec (proto/floor_message.hpp); decisions and sources in docs/mcvideo.md.
// Every field carries a 1-octet length (TS 24.581 9.2.3.1; no 2-octet form is known here).

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace mcx::proto::transmission {

// The APP name (TS 24.581 9.1.2): which side may send the message.
enum class Name : std::uint8_t {
    mcv0 = 0,  // transmission participant -> transmission control server
    mcv1 = 1,  // transmission control server -> transmission participant
    mcv2 = 2,  // either direction
};

const char* to_string(Name name);  // "MCV0", "MCV1", "MCV2"

// The messages a private call with transmission control uses (TS 24.581 Tables 9.2.2.1-1 to
// 9.2.2.1-3). The value is the APP name in the high nibble and the 4-bit type code in the low
// nibble, so that one enum covers the three code spaces. Other codes are not modelled.
enum class MessageType : std::uint8_t {
    // MCV0, Table 9.2.2.1-1
    transmission_request = 0x00,    // 9.2.4
    transmission_release = 0x02,    // 9.2.7
    queue_position_request = 0x03,  // 9.2.11
    receive_media_request = 0x04,   // 9.2.14
    // MCV1, Table 9.2.2.1-2
    transmission_granted = 0x10,              // 9.2.5
    transmission_rejected = 0x11,             // 9.2.6
    transmission_arbitration_taken = 0x12,    // 9.2.8
    transmission_arbitration_release = 0x13,  // 9.2.9
    transmission_revoked = 0x14,              // 9.2.10
    queue_position_info = 0x15,               // 9.2.12
    media_transmission_notification = 0x16,   // 9.2.13
    receive_media_response = 0x17,            // 9.2.15
    transmission_end_notify = 0x1E,           // 9.2.29
    transmission_idle = 0x1F,                 // 9.2.30
    // MCV2, Table 9.2.2.1-3
    transmission_end_request = 0x20,      // 9.2.20
    transmission_end_response = 0x21,     // 9.2.21
    media_reception_end_request = 0x22,   // 9.2.26
    media_reception_end_response = 0x23,  // 9.2.27
    transmission_control_ack = 0x24,      // 9.2.31
};

inline constexpr std::array kMessageTypes{
    MessageType::transmission_request,
    MessageType::transmission_release,
    MessageType::queue_position_request,
    MessageType::receive_media_request,
    MessageType::transmission_granted,
    MessageType::transmission_rejected,
    MessageType::transmission_arbitration_taken,
    MessageType::transmission_arbitration_release,
    MessageType::transmission_revoked,
    MessageType::queue_position_info,
    MessageType::media_transmission_notification,
    MessageType::receive_media_response,
    MessageType::transmission_end_notify,
    MessageType::transmission_idle,
    MessageType::transmission_end_request,
    MessageType::transmission_end_response,
    MessageType::media_reception_end_request,
    MessageType::media_reception_end_response,
    MessageType::transmission_control_ack,
};

const char* to_string(MessageType type);

Name name_of(MessageType type);
std::uint8_t type_code(MessageType type);  // the 4-bit code within its name

// The modelled message with that name and 4-bit code, if any.
std::optional<MessageType> message_type(Name name, std::uint8_t code);

// Whether the 'x' (acknowledgement required) bit may be set. Only the Transmission Request's
// ack variant was read in the spec (36.579-1 5.5.11.1.1 quotes "10000"); we allow it on every
// type but the Transmission Control Ack itself ([mcx-defined], docs/mcvideo.md).
bool ack_allowed(MessageType type);

// Table 9.2.3.1-1: transmission control specific fields.
enum class FieldId : std::uint8_t {
    transmission_priority = 0,
    duration = 1,
    reject_cause = 2,
    queue_info = 3,
    transmitting_user_id = 4,  // "User ID of the Transmitting User"
    permission_to_request = 5,
    user_id = 6,
    queue_size = 7,
    message_sequence_number = 8,
    queued_user_id = 9,
    source = 10,
    track_info = 11,
    message_type = 12,
    transmission_indicator = 13,
    audio_ssrc = 14,  // "Audio SSRC of the Transmitting User"
    result = 15,
    message_name = 16,
    reception_priority = 19,
    functional_alias = 21,
    reception_mode = 22,
    // "Video SSRC of the Transmitting User": 24 in the Rel-18.5 Wireshark dissector, 23 in one
    // implementation. Not settled against the table itself [U]; kept in this one place.
    video_ssrc = 24,
};

// Whether the message's clause (9.2.4 to 9.2.31) lists that field. The encoder writes any
// present field; check_encodable() reports one the clause does not list.
bool field_allowed(MessageType type, FieldId id);

// Field 10, Source (9.2.3.12).
enum class Source : std::uint16_t {
    transmission_participant = 0,
    participating_function = 1,
    controlling_function = 2,
    non_controlling_function = 3,
};

// Field 22, Reception Mode.
enum class ReceptionMode : std::uint16_t {
    automatic = 0,
    manual = 1,
};

// Field 2, Reject Cause: a cause code and an optional UTF-8 reject phrase. The code table
// depends on the message (Rejected 9.2.6.2, Revoked 9.2.10.2, Receive Media Response 9.2.15.2).
struct RejectCause {
    std::uint16_t code = 0;
    std::string phrase;
    bool operator==(const RejectCause&) const = default;
};

// Transmission Rejected causes (9.2.6.2).
namespace reject_cause {
inline constexpr std::uint16_t transmission_limit_reached = 1;
inline constexpr std::uint16_t internal_server_error = 2;
inline constexpr std::uint16_t only_one_participant = 3;
inline constexpr std::uint16_t retry_after_timer_not_expired = 4;
inline constexpr std::uint16_t receive_only = 5;
inline constexpr std::uint16_t no_resources = 6;
inline constexpr std::uint16_t other = 255;
}  // namespace reject_cause

// Transmission Revoked causes (9.2.10.2).
namespace revoke_cause {
inline constexpr std::uint16_t only_one_client = 1;
inline constexpr std::uint16_t media_burst_too_long = 2;
inline constexpr std::uint16_t no_permission = 3;
inline constexpr std::uint16_t media_burst_preempted = 4;
inline constexpr std::uint16_t terminate_rtp_stream = 5;
inline constexpr std::uint16_t no_resources = 6;
inline constexpr std::uint16_t queue_the_transmission = 7;
inline constexpr std::uint16_t no_receiving_participant = 8;
inline constexpr std::uint16_t other = 255;
}  // namespace revoke_cause

// Receive Media Response causes when the Result is "rejected" (9.2.15.2).
namespace receive_media_cause {
inline constexpr std::uint16_t internal_server_error = 2;
inline constexpr std::uint16_t retry_after_timer_not_expired = 4;
inline constexpr std::uint16_t send_only = 5;
inline constexpr std::uint16_t no_resources = 6;
inline constexpr std::uint16_t max_simultaneous_streams = 7;
inline constexpr std::uint16_t other = 255;
}  // namespace receive_media_cause

// Field 3, Queue Info: position in the queue and the queue priority level.
struct QueueInfo {
    std::uint8_t position = 0;  // 254: not queued, 255: position unknown
    std::uint8_t priority = 0;
    bool operator==(const QueueInfo&) const = default;
};

// Field 11, Track Info (9.2.3.13): added by a participating function in the path.
struct TrackInfo {
    std::uint8_t queueing_capability = 0;  // 0: not supported, 1: supported
    std::string participant_type;
    std::vector<std::uint32_t> participant_references;
    bool operator==(const TrackInfo&) const = default;
};

// Field 13, Transmission Indicator bits.
namespace transmission_indicator {
inline constexpr std::uint16_t normal_call = 0x8000;
inline constexpr std::uint16_t broadcast_group_call = 0x4000;
inline constexpr std::uint16_t system_call = 0x2000;
inline constexpr std::uint16_t emergency_call = 0x1000;
inline constexpr std::uint16_t imminent_peril_call = 0x0800;
}  // namespace transmission_indicator

struct TransmissionMessage {
    MessageType type = MessageType::transmission_request;
    bool ack_required = false;  // top bit of the 5-bit subtype
    std::uint32_t ssrc = 0;     // SSRC of the packet sender

    std::optional<std::uint8_t> transmission_priority;     // field 0
    std::optional<std::uint16_t> duration;                 // field 1, seconds
    std::optional<RejectCause> reject_cause;               // field 2
    std::optional<QueueInfo> queue_info;                   // field 3
    std::optional<std::string> transmitting_user_id;       // field 4
    std::optional<bool> permission_to_request;             // field 5
    std::optional<std::string> user_id;                    // field 6
    std::optional<std::uint16_t> queue_size;               // field 7
    std::optional<std::uint16_t> message_sequence_number;  // field 8
    std::optional<std::string> queued_user_id;             // field 9
    std::optional<Source> source;                          // field 10
    std::optional<TrackInfo> track_info;                   // field 11
    // Fields 12 and 16 of a Transmission Control Ack name the acknowledged message: its 4-bit
    // type code and its APP name (the code alone is ambiguous across names).
    std::optional<std::uint8_t> acknowledged_type;        // field 12, Message Type
    std::optional<std::uint16_t> transmission_indicator;  // field 13
    std::optional<std::uint32_t> audio_ssrc;              // field 14
    std::optional<bool> result;                           // field 15, true: granted
    std::optional<Name> acknowledged_name;                // field 16, Message Name
    std::optional<std::uint8_t> reception_priority;       // field 19
    std::optional<std::string> functional_alias;          // field 21
    std::optional<ReceptionMode> reception_mode;          // field 22
    std::optional<std::uint32_t> video_ssrc;              // FieldId::video_ssrc [U]

    bool operator==(const TransmissionMessage&) const = default;
};

// The message a Transmission Control Ack acknowledges, when fields 12 and 16 name a modelled one.
std::optional<MessageType> acknowledged_message(const TransmissionMessage& ack);

// One RTCP APP packet, byte-exact, each field padded to 32 bits, fields in ascending ID order
// (the order of the message tables was not read; see docs/mcvideo.md). A value longer than its
// 1-octet length allows is cut to fit (see check_encodable).
std::vector<std::uint8_t> encode(const TransmissionMessage& message);

// Fails, with a reason, when encode() would have to cut a value (a URI over 255 octets, a reject
// phrase over 253, a Track Info over 255 in all), when ack_required is set on a type without an
// acknowledgement variant, when the Ack's code is above 15, or when a present field is one the
// message's clause does not list.
Result<void> check_encodable(const TransmissionMessage& message);

// Decodes one APP packet that fills `packet` exactly. Rejects, with a reason, anything that is
// not V=2 / P=0 / PT=204, a length field that disagrees with the packet, a name other than
// MCV0/MCV1/MCV2, a type code that name does not assign (Errc::unsupported for codes assigned
// but not modelled, and for "MCV3"), a field that or whose padding runs past the end, and a field
// of the wrong length or with a value the model cannot hold. Accepts fields in any order and on
// any type; a repeated field keeps its first value. Skips unknown field IDs (and known IDs this
// codec does not model: 17, 18, 20, 23), tolerates non-zero padding and one all-zero trailing
// word. Never reads outside `packet`.
Result<TransmissionMessage> decode(std::span<const std::uint8_t> packet);

// A UDP datagram may carry several APP packets back to back (9.1.1); each is decoded, and the
// first failure fails the whole datagram.
Result<std::vector<TransmissionMessage>> decode_datagram(std::span<const std::uint8_t> datagram);

}  // namespace mcx::proto::transmission
