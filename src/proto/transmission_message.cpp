// MCVideo transmission control codec, TS 24.581 clause 9 (see docs/mcvideo.md).
#include "proto/transmission_message.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

namespace mcx::proto::transmission {

namespace {

// TS 24.581 9.1.2 / RFC 3550 6.7: the common 12-octet head of every APP packet.
constexpr std::size_t kHeaderSize = 12;
constexpr std::uint8_t kVersion2 = 0x80;        // V=2 in the top two bits of octet 0
constexpr std::uint8_t kPaddingBit = 0x20;      // P, always '0' here (9.1.2)
constexpr std::uint8_t kSubtypeMask = 0x1f;     // 5-bit subtype
constexpr std::uint8_t kAckRequiredBit = 0x10;  // the 'x' of Tables 9.2.2.1-1 to -3
constexpr std::uint8_t kTypeMask = 0x0f;
constexpr std::uint8_t kPacketTypeApp = 204;
constexpr std::size_t kNameSize = 4;
constexpr std::array<std::uint8_t, 3> kNamePrefix = {'M', 'C', 'V'};

// A 1-octet field length caps the value at 255 octets.
constexpr std::size_t kMaxValueSize = 255;
constexpr std::size_t kRejectCauseCodeSize = 2;
constexpr std::size_t kTrackInfoHeadSize = 2;  // queueing capability + participant type length
constexpr std::size_t kParticipantReferenceSize = 4;
constexpr std::size_t kSsrcFieldSize = 6;  // SSRC + 16 spare bits

using F = FieldId;

// Every modelled field, in ascending ID order: the order encode() writes them in.
constexpr std::array kFieldIds{
    F::transmission_priority,
    F::duration,
    F::reject_cause,
    F::queue_info,
    F::transmitting_user_id,
    F::permission_to_request,
    F::user_id,
    F::queue_size,
    F::message_sequence_number,
    F::queued_user_id,
    F::source,
    F::track_info,
    F::message_type,
    F::transmission_indicator,
    F::audio_ssrc,
    F::result,
    F::message_name,
    F::reception_priority,
    F::functional_alias,
    F::reception_mode,
    F::video_ssrc,
};

// The fields each message's clause lists (9.2.4 to 9.2.31), in ascending ID order.
std::span<const FieldId> listed_fields(MessageType type) {
    static constexpr FieldId request[] = {F::transmission_priority, F::user_id, F::track_info,
                                          F::transmission_indicator, F::functional_alias};
    static constexpr FieldId release[] = {F::user_id, F::track_info, F::transmission_indicator};
    static constexpr FieldId queue_position_request[] = {F::user_id, F::track_info};
    static constexpr FieldId receive_media_request[] = {
        F::transmitting_user_id,   F::user_id,    F::track_info,
        F::transmission_indicator, F::audio_ssrc, F::reception_priority,
        F::functional_alias,       F::video_ssrc};
    static constexpr FieldId granted[] = {F::transmission_priority,
                                          F::duration,
                                          F::queue_info,
                                          F::user_id,
                                          F::queue_size,
                                          F::queued_user_id,
                                          F::track_info,
                                          F::transmission_indicator,
                                          F::audio_ssrc,
                                          F::video_ssrc};
    static constexpr FieldId rejected[] = {F::reject_cause, F::user_id, F::track_info,
                                           F::transmission_indicator};
    static constexpr FieldId arbitration_taken[] = {F::transmitting_user_id,
                                                    F::permission_to_request,
                                                    F::user_id,
                                                    F::message_sequence_number,
                                                    F::transmission_indicator,
                                                    F::audio_ssrc,
                                                    F::video_ssrc};
    static constexpr FieldId arbitration_release[] = {F::user_id, F::message_sequence_number,
                                                      F::transmission_indicator};
    static constexpr FieldId revoked[] = {F::reject_cause, F::track_info,
                                          F::transmission_indicator};
    static constexpr FieldId queue_position_info[] = {F::queue_info, F::user_id, F::queued_user_id,
                                                      F::track_info, F::transmission_indicator};
    static constexpr FieldId media_transmission_notification[] = {
        F::transmitting_user_id, F::permission_to_request,
        F::track_info,           F::transmission_indicator,
        F::audio_ssrc,           F::functional_alias,
        F::reception_mode,       F::video_ssrc};
    static constexpr FieldId receive_media_response[] = {F::reject_cause, F::transmitting_user_id,
                                                         F::track_info,   F::transmission_indicator,
                                                         F::audio_ssrc,   F::result,
                                                         F::video_ssrc};
    static constexpr FieldId end_notify[] = {F::transmitting_user_id, F::audio_ssrc, F::video_ssrc};
    static constexpr FieldId idle[] = {F::message_sequence_number, F::transmission_indicator};
    static constexpr FieldId end_request[] = {F::reject_cause, F::transmitting_user_id,
                                              F::track_info,   F::transmission_indicator,
                                              F::audio_ssrc,   F::video_ssrc};
    // End Response and both Media Reception End messages list the same fields.
    static constexpr FieldId end_exchange[] = {F::transmitting_user_id, F::track_info,
                                               F::transmission_indicator, F::audio_ssrc,
                                               F::video_ssrc};
    static constexpr FieldId ack[] = {F::source, F::track_info, F::message_type, F::message_name};
    switch (type) {
        case MessageType::transmission_request:
            return request;
        case MessageType::transmission_release:
            return release;
        case MessageType::queue_position_request:
            return queue_position_request;
        case MessageType::receive_media_request:
            return receive_media_request;
        case MessageType::transmission_granted:
            return granted;
        case MessageType::transmission_rejected:
            return rejected;
        case MessageType::transmission_arbitration_taken:
            return arbitration_taken;
        case MessageType::transmission_arbitration_release:
            return arbitration_release;
        case MessageType::transmission_revoked:
            return revoked;
        case MessageType::queue_position_info:
            return queue_position_info;
        case MessageType::media_transmission_notification:
            return media_transmission_notification;
        case MessageType::receive_media_response:
            return receive_media_response;
        case MessageType::transmission_end_notify:
            return end_notify;
        case MessageType::transmission_idle:
            return idle;
        case MessageType::transmission_end_request:
            return end_request;
        case MessageType::transmission_end_response:
        case MessageType::media_reception_end_request:
        case MessageType::media_reception_end_response:
            return end_exchange;
        case MessageType::transmission_control_ack:
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

// SSRC fields (14, video SSRC): the SSRC, then 16 spare bits.
void put_ssrc(std::vector<std::uint8_t>& out, std::uint32_t ssrc) {
    put_u32(out, ssrc);
    put_u16(out, 0);
}

std::uint16_t get_u16(const std::uint8_t* at) {
    return static_cast<std::uint16_t>((at[0] << 8) | at[1]);
}

std::uint32_t get_u32(const std::uint8_t* at) {
    return (std::uint32_t{get_u16(at)} << 16) | get_u16(at + 2);
}

// The 4 ASCII octets of an APP name.
std::array<std::uint8_t, kNameSize> name_octets(Name name) {
    return {kNamePrefix[0], kNamePrefix[1], kNamePrefix[2],
            static_cast<std::uint8_t>('0' + static_cast<std::uint8_t>(name))};
}

// "MCV0" to "MCV2"; "MCV3" (MBMS subchannel control) and anything else are not ours.
std::optional<Name> name_from(std::span<const std::uint8_t> octets) {
    if (!std::equal(kNamePrefix.begin(), kNamePrefix.end(), octets.begin())) return std::nullopt;
    if (octets[3] < '0' || octets[3] > '2') return std::nullopt;
    return static_cast<Name>(octets[3] - '0');
}

std::string printable_name(std::span<const std::uint8_t> octets) {
    std::string out;
    for (std::size_t i = 0; i < kNameSize; ++i) {
        const auto c = octets[i];
        out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    }
    return out;
}

// Participant Type length that fits one Track Info value (9.2.3.13).
std::size_t participant_type_size(const TrackInfo& info) {
    return std::min(info.participant_type.size(), kMaxValueSize - kTrackInfoHeadSize - 1);
}

std::size_t reference_count(const TrackInfo& info) {
    const auto room =
        kMaxValueSize - kTrackInfoHeadSize - round_up_to_word(participant_type_size(info));
    return std::min(info.participant_references.size(), room / kParticipantReferenceSize);
}

bool is_present(const TransmissionMessage& m, FieldId id) {
    switch (id) {
        case F::transmission_priority:
            return m.transmission_priority.has_value();
        case F::duration:
            return m.duration.has_value();
        case F::reject_cause:
            return m.reject_cause.has_value();
        case F::queue_info:
            return m.queue_info.has_value();
        case F::transmitting_user_id:
            return m.transmitting_user_id.has_value();
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
        case F::transmission_indicator:
            return m.transmission_indicator.has_value();
        case F::audio_ssrc:
            return m.audio_ssrc.has_value();
        case F::result:
            return m.result.has_value();
        case F::message_name:
            return m.acknowledged_name.has_value();
        case F::reception_priority:
            return m.reception_priority.has_value();
        case F::functional_alias:
            return m.functional_alias.has_value();
        case F::reception_mode:
            return m.reception_mode.has_value();
        case F::video_ssrc:
            return m.video_ssrc.has_value();
    }
    return false;
}

// The value octets of a present field (9.2.3.2 onwards).
std::vector<std::uint8_t> field_value(const TransmissionMessage& m, FieldId id) {
    std::vector<std::uint8_t> value;
    switch (id) {
        case F::transmission_priority:  // priority, spare octet
            value = {*m.transmission_priority, 0};
            break;
        case F::duration:  // seconds
            put_u16(value, *m.duration);
            break;
        case F::reject_cause:  // cause, optional phrase
            put_u16(value, m.reject_cause->code);
            put_text(value, m.reject_cause->phrase, kMaxValueSize - kRejectCauseCodeSize);
            break;
        case F::queue_info:  // position, priority
            value = {m.queue_info->position, m.queue_info->priority};
            break;
        case F::transmitting_user_id:
            put_text(value, *m.transmitting_user_id, kMaxValueSize);
            break;
        case F::permission_to_request:
            put_u16(value, *m.permission_to_request ? 1 : 0);
            break;
        case F::user_id:
            put_text(value, *m.user_id, kMaxValueSize);
            break;
        case F::queue_size:
            put_u16(value, *m.queue_size);
            break;
        case F::message_sequence_number:
            put_u16(value, *m.message_sequence_number);
            break;
        case F::queued_user_id:
            put_text(value, *m.queued_user_id, kMaxValueSize);
            break;
        case F::source:
            put_u16(value, static_cast<std::uint16_t>(*m.source));
            break;
        case F::track_info: {
            const auto& info = *m.track_info;
            const auto type_size = participant_type_size(info);
            value.push_back(info.queueing_capability);
            value.push_back(static_cast<std::uint8_t>(type_size));
            put_text(value, info.participant_type, type_size);
            value.resize(kTrackInfoHeadSize + round_up_to_word(type_size), 0);
            const auto count = reference_count(info);
            for (std::size_t i = 0; i < count; ++i) put_u32(value, info.participant_references[i]);
            break;
        }
        case F::message_type:  // acknowledged message's type code, spare octet
            value = {*m.acknowledged_type, 0};
            break;
        case F::transmission_indicator:
            put_u16(value, *m.transmission_indicator);
            break;
        case F::audio_ssrc:
            put_ssrc(value, *m.audio_ssrc);
            break;
        case F::result:
            put_u16(value, *m.result ? 1 : 0);
            break;
        case F::message_name: {  // the 4 ASCII octets, 16 spare bits
            const auto octets = name_octets(*m.acknowledged_name);
            value.assign(octets.begin(), octets.end());
            put_u16(value, 0);
            break;
        }
        case F::reception_priority:  // priority, spare octet (as field 0) [U]
            value = {*m.reception_priority, 0};
            break;
        case F::functional_alias:
            put_text(value, *m.functional_alias, kMaxValueSize);
            break;
        case F::reception_mode:
            put_u16(value, static_cast<std::uint16_t>(*m.reception_mode));
            break;
        case F::video_ssrc:
            put_ssrc(value, *m.video_ssrc);
            break;
    }
    return value;
}

// 9.2.3.1: ID, 1-octet length of the value, value, zero padding to the next 32-bit boundary.
void append_field(std::vector<std::uint8_t>& out, FieldId id,
                  const std::vector<std::uint8_t>& value) {
    out.push_back(static_cast<std::uint8_t>(id));
    out.push_back(static_cast<std::uint8_t>(value.size()));
    out.insert(out.end(), value.begin(), value.end());
    out.resize(round_up_to_word(out.size()), 0);
}

std::optional<FieldId> known_field(std::uint8_t id) {
    for (auto known : kFieldIds) {
        if (static_cast<std::uint8_t>(known) == id) return known;
    }
    return std::nullopt;
}

const char* field_title(FieldId id) {
    switch (id) {
        case F::transmission_priority:
            return "Transmission Priority";
        case F::duration:
            return "Duration";
        case F::reject_cause:
            return "Reject Cause";
        case F::queue_info:
            return "Queue Info";
        case F::transmitting_user_id:
            return "User ID of the Transmitting User";
        case F::permission_to_request:
            return "Permission to Request the Transmission";
        case F::user_id:
            return "User ID";
        case F::queue_size:
            return "Queue Size";
        case F::message_sequence_number:
            return "Message Sequence Number";
        case F::queued_user_id:
            return "Queued User ID";
        case F::source:
            return "Source";
        case F::track_info:
            return "Track Info";
        case F::message_type:
            return "Message Type";
        case F::transmission_indicator:
            return "Transmission Indicator";
        case F::audio_ssrc:
            return "Audio SSRC of the Transmitting User";
        case F::result:
            return "Result";
        case F::message_name:
            return "Message Name";
        case F::reception_priority:
            return "Reception Priority";
        case F::functional_alias:
            return "Functional Alias";
        case F::reception_mode:
            return "Reception Mode";
        case F::video_ssrc:
            return "Video SSRC of the Transmitting User";
    }
    return "field";
}

std::string field_name(std::uint8_t id) {
    const auto known = known_field(id);
    return std::string(known ? field_title(*known) : "field") + " (ID " + std::to_string(id) + ")";
}

// Tables 9.2.2.1-1 to 9.2.2.1-3, and what this codec does with codes it does not model.
Result<MessageType> type_from(Name name, std::uint8_t subtype) {
    const std::uint8_t code = subtype & kTypeMask;
    const auto type = message_type(name, code);
    if (!type) {
        const auto what = std::string(to_string(name)) + " message type " + std::to_string(code);
        // Assigned by the tables, but not used by a private call (remote transmission, cancel,
        // override and reception notifications; MCV0 5 and MCV1 9 are kept only for old peers).
        const bool assigned = (name == Name::mcv0 && (code == 5 || code == 7 || code == 8)) ||
                              (name == Name::mcv1 && code >= 8 && code <= 13);
        if (assigned) {
            return fail(Errc::unsupported, what + " (assigned by TS 24.581 Table 9.2.2.1-" +
                                               std::to_string(static_cast<int>(name) + 1) +
                                               ") is not supported");
        }
        return fail(Errc::malformed, "unknown " + what);
    }
    if ((subtype & kAckRequiredBit) && !ack_allowed(*type)) {
        return fail(Errc::malformed,
                    std::string(to_string(*type)) + " has no acknowledgement-required subtype");
    }
    return *type;
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

// A 2-octet value that must be 0 or 1 (fields 5, 15, 22).
Result<bool> decode_flag(std::uint8_t id, std::span<const std::uint8_t> value) {
    if (auto ok = expect_size(id, value, 2); !ok) return tl::unexpected(ok.error());
    const auto flag = get_u16(value.data());
    if (flag > 1) {
        return fail(Errc::malformed,
                    field_name(id) + " has value " + std::to_string(flag) + ", not 0 or 1");
    }
    return flag == 1;
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
    if (references.size() % kParticipantReferenceSize != 0) {
        return fail(Errc::malformed, "Track Info (ID 11): " + std::to_string(references.size()) +
                                         " octets after the Participant Type are not whole "
                                         "32-bit participant references");
    }
    for (std::size_t at = 0; at < references.size(); at += kParticipantReferenceSize) {
        info.participant_references.push_back(get_u32(references.data() + at));
    }
    return info;
}

// Checks one field's value and stores it, unless an earlier field of that ID is kept.
Result<void> decode_field(std::uint8_t id, std::span<const std::uint8_t> value,
                          TransmissionMessage& m) {
    const auto known = known_field(id);
    if (!known) return {};  // unknown or unmodelled field: skipped by its length
    switch (*known) {
        case F::transmission_priority: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            keep_first(m.transmission_priority, value[0]);
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
        case F::transmitting_user_id:
            keep_first(m.transmitting_user_id, text_of(value));
            break;
        case F::permission_to_request: {
            auto flag = decode_flag(id, value);
            if (!flag) return tl::unexpected(flag.error());
            keep_first(m.permission_to_request, *flag);
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
            // The acknowledged message's type code; an ack-required bit copied from its subtype
            // is tolerated, anything above the 5-bit subtype is not.
            const std::uint8_t acknowledged = value[0];
            if ((acknowledged & ~kSubtypeMask) != 0) {
                return fail(Errc::malformed, field_name(id) + " has value " +
                                                 std::to_string(acknowledged) +
                                                 ", not a 5-bit subtype");
            }
            keep_first(m.acknowledged_type, static_cast<std::uint8_t>(acknowledged & kTypeMask));
            break;
        }
        case F::transmission_indicator: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            keep_first(m.transmission_indicator, get_u16(value.data()));
            break;
        }
        case F::audio_ssrc: {
            if (auto ok = expect_size(id, value, kSsrcFieldSize); !ok) return ok;
            keep_first(m.audio_ssrc, get_u32(value.data()));
            break;
        }
        case F::result: {
            auto flag = decode_flag(id, value);
            if (!flag) return tl::unexpected(flag.error());
            keep_first(m.result, *flag);
            break;
        }
        case F::message_name: {
            if (auto ok = expect_size(id, value, 6); !ok) return ok;
            const auto name = name_from(value.first(kNameSize));
            if (!name) {
                return fail(Errc::malformed, field_name(id) + " names \"" + printable_name(value) +
                                                 "\", not MCV0, MCV1 or MCV2");
            }
            keep_first(m.acknowledged_name, *name);
            break;
        }
        case F::reception_priority: {
            if (auto ok = expect_size(id, value, 2); !ok) return ok;
            keep_first(m.reception_priority, value[0]);
            break;
        }
        case F::functional_alias:
            keep_first(m.functional_alias, text_of(value));
            break;
        case F::reception_mode: {
            auto flag = decode_flag(id, value);
            if (!flag) return tl::unexpected(flag.error());
            keep_first(m.reception_mode, *flag ? ReceptionMode::manual : ReceptionMode::automatic);
            break;
        }
        case F::video_ssrc: {
            if (auto ok = expect_size(id, value, kSsrcFieldSize); !ok) return ok;
            keep_first(m.video_ssrc, get_u32(value.data()));
            break;
        }
    }
    return {};
}

bool is_all_zero(std::span<const std::uint8_t> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

const char* to_string(Name name) {
    switch (name) {
        case Name::mcv0:
            return "MCV0";
        case Name::mcv1:
            return "MCV1";
        case Name::mcv2:
            return "MCV2";
    }
    return "unknown";
}

const char* to_string(MessageType type) {
    switch (type) {
        case MessageType::transmission_request:
            return "Transmission Request";
        case MessageType::transmission_release:
            return "Transmission Release";
        case MessageType::queue_position_request:
            return "Queue Position Request";
        case MessageType::receive_media_request:
            return "Receive Media Request";
        case MessageType::transmission_granted:
            return "Transmission Granted";
        case MessageType::transmission_rejected:
            return "Transmission Rejected";
        case MessageType::transmission_arbitration_taken:
            return "Transmission Arbitration Taken";
        case MessageType::transmission_arbitration_release:
            return "Transmission Arbitration Release";
        case MessageType::transmission_revoked:
            return "Transmission Revoked";
        case MessageType::queue_position_info:
            return "Queue Position Info";
        case MessageType::media_transmission_notification:
            return "Media Transmission Notification";
        case MessageType::receive_media_response:
            return "Receive Media Response";
        case MessageType::transmission_end_notify:
            return "Transmission End Notify";
        case MessageType::transmission_idle:
            return "Transmission Idle";
        case MessageType::transmission_end_request:
            return "Transmission End Request";
        case MessageType::transmission_end_response:
            return "Transmission End Response";
        case MessageType::media_reception_end_request:
            return "Media Reception End Request";
        case MessageType::media_reception_end_response:
            return "Media Reception End Response";
        case MessageType::transmission_control_ack:
            return "Transmission Control Ack";
    }
    return "unknown";
}

Name name_of(MessageType type) {
    return static_cast<Name>(static_cast<std::uint8_t>(type) >> 4);
}

std::uint8_t type_code(MessageType type) {
    return static_cast<std::uint8_t>(type) & kTypeMask;
}

std::optional<MessageType> message_type(Name name, std::uint8_t code) {
    for (auto type : kMessageTypes) {
        if (name_of(type) == name && type_code(type) == code) return type;
    }
    return std::nullopt;
}

bool ack_allowed(MessageType type) {
    return type != MessageType::transmission_control_ack;
}

bool field_allowed(MessageType type, FieldId id) {
    const auto listed = listed_fields(type);
    return std::find(listed.begin(), listed.end(), id) != listed.end();
}

std::optional<MessageType> acknowledged_message(const TransmissionMessage& ack) {
    if (!ack.acknowledged_type || !ack.acknowledged_name) return std::nullopt;
    return message_type(*ack.acknowledged_name, *ack.acknowledged_type);
}

std::vector<std::uint8_t> encode(const TransmissionMessage& message) {
    std::vector<std::uint8_t> out;
    out.reserve(64);
    const auto subtype = static_cast<std::uint8_t>((message.ack_required ? kAckRequiredBit : 0) |
                                                   type_code(message.type));
    out.push_back(kVersion2 | subtype);
    out.push_back(kPacketTypeApp);
    put_u16(out, 0);  // length, filled in below
    put_u32(out, message.ssrc);
    const auto name = name_octets(name_of(message.type));
    out.insert(out.end(), name.begin(), name.end());

    for (auto id : kFieldIds) {
        if (is_present(message, id)) append_field(out, id, field_value(message, id));
    }

    // RFC 3550 6.7: length in 32-bit words minus one.
    const auto words_minus_one = static_cast<std::uint16_t>(out.size() / 4 - 1);
    out[2] = static_cast<std::uint8_t>(words_minus_one >> 8);
    out[3] = static_cast<std::uint8_t>(words_minus_one);
    return out;
}

Result<void> check_encodable(const TransmissionMessage& message) {
    if (message.ack_required && !ack_allowed(message.type)) {
        return fail(Errc::invalid_argument,
                    std::string(to_string(message.type)) + " cannot ask for an acknowledgement");
    }
    for (auto id : kFieldIds) {
        if (is_present(message, id) && !field_allowed(message.type, id)) {
            return fail(Errc::invalid_argument,
                        std::string(to_string(message.type)) + " does not carry " +
                            field_name(static_cast<std::uint8_t>(id)) + " (TS 24.581 9.2)");
        }
    }
    auto text_fits = [](const std::optional<std::string>& text, const char* name) -> Result<void> {
        if (text && text->size() > kMaxValueSize) {
            return fail(Errc::invalid_argument, std::string(name) + " is longer than 255 octets");
        }
        return {};
    };
    for (auto check : {text_fits(message.transmitting_user_id, "User ID of the Transmitting User"),
                       text_fits(message.user_id, "User ID"),
                       text_fits(message.queued_user_id, "Queued User ID"),
                       text_fits(message.functional_alias, "Functional Alias")}) {
        if (!check) return check;
    }
    if (message.reject_cause &&
        message.reject_cause->phrase.size() > kMaxValueSize - kRejectCauseCodeSize) {
        return fail(Errc::invalid_argument, "reject phrase is longer than 253 octets");
    }
    if (const auto& info = message.track_info) {
        if (participant_type_size(*info) != info->participant_type.size() ||
            reference_count(*info) != info->participant_references.size()) {
            return fail(Errc::invalid_argument, "Track Info is longer than 255 octets");
        }
    }
    if (message.acknowledged_type && *message.acknowledged_type > kTypeMask) {
        return fail(Errc::invalid_argument, "Message Type " +
                                                std::to_string(*message.acknowledged_type) +
                                                " is not a 4-bit type code");
    }
    return {};
}

Result<TransmissionMessage> decode(std::span<const std::uint8_t> packet) {
    if (packet.size() < kHeaderSize) {
        return fail(Errc::malformed, "packet of " + std::to_string(packet.size()) +
                                         " octets is shorter than the 12-octet APP header");
    }
    if ((packet[0] & 0xc0) != kVersion2) {
        return fail(Errc::malformed, "RTP version " + std::to_string(packet[0] >> 6) + ", not 2");
    }
    if (packet[0] & kPaddingBit) {
        return fail(Errc::malformed, "padding bit set (TS 24.581 9.1.2 requires P=0)");
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
    const auto name_field = packet.subspan(8, kNameSize);
    const auto name = name_from(name_field);
    if (!name) {
        const auto printable = printable_name(name_field);
        if (printable == "MCV3") {
            return fail(Errc::unsupported,
                        "APP name \"MCV3\" (MBMS subchannel control) is not supported");
        }
        return fail(Errc::malformed, "APP name \"" + printable + "\" is not MCV0, MCV1 or MCV2");
    }
    auto type = type_from(*name, packet[0] & kSubtypeMask);
    if (!type) return tl::unexpected(type.error());

    TransmissionMessage message;
    message.type = *type;
    message.ack_required = (packet[0] & kAckRequiredBit) != 0;
    message.ssrc = get_u32(&packet[4]);

    std::size_t offset = kHeaderSize;
    while (offset < packet.size()) {
        const auto rest = packet.subspan(offset);
        // One zero word at the end is tolerated, as by the floor codec (docs/mcvideo.md).
        if (rest.size() == 4 && is_all_zero(rest)) break;
        const std::uint8_t id = rest[0];
        const std::size_t value_size = rest[1];  // rest holds at least one whole word
        constexpr std::size_t value_offset = 2;
        if (value_size > rest.size() - value_offset) {
            return fail(Errc::malformed, field_name(id) + " of " + std::to_string(value_size) +
                                             " octets runs past the end");
        }
        // The packet is whole words, so a value that fits also leaves room for its padding.
        const auto field_size = round_up_to_word(value_offset + value_size);
        auto stored = decode_field(id, rest.subspan(value_offset, value_size), message);
        if (!stored) return tl::unexpected(stored.error());
        offset += field_size;
    }
    return message;
}

Result<std::vector<TransmissionMessage>> decode_datagram(std::span<const std::uint8_t> datagram) {
    if (datagram.empty()) return fail(Errc::malformed, "empty datagram");
    std::vector<TransmissionMessage> messages;
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
        if (!message) return fail(message.error().code, where + message.error().reason);
        messages.push_back(std::move(*message));
        offset += packet_size;
    }
    return messages;
}

}  // namespace mcx::proto::transmission
