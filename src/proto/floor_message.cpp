// MCPTT floor control codec, TS 24.380 clause 8.2 (see docs/floor-control.md).
#include "proto/floor_message.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

namespace mcx::proto::floor {

namespace {

// TS 24.380 8.1.2 / RFC 3550 6.7: the common 12-octet head of every APP packet.
constexpr std::size_t kHeaderSize = 12;
constexpr std::uint8_t kVersion2 = 0x80;        // V=2 in the top two bits of octet 0
constexpr std::uint8_t kPaddingBit = 0x20;      // P, always '0' here (8.1.2)
constexpr std::uint8_t kSubtypeMask = 0x1f;     // 5-bit subtype
constexpr std::uint8_t kAckRequiredBit = 0x10;  // the 'x' of Table 8.2.2-1
constexpr std::uint8_t kTypeMask = 0x0f;
constexpr std::uint8_t kPacketTypeApp = 204;
constexpr std::array<std::uint8_t, 4> kName = {'M', 'C', 'P', 'T'};

// A 1-octet field length caps the value at 255 octets (8.2.3.1).
constexpr std::size_t kMaxValueSize = 255;
constexpr std::size_t kRejectCauseCodeSize = 2;
constexpr std::size_t kTrackInfoHeadSize = 2;  // queueing capability + participant type length
constexpr std::size_t kFloorParticipantReferenceSize = 4;

// Table 8.2.3.1-2: floor control specific fields.
enum class FieldId : std::uint8_t {
    floor_priority = 0,
    duration = 1,
    reject_cause = 2,
    queue_info = 3,
    granted_party_identity = 4,
    permission_to_request = 5,
    user_id = 6,
    queue_size = 7,
    message_sequence_number = 8,
    queued_user_id = 9,
    source = 10,
    track_info = 11,
    message_type = 12,
    floor_indicator = 13,
    ssrc = 14,
};
constexpr std::uint8_t kFieldCount = 15;
constexpr std::uint8_t kFirstTwoOctetLengthId = 192;

using F = FieldId;

// Field order of each message's table (TS 24.380 8.2.4.1 to 8.2.13.1). Off-network fields
// (User ID, SSRC, Queue Size, Queued User ID) sit where the tables put them.
std::span<const FieldId> spec_field_order(MessageType type) {
    static constexpr FieldId request[] = {F::floor_priority, F::user_id, F::track_info,
                                          F::floor_indicator};
    static constexpr FieldId granted[] = {F::duration,   F::ssrc,       F::floor_priority,
                                          F::user_id,    F::queue_size, F::queued_user_id,
                                          F::queue_info, F::track_info, F::floor_indicator};
    static constexpr FieldId deny[] = {F::reject_cause, F::user_id, F::track_info,
                                       F::floor_indicator};
    static constexpr FieldId release[] = {F::user_id, F::track_info, F::floor_indicator};
    static constexpr FieldId idle[] = {F::message_sequence_number, F::track_info,
                                       F::floor_indicator};
    static constexpr FieldId taken[] = {F::granted_party_identity,
                                        F::permission_to_request,
                                        F::user_id,
                                        F::message_sequence_number,
                                        F::track_info,
                                        F::floor_indicator,
                                        F::ssrc};
    static constexpr FieldId revoke[] = {F::reject_cause, F::track_info, F::floor_indicator};
    static constexpr FieldId queue_position_request[] = {F::user_id, F::track_info};
    static constexpr FieldId queue_position_info[] = {
        F::user_id, F::ssrc, F::queued_user_id, F::queue_info, F::track_info, F::floor_indicator};
    static constexpr FieldId ack[] = {F::source, F::message_type, F::track_info};
    switch (type) {
        case MessageType::floor_request:
            return request;
        case MessageType::floor_granted:
            return granted;
        case MessageType::floor_taken:
            return taken;
        case MessageType::floor_deny:
            return deny;
        case MessageType::floor_release:
            return release;
        case MessageType::floor_idle:
            return idle;
        case MessageType::floor_revoke:
            return revoke;
        case MessageType::floor_queue_position_request:
            return queue_position_request;
        case MessageType::floor_queue_position_info:
            return queue_position_info;
        case MessageType::floor_ack:
            return ack;
    }
    return {};
}

std::size_t round_up_to_word(std::size_t size) {
    return (size + 3) & ~std::size_t{3};
}

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t value) {
    put_u16(out, static_cast<std::uint16_t>(value >> 16));
    put_u16(out, static_cast<std::uint16_t>(value));
}

void put_text(std::vector<std::uint8_t>& out, std::string_view text, std::size_t max_size) {
    text = text.substr(0, max_size);
    out.insert(out.end(), text.begin(), text.end());
}

std::uint16_t get_u16(const std::uint8_t* at) {
    return static_cast<std::uint16_t>((at[0] << 8) | at[1]);
}

std::uint32_t get_u32(const std::uint8_t* at) {
    return (std::uint32_t{get_u16(at)} << 16) | get_u16(at + 2);
}

// Participant Type length that fits one Track Info value (8.2.3.13).
std::size_t participant_type_size(const TrackInfo& info) {
    return std::min(info.participant_type.size(), kMaxValueSize - kTrackInfoHeadSize - 1);
}

std::size_t reference_count(const TrackInfo& info) {
    const auto room =
        kMaxValueSize - kTrackInfoHeadSize - round_up_to_word(participant_type_size(info));
    return std::min(info.floor_participant_references.size(),
                    room / kFloorParticipantReferenceSize);
}

bool is_present(const FloorMessage& m, FieldId id) {
    switch (id) {
        case F::floor_priority:
            return m.floor_priority.has_value();
        case F::duration:
            return m.duration.has_value();
        case F::reject_cause:
            return m.reject_cause.has_value();
        case F::queue_info:
            return m.queue_info.has_value();
        case F::granted_party_identity:
            return m.granted_party_identity.has_value();
        case F::permission_to_request:
            return m.permission_to_request.has_value();
        case F::user_id:
            return m.user_id.has_value();
        case F::queue_size:
            return m.queue_size.has_value();
        case F::message_sequence_number:
            return m.message_sequence_number.has_value();
        case F::queued_user_id:
            return m.queued_user_id.has_value();
        case F::source:
            return m.source.has_value();
        case F::track_info:
            return m.track_info.has_value();
        case F::message_type:
            return m.acknowledged_type.has_value();
        case F::floor_indicator:
            return m.floor_indicator.has_value();
        case F::ssrc:
            return m.granted_ssrc.has_value();
    }
    return false;
}

// The value octets of a present field (8.2.3.2 to 8.2.3.16).
std::vector<std::uint8_t> field_value(const FloorMessage& m, FieldId id) {
    std::vector<std::uint8_t> value;
    switch (id) {
        case F::floor_priority:  // 8.2.3.2: priority, spare octet
            value = {*m.floor_priority, 0};
            break;
        case F::duration:  // 8.2.3.3: seconds
            put_u16(value, *m.duration);
            break;
        case F::reject_cause:  // 8.2.3.4: cause, optional phrase
            put_u16(value, m.reject_cause->code);
            put_text(value, m.reject_cause->phrase, kMaxValueSize - kRejectCauseCodeSize);
            break;
        case F::queue_info:  // 8.2.3.5: position, priority
            value = {m.queue_info->position, m.queue_info->priority};
            break;
        case F::granted_party_identity:  // 8.2.3.6
            put_text(value, *m.granted_party_identity, kMaxValueSize);
            break;
        case F::permission_to_request:  // 8.2.3.7
            put_u16(value, *m.permission_to_request ? 1 : 0);
            break;
        case F::user_id:  // 8.2.3.8
            put_text(value, *m.user_id, kMaxValueSize);
            break;
        case F::queue_size:  // 8.2.3.9
            put_u16(value, *m.queue_size);
            break;
        case F::message_sequence_number:  // 8.2.3.10
            put_u16(value, *m.message_sequence_number);
            break;
        case F::queued_user_id:  // 8.2.3.11
            put_text(value, *m.queued_user_id, kMaxValueSize);
            break;
        case F::source:  // 8.2.3.12
            put_u16(value, static_cast<std::uint16_t>(*m.source));
            break;
        case F::track_info: {  // 8.2.3.13
            const auto& info = *m.track_info;
            const auto type_size = participant_type_size(info);
            value.push_back(info.queueing_capability);
            value.push_back(static_cast<std::uint8_t>(type_size));
            put_text(value, info.participant_type, type_size);
            value.resize(kTrackInfoHeadSize + round_up_to_word(type_size), 0);
            const auto count = reference_count(info);
            for (std::size_t i = 0; i < count; ++i) {
                put_u32(value, info.floor_participant_references[i]);
            }
            break;
        }
        case F::message_type:  // 8.2.3.14: acknowledged message type, spare octet
            value = {static_cast<std::uint8_t>(*m.acknowledged_type), 0};
            break;
        case F::floor_indicator:  // 8.2.3.15
            put_u16(value, *m.floor_indicator);
            break;
        case F::ssrc:  // 8.2.3.16: SSRC, 16 spare bits
            put_u32(value, *m.granted_ssrc);
            put_u16(value, 0);
            break;
    }
    return value;
}

// 8.2.3.1: ID, 1-octet length of the value, value, zero padding to the next 32-bit boundary.
void append_field(std::vector<std::uint8_t>& out, FieldId id,
                  const std::vector<std::uint8_t>& value) {
    out.push_back(static_cast<std::uint8_t>(id));
    out.push_back(static_cast<std::uint8_t>(value.size()));
    out.insert(out.end(), value.begin(), value.end());
    out.resize(round_up_to_word(out.size()), 0);
}

std::string field_name(std::uint8_t id) {
    static constexpr const char* names[kFieldCount] = {"Floor Priority",
                                                       "Duration",
                                                       "Reject Cause",
                                                       "Queue Info",
                                                       "Granted Party's Identity",
                                                       "Permission to Request the Floor",
                                                       "User ID",
                                                       "Queue Size",
                                                       "Message Sequence Number",
                                                       "Queued User ID",
                                                       "Source",
                                                       "Track Info",
                                                       "Message Type",
                                                       "Floor Indicator",
                                                       "SSRC"};
    std::string name = id < kFieldCount ? names[id] : "field";
    return name + " (ID " + std::to_string(id) + ")";
}

// Table 8.2.2-1: types 0 to 6 and 8 to 10.
bool is_known_type(std::uint8_t type) {
    return type <= 10 && type != 7;
}

// Table 8.2.2-1, and what this codec does with subtypes it does not model.
Result<MessageType> type_from_subtype(std::uint8_t subtype) {
    const std::uint8_t type = subtype & kTypeMask;
    if (!is_known_type(type)) {
        const auto number = std::to_string(type);
        if (type == 15) {
            return fail(Errc::unsupported,
                        "floor message type 15 (Floor Release Multi-talker, "
                        "a later TS 24.380 release) is not supported");
        }
        if (type == 7 || type == 11 || type == 14) {
            return fail(Errc::unsupported, "floor message type " + number +
                                               " (not in the TS 24.380 Table 8.2.2-1 this "
                                               "codec implements) is not supported");
        }
        return fail(Errc::malformed, "unknown floor message type " + number);
    }
    const auto message_type = static_cast<MessageType>(type);
    if ((subtype & kAckRequiredBit) && !ack_allowed(message_type)) {
        return fail(Errc::malformed, std::string(to_string(message_type)) +
                                         " has no acknowledgement-required subtype (TS 24.380 "
                                         "Table 8.2.2-1)");
    }
    return message_type;
}

Result<void> expect_size(std::uint8_t id, std::span<const std::uint8_t> value, std::size_t size) {
    if (value.size() != size) {
        return fail(Errc::malformed, field_name(id) + " has length " +
                                         std::to_string(value.size()) + ", expected " +
                                         std::to_string(size));
    }
    return {};
}

template <class T>
void keep_first(std::optional<T>& slot, T value) {
    if (!slot) slot = std::move(value);
}

std::string text_of(std::span<const std::uint8_t> bytes) {
    return std::string(bytes.begin(), bytes.end());
}

Result<TrackInfo> decode_track_info(std::span<const std::uint8_t> value) {
    if (value.size() < kTrackInfoHeadSize) {
        return fail(Errc::malformed, "Track Info (ID 11) is shorter than its 2 fixed octets");
    }
    TrackInfo info;
    info.queueing_capability = value[0];
    const std::size_t type_size = value[1];
    const auto padded_type_size = round_up_to_word(type_size);
    if (kTrackInfoHeadSize + padded_type_size > value.size()) {
        return fail(Errc::malformed,
                    "Track Info (ID 11): Participant Type and its padding run past the field");
    }
    info.participant_type = text_of(value.subspan(kTrackInfoHeadSize, type_size));
    const auto references = value.subspan(kTrackInfoHeadSize + padded_type_size);
    if (references.size() % kFloorParticipantReferenceSize != 0) {
        return fail(Errc::malformed, "Track Info (ID 11): " + std::to_string(references.size()) +
                                         " octets after the Participant Type are not whole "
                                         "32-bit Floor Participant References");
    }
    for (std::size_t at = 0; at < references.size(); at += kFloorParticipantReferenceSize) {
        info.floor_participant_references.push_back(get_u32(references.data() + at));
    }
    return info;
}

// Checks one field's value and stores it, unless an earlier field of that ID is kept.
Result<void> decode_field(std::uint8_t id, std::span<const std::uint8_t> value, FloorMessage& m) {
    if (id >= kFieldCount) return {};  // unknown field: skipped by its length
    switch (static_cast<FieldId>(id)) {
        case F::floor_priority: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            keep_first(m.floor_priority, value[0]);
            break;
        }
        case F::duration: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            keep_first(m.duration, get_u16(value.data()));
            break;
        }
        case F::reject_cause: {
            if (value.size() < kRejectCauseCodeSize) {
                return fail(Errc::malformed, field_name(id) + " is shorter than its 2-octet code");
            }
            keep_first(m.reject_cause, RejectCause{get_u16(value.data()),
                                                   text_of(value.subspan(kRejectCauseCodeSize))});
            break;
        }
        case F::queue_info: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            keep_first(m.queue_info, QueueInfo{value[0], value[1]});
            break;
        }
        case F::granted_party_identity:
            keep_first(m.granted_party_identity, text_of(value));
            break;
        case F::permission_to_request: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            const auto permission = get_u16(value.data());
            if (permission > 1) {
                return fail(Errc::malformed, field_name(id) + " has value " +
                                                 std::to_string(permission) + ", not 0 or 1");
            }
            keep_first(m.permission_to_request, permission == 1);
            break;
        }
        case F::user_id:
            keep_first(m.user_id, text_of(value));
            break;
        case F::queue_size: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            keep_first(m.queue_size, get_u16(value.data()));
            break;
        }
        case F::message_sequence_number: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            keep_first(m.message_sequence_number, get_u16(value.data()));
            break;
        }
        case F::queued_user_id:
            keep_first(m.queued_user_id, text_of(value));
            break;
        case F::source: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            const auto source = get_u16(value.data());
            if (source > static_cast<std::uint16_t>(Source::non_controlling_function)) {
                return fail(Errc::malformed,
                            field_name(id) + " has unknown value " + std::to_string(source));
            }
            keep_first(m.source, static_cast<Source>(source));
            break;
        }
        case F::track_info: {
            auto info = decode_track_info(value);
            if (!info) return tl::unexpected(info.error());
            keep_first(m.track_info, std::move(*info));
            break;
        }
        case F::message_type: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            // The acknowledged message's type; an ack-required bit copied from its subtype is
            // tolerated, anything above the 5-bit subtype is not.
            const std::uint8_t acknowledged = value[0];
            if ((acknowledged & ~kSubtypeMask) != 0 || !is_known_type(acknowledged & kTypeMask)) {
                return fail(Errc::malformed, field_name(id) + " names unknown message type " +
                                                 std::to_string(acknowledged));
            }
            keep_first(m.acknowledged_type, static_cast<MessageType>(acknowledged & kTypeMask));
            break;
        }
        case F::floor_indicator: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            keep_first(m.floor_indicator, get_u16(value.data()));
            break;
        }
        case F::ssrc: {
            if (auto ok = expect_size(id, value, 6); !ok) return ok;
            keep_first(m.granted_ssrc, get_u32(value.data()));
            break;
        }
    }
    return {};
}

bool is_all_zero(std::span<const std::uint8_t> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

const char* to_string(MessageType type) {
    switch (type) {
        case MessageType::floor_request:
            return "Floor Request";
        case MessageType::floor_granted:
            return "Floor Granted";
        case MessageType::floor_taken:
            return "Floor Taken";
        case MessageType::floor_deny:
            return "Floor Deny";
        case MessageType::floor_release:
            return "Floor Release";
        case MessageType::floor_idle:
            return "Floor Idle";
        case MessageType::floor_revoke:
            return "Floor Revoke";
        case MessageType::floor_queue_position_request:
            return "Floor Queue Position Request";
        case MessageType::floor_queue_position_info:
            return "Floor Queue Position Info";
        case MessageType::floor_ack:
            return "Floor Ack";
    }
    return "unknown";
}

bool ack_allowed(MessageType type) {
    switch (type) {
        case MessageType::floor_granted:
        case MessageType::floor_taken:
        case MessageType::floor_deny:
        case MessageType::floor_release:
        case MessageType::floor_idle:
        case MessageType::floor_queue_position_info:
            return true;
        case MessageType::floor_request:
        case MessageType::floor_revoke:
        case MessageType::floor_queue_position_request:
        case MessageType::floor_ack:
            return false;
    }
    return false;
}

std::vector<std::uint8_t> encode(const FloorMessage& message) {
    std::vector<std::uint8_t> out;
    out.reserve(64);
    const auto subtype = static_cast<std::uint8_t>((message.ack_required ? kAckRequiredBit : 0) |
                                                   static_cast<std::uint8_t>(message.type));
    out.push_back(kVersion2 | subtype);
    out.push_back(kPacketTypeApp);
    put_u16(out, 0);  // length, filled in below
    put_u32(out, message.ssrc);
    out.insert(out.end(), kName.begin(), kName.end());

    std::array<bool, kFieldCount> written{};
    auto write = [&](FieldId id) {
        const auto index = static_cast<std::size_t>(id);
        if (written[index] || !is_present(message, id)) return;
        written[index] = true;
        append_field(out, id, field_value(message, id));
    };
    for (auto id : spec_field_order(message.type)) write(id);
    for (std::uint8_t id = 0; id < kFieldCount; ++id) write(static_cast<FieldId>(id));

    // RFC 3550 6.7: length in 32-bit words minus one.
    const auto words_minus_one = static_cast<std::uint16_t>(out.size() / 4 - 1);
    out[2] = static_cast<std::uint8_t>(words_minus_one >> 8);
    out[3] = static_cast<std::uint8_t>(words_minus_one);
    return out;
}

Result<void> check_encodable(const FloorMessage& message) {
    if (message.ack_required && !ack_allowed(message.type)) {
        return fail(Errc::invalid_argument,
                    std::string(to_string(message.type)) +
                        " cannot ask for an acknowledgement (TS 24.380 Table 8.2.2-1)");
    }
    auto text_fits = [](const std::optional<std::string>& text, const char* name) -> Result<void> {
        if (text && text->size() > kMaxValueSize) {
            return fail(Errc::invalid_argument, std::string(name) + " is longer than 255 octets");
        }
        return {};
    };
    for (auto check : {text_fits(message.granted_party_identity, "Granted Party's Identity"),
                       text_fits(message.user_id, "User ID"),
                       text_fits(message.queued_user_id, "Queued User ID")}) {
        if (!check) return check;
    }
    if (message.reject_cause &&
        message.reject_cause->phrase.size() > kMaxValueSize - kRejectCauseCodeSize) {
        return fail(Errc::invalid_argument, "reject phrase is longer than 253 octets");
    }
    if (const auto& info = message.track_info) {
        if (participant_type_size(*info) != info->participant_type.size() ||
            reference_count(*info) != info->floor_participant_references.size()) {
            return fail(Errc::invalid_argument, "Track Info is longer than 255 octets");
        }
    }
    return {};
}

Result<FloorMessage> decode(std::span<const std::uint8_t> packet) {
    if (packet.size() < kHeaderSize) {
        return fail(Errc::malformed, "packet of " + std::to_string(packet.size()) +
                                         " octets is shorter than the 12-octet APP header");
    }
    if ((packet[0] & 0xc0) != kVersion2) {
        return fail(Errc::malformed, "RTP version " + std::to_string(packet[0] >> 6) + ", not 2");
    }
    if (packet[0] & kPaddingBit) {
        return fail(Errc::malformed, "padding bit set (TS 24.380 8.1.2 requires P=0)");
    }
    if (packet[1] != kPacketTypeApp) {
        return fail(Errc::malformed,
                    "RTCP packet type " + std::to_string(packet[1]) + ", not APP (204)");
    }
    const std::size_t declared_size = (std::size_t{get_u16(&packet[2])} + 1) * 4;
    if (declared_size != packet.size()) {
        return fail(Errc::malformed, "length field says " + std::to_string(declared_size) +
                                         " octets, packet has " + std::to_string(packet.size()));
    }
    if (!std::equal(kName.begin(), kName.end(), packet.begin() + 8)) {
        return fail(Errc::malformed, "APP name is not \"MCPT\"");
    }
    auto type = type_from_subtype(packet[0] & kSubtypeMask);
    if (!type) return tl::unexpected(type.error());

    FloorMessage message;
    message.type = *type;
    message.ack_required = (packet[0] & kAckRequiredBit) != 0;
    message.ssrc = get_u32(&packet[4]);

    std::size_t offset = kHeaderSize;
    while (offset < packet.size()) {
        const auto rest = packet.subspan(offset);
        // Some senders end with a zero word; Wireshark flags it as extra bytes. Tolerated.
        if (rest.size() == 4 && is_all_zero(rest)) break;
        const std::uint8_t id = rest[0];
        const std::size_t length_size = id >= kFirstTwoOctetLengthId ? 2 : 1;
        if (rest.size() < 1 + length_size) {
            return fail(Errc::malformed, field_name(id) + " header runs past the end");
        }
        const std::size_t value_size = length_size == 1 ? rest[1] : get_u16(&rest[1]);
        const std::size_t value_offset = 1 + length_size;
        if (value_size > rest.size() - value_offset) {
            return fail(Errc::malformed, field_name(id) + " of " + std::to_string(value_size) +
                                             " octets runs past the end");
        }
        const auto field_size = round_up_to_word(value_offset + value_size);
        if (field_size > rest.size()) {
            return fail(Errc::malformed, field_name(id) + " padding runs past the end");
        }
        auto stored = decode_field(id, rest.subspan(value_offset, value_size), message);
        if (!stored) return tl::unexpected(stored.error());
        offset += field_size;
    }
    return message;
}

Result<std::vector<FloorMessage>> decode_datagram(std::span<const std::uint8_t> datagram) {
    if (datagram.empty()) return fail(Errc::malformed, "empty datagram");
    std::vector<FloorMessage> messages;
    std::size_t offset = 0;
    while (offset < datagram.size()) {
        const auto rest = datagram.subspan(offset);
        const auto where = "packet " + std::to_string(messages.size() + 1) + ": ";
        if (rest.size() < 4) {
            return fail(Errc::malformed, where + std::to_string(rest.size()) +
                                             " trailing octets are not an RTCP header");
        }
        const std::size_t packet_size = (std::size_t{get_u16(&rest[2])} + 1) * 4;
        if (packet_size > rest.size()) {
            return fail(Errc::malformed, where + "length field says " +
                                             std::to_string(packet_size) + " octets, " +
                                             std::to_string(rest.size()) + " remain");
        }
        auto message = decode(rest.first(packet_size));
        if (!message) {
            return fail(message.error().code, where + message.error().reason);
        }
        messages.push_back(std::move(*message));
        offset += packet_size;
    }
    return messages;
}

}  // namespace mcx::proto::floor
