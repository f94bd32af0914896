// MCVideo transmission control codec tests (TS 24.581 clause 9): round trips, byte-exact
// vectors, tshark 4.0 cross-check of the APP framing, malformed input and datagrams with several
// packets.
#include "proto/transmission_message.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "net/endpoint.hpp"
#include "net/pcap_writer.hpp"
#include "test_support.hpp"

namespace mcx::proto::transmission {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

constexpr std::uint32_t kSsrc = 0x11223344;

// "80 CC 00 03" -> bytes; spaces are ignored.
Bytes hex(std::string_view text) {
    Bytes out;
    std::string digits;
    for (char c : text) {
        if (c != ' ') digits += c;
    }
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    }
    return out;
}

std::string to_hex(const Bytes& bytes) {
    std::string out;
    char buf[4];
    for (auto b : bytes) {
        std::snprintf(buf, sizeof(buf), "%02X ", b);
        out += buf;
    }
    return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Builds an APP packet by hand (independent of the encoder): header with the right length
// field and the given name, then the raw field octets given.
Bytes app_packet(std::string_view name, std::uint8_t subtype, const Bytes& fields) {
    const auto words_minus_one = static_cast<std::uint16_t>((12 + fields.size()) / 4 - 1);
    // Every name here has 4 octets. Sized first and filled in place: GCC 12 misreads insert()
    // after an 8-byte initializer list as out of bounds (-Warray-bounds at -O2).
    Bytes out(12 + fields.size());
    const std::uint8_t header[8] = {static_cast<std::uint8_t>(0x80 | subtype),
                                    204,
                                    static_cast<std::uint8_t>(words_minus_one >> 8),
                                    static_cast<std::uint8_t>(words_minus_one),
                                    0x11,
                                    0x22,
                                    0x33,
                                    0x44};
    std::copy(std::begin(header), std::end(header), out.begin());
    std::copy(name.begin(), name.end(), out.begin() + 8);
    std::copy(fields.begin(), fields.end(), out.begin() + 12);
    return out;
}

TransmissionMessage base(MessageType type, bool ack_required = false) {
    TransmissionMessage m;
    m.type = type;
    m.ack_required = ack_required;
    m.ssrc = kSsrc;
    return m;
}

// One typical message of every modelled type, with fields its clause lists.
std::vector<TransmissionMessage> typical_messages() {
    using T = MessageType;
    namespace ind = transmission_indicator;
    std::vector<TransmissionMessage> out;

    auto request = base(T::transmission_request, true);
    request.transmission_priority = 5;
    request.transmission_indicator = ind::normal_call;
    out.push_back(request);

    auto release = base(T::transmission_release);
    release.transmission_indicator = ind::normal_call;
    out.push_back(release);

    auto position_request = base(T::queue_position_request);
    position_request.track_info = TrackInfo{1, "Non-controlling", {0x01020304}};
    out.push_back(position_request);

    auto receive_request = base(T::receive_media_request);
    receive_request.transmitting_user_id = "sip:alice@mcx.example";
    receive_request.reception_priority = 3;
    receive_request.audio_ssrc = 0xA1B2C3D4;
    receive_request.video_ssrc = 0x55667788;
    out.push_back(receive_request);

    auto granted = base(T::transmission_granted, true);
    granted.duration = 30;
    granted.transmission_priority = 5;
    granted.audio_ssrc = 0xA1B2C3D4;
    granted.video_ssrc = 0x55667788;
    granted.transmission_indicator = ind::normal_call;
    out.push_back(granted);

    auto rejected = base(T::transmission_rejected);
    rejected.reject_cause = RejectCause{reject_cause::only_one_participant, "alone"};
    rejected.transmission_indicator = ind::normal_call;
    out.push_back(rejected);

    auto taken = base(T::transmission_arbitration_taken, true);
    taken.transmitting_user_id = "sip:alice@mcx.example";
    taken.permission_to_request = true;
    taken.message_sequence_number = 7;
    taken.audio_ssrc = 0xA1B2C3D4;
    taken.video_ssrc = 0x55667788;
    out.push_back(taken);

    auto arbitration_release = base(T::transmission_arbitration_release);
    arbitration_release.message_sequence_number = 8;
    out.push_back(arbitration_release);

    auto revoked = base(T::transmission_revoked);
    revoked.reject_cause = RejectCause{revoke_cause::media_burst_too_long, "too long"};
    revoked.transmission_indicator = ind::normal_call;
    out.push_back(revoked);

    auto position_info = base(T::queue_position_info, true);
    position_info.queued_user_id = "sip:bob@mcx.example";
    position_info.queue_info = QueueInfo{2, 5};
    out.push_back(position_info);

    auto notification = base(T::media_transmission_notification, true);
    notification.transmitting_user_id = "sip:alice@mcx.example";
    notification.audio_ssrc = 0xA1B2C3D4;
    notification.video_ssrc = 0x55667788;
    notification.reception_mode = ReceptionMode::manual;
    notification.functional_alias = "sip:driver@mcx.example";
    out.push_back(notification);

    auto receive_response = base(T::receive_media_response);
    receive_response.result = true;
    receive_response.transmitting_user_id = "sip:alice@mcx.example";
    receive_response.video_ssrc = 0x55667788;
    out.push_back(receive_response);

    auto end_notify = base(T::transmission_end_notify);
    end_notify.transmitting_user_id = "sip:alice@mcx.example";
    end_notify.video_ssrc = 0x55667788;
    out.push_back(end_notify);

    auto idle = base(T::transmission_idle);
    idle.message_sequence_number = 9;
    idle.transmission_indicator = ind::normal_call;
    out.push_back(idle);

    auto end_request = base(T::transmission_end_request, true);
    end_request.transmitting_user_id = "sip:alice@mcx.example";
    out.push_back(end_request);

    auto end_response = base(T::transmission_end_response);
    end_response.audio_ssrc = 0xA1B2C3D4;
    end_response.video_ssrc = 0x55667788;
    out.push_back(end_response);

    auto reception_end_request = base(T::media_reception_end_request);
    reception_end_request.video_ssrc = 0x55667788;
    out.push_back(reception_end_request);

    auto reception_end_response = base(T::media_reception_end_response);
    reception_end_response.video_ssrc = 0x55667788;
    out.push_back(reception_end_response);

    auto ack = base(T::transmission_control_ack);
    ack.source = Source::transmission_participant;
    ack.acknowledged_type = type_code(T::transmission_granted);
    ack.acknowledged_name = Name::mcv1;
    out.push_back(ack);
    return out;
}

// Field IDs in the order they appear in an encoded packet.
std::vector<int> field_ids(const Bytes& packet) {
    std::vector<int> ids;
    std::size_t at = 12;
    while (at + 2 <= packet.size()) {
        ids.push_back(packet[at]);
        at += (2 + packet[at + 1] + 3) / 4 * 4;
    }
    return ids;
}

// ---- 1. round trips ---------------------------------------------------------------------------

TEST(TransmissionCodec, EveryMessageTypeRoundTrips) {
    const auto messages = typical_messages();
    ASSERT_EQ(messages.size(), kMessageTypes.size());
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const auto& message = messages[i];
        SCOPED_TRACE(to_string(message.type));
        EXPECT_EQ(message.type, kMessageTypes[i]) << "one typical message per modelled type";
        const auto bytes = encode(message);
        ASSERT_EQ(bytes.size() % 4, 0u);
        auto decoded = decode(bytes);
        ASSERT_TRUE(decoded) << decoded.error().reason << "\n" << to_hex(bytes);
        EXPECT_EQ(*decoded, message);
        EXPECT_EQ(encode(*decoded), bytes) << "re-encoding is byte-identical";
        auto checked = check_encodable(message);
        EXPECT_TRUE(checked) << checked.error().reason;
    }
}

TEST(TransmissionCodec, EveryFieldRoundTripsOnEveryType) {
    for (auto message : typical_messages()) {
        SCOPED_TRACE(to_string(message.type));
        message.transmission_priority = 7;
        message.duration = 65535;
        message.reject_cause = RejectCause{reject_cause::other, "other reason, UTF-8: \xc3\xa9"};
        message.queue_info = QueueInfo{254, 3};
        message.transmitting_user_id = "sip:transmitter@mcx.example";
        message.permission_to_request = false;
        message.user_id = "sip:user@mcx.example";
        message.queue_size = 3;
        message.message_sequence_number = 65535;
        message.queued_user_id = "sip:queued@mcx.example";
        message.source = Source::non_controlling_function;
        message.track_info = TrackInfo{0, "abcd", {1, 0xffffffff}};
        message.acknowledged_type = 15;
        message.transmission_indicator = 0xffff;
        message.audio_ssrc = 0xdeadbeef;
        message.result = false;
        message.acknowledged_name = Name::mcv2;
        message.reception_priority = 255;
        message.functional_alias = "sip:alias@mcx.example";
        message.reception_mode = ReceptionMode::automatic;
        message.video_ssrc = 0xfeedf00d;
        auto decoded = decode(encode(message));
        ASSERT_TRUE(decoded) << decoded.error().reason;
        EXPECT_EQ(*decoded, message);
        EXPECT_FALSE(check_encodable(message)) << "no clause lists every field";
    }
}

TEST(TransmissionCodec, EmptyAndBoundaryValuesRoundTrip) {
    auto taken = base(MessageType::transmission_arbitration_taken);
    taken.transmitting_user_id = "";          // length 0, two padding octets
    taken.reject_cause = RejectCause{0, ""};  // code only
    taken.track_info = TrackInfo{1, "", {}};  // no Participant Type, no references
    taken.user_id = std::string(255, 'u');    // the longest a 1-octet length allows
    auto decoded = decode(encode(taken));
    ASSERT_TRUE(decoded) << decoded.error().reason;
    EXPECT_EQ(*decoded, taken);
}

TEST(TransmissionCodec, EncoderWritesFieldsInAscendingIdOrder) {
    auto granted = base(MessageType::transmission_granted);
    granted.video_ssrc = 1;
    granted.transmission_indicator = transmission_indicator::normal_call;
    granted.audio_ssrc = 2;
    granted.duration = 30;
    granted.transmission_priority = 5;
    granted.track_info = TrackInfo{1, "x", {}};
    EXPECT_EQ(field_ids(encode(granted)), (std::vector<int>{0, 1, 11, 13, 14, 24}));

    const auto ack = typical_messages().back();
    EXPECT_EQ(field_ids(encode(ack)), (std::vector<int>{10, 12, 16}));
}

TEST(TransmissionCodec, DecoderAcceptsAnyFieldOrderAndKeepsTheFirstRepeat) {
    // Transmission Granted with Duration before Transmission Priority, then a second Duration.
    const auto packet = app_packet("MCV1", 0x10, hex("01 02 00 1E  00 02 05 00  01 02 00 05"));
    auto decoded = decode(packet);
    ASSERT_TRUE(decoded) << decoded.error().reason;
    EXPECT_EQ(decoded->type, MessageType::transmission_granted);
    EXPECT_TRUE(decoded->ack_required);
    EXPECT_EQ(decoded->transmission_priority, 5);
    EXPECT_EQ(decoded->duration, 30);
}

TEST(TransmissionCodec, NamesAndCodesFollowTables9221) {
    struct Row {
        MessageType type;
        Name name;
        int code;
        const char* text;
    };
    const Row rows[] = {
        {MessageType::transmission_request, Name::mcv0, 0, "Transmission Request"},
        {MessageType::transmission_release, Name::mcv0, 2, "Transmission Release"},
        {MessageType::queue_position_request, Name::mcv0, 3, "Queue Position Request"},
        {MessageType::receive_media_request, Name::mcv0, 4, "Receive Media Request"},
        {MessageType::transmission_granted, Name::mcv1, 0, "Transmission Granted"},
        {MessageType::transmission_rejected, Name::mcv1, 1, "Transmission Rejected"},
        {MessageType::transmission_arbitration_taken, Name::mcv1, 2,
         "Transmission Arbitration Taken"},
        {MessageType::transmission_arbitration_release, Name::mcv1, 3,
         "Transmission Arbitration Release"},
        {MessageType::transmission_revoked, Name::mcv1, 4, "Transmission Revoked"},
        {MessageType::queue_position_info, Name::mcv1, 5, "Queue Position Info"},
        {MessageType::media_transmission_notification, Name::mcv1, 6,
         "Media Transmission Notification"},
        {MessageType::receive_media_response, Name::mcv1, 7, "Receive Media Response"},
        {MessageType::transmission_end_notify, Name::mcv1, 14, "Transmission End Notify"},
        {MessageType::transmission_idle, Name::mcv1, 15, "Transmission Idle"},
        {MessageType::transmission_end_request, Name::mcv2, 0, "Transmission End Request"},
        {MessageType::transmission_end_response, Name::mcv2, 1, "Transmission End Response"},
        {MessageType::media_reception_end_request, Name::mcv2, 2, "Media Reception End Request"},
        {MessageType::media_reception_end_response, Name::mcv2, 3, "Media Reception End Response"},
        {MessageType::transmission_control_ack, Name::mcv2, 4, "Transmission Control Ack"},
    };
    ASSERT_EQ(std::size(rows), kMessageTypes.size());
    for (const auto& row : rows) {
        SCOPED_TRACE(row.text);
        EXPECT_EQ(name_of(row.type), row.name);
        EXPECT_EQ(type_code(row.type), row.code);
        EXPECT_STREQ(to_string(row.type), row.text);
        EXPECT_EQ(message_type(row.name, static_cast<std::uint8_t>(row.code)), row.type);
    }
    EXPECT_EQ(message_type(Name::mcv0, 1), std::nullopt);
    EXPECT_EQ(message_type(Name::mcv1, 13), std::nullopt) << "not modelled";
    EXPECT_EQ(message_type(Name::mcv2, 5), std::nullopt);
    EXPECT_STREQ(to_string(Name::mcv0), "MCV0");
    EXPECT_STREQ(to_string(Name::mcv2), "MCV2");
}

TEST(TransmissionCodec, AckVariantOnEveryTypeButTheAck) {
    for (auto type : kMessageTypes) {
        EXPECT_EQ(ack_allowed(type), type != MessageType::transmission_control_ack)
            << to_string(type);
    }
}

TEST(TransmissionCodec, AcknowledgedMessageNeedsTypeAndName) {
    auto ack = typical_messages().back();
    EXPECT_EQ(acknowledged_message(ack), MessageType::transmission_granted);
    ack.acknowledged_name = Name::mcv2;  // MCV2 code 0
    EXPECT_EQ(acknowledged_message(ack), MessageType::transmission_end_request);
    ack.acknowledged_name.reset();
    EXPECT_EQ(acknowledged_message(ack), std::nullopt);
}

TEST(TransmissionCodec, FieldListsFollowTheMessageClauses) {
    using T = MessageType;
    EXPECT_TRUE(field_allowed(T::transmission_request, FieldId::transmission_priority));
    EXPECT_TRUE(field_allowed(T::transmission_request, FieldId::functional_alias));
    EXPECT_FALSE(field_allowed(T::transmission_request, FieldId::duration));
    EXPECT_TRUE(field_allowed(T::transmission_granted, FieldId::video_ssrc));
    EXPECT_TRUE(field_allowed(T::transmission_rejected, FieldId::reject_cause));
    EXPECT_TRUE(field_allowed(T::receive_media_response, FieldId::result));
    EXPECT_TRUE(field_allowed(T::media_transmission_notification, FieldId::reception_mode));
    EXPECT_TRUE(field_allowed(T::transmission_control_ack, FieldId::message_name));
    EXPECT_FALSE(field_allowed(T::transmission_idle, FieldId::audio_ssrc));
    EXPECT_FALSE(field_allowed(T::transmission_end_response, FieldId::reject_cause));
    for (auto type : kMessageTypes) {
        EXPECT_FALSE(field_allowed(type, FieldId::message_name) &&
                     type != T::transmission_control_ack)
            << to_string(type);
    }
}

TEST(TransmissionCodec, CheckEncodableReportsWhatEncodeWouldCutOrMisplace) {
    auto ack = typical_messages().back();
    ack.ack_required = true;
    EXPECT_FALSE(check_encodable(ack)) << "an Ack cannot ask for an Ack";

    auto taken = base(MessageType::transmission_arbitration_taken);
    taken.transmitting_user_id = std::string(256, 'g');
    auto checked = check_encodable(taken);
    ASSERT_FALSE(checked);
    EXPECT_NE(checked.error().reason.find("User ID of the Transmitting User"), std::string::npos);
    // encode() cuts to the 255 octets the length allows, and the result still decodes.
    auto decoded = decode(encode(taken));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->transmitting_user_id->size(), 255u);

    auto rejected = base(MessageType::transmission_rejected);
    rejected.reject_cause = RejectCause{1, std::string(254, 'p')};
    EXPECT_FALSE(check_encodable(rejected));
    EXPECT_EQ(decode(encode(rejected))->reject_cause->phrase.size(), 253u);

    auto release = base(MessageType::transmission_release);
    release.track_info = TrackInfo{1, "p", std::vector<std::uint32_t>(70, 9)};
    EXPECT_FALSE(check_encodable(release));
    EXPECT_EQ(decode(encode(release))->track_info->participant_references.size(), 62u);

    auto idle = base(MessageType::transmission_idle);
    idle.duration = 5;
    checked = check_encodable(idle);
    ASSERT_FALSE(checked);
    EXPECT_EQ(checked.error().reason,
              "Transmission Idle does not carry Duration (ID 1) (TS 24.581 9.2)");

    auto bad_code = typical_messages().back();
    bad_code.acknowledged_type = 16;
    EXPECT_FALSE(check_encodable(bad_code));
}

// ---- 2. worked byte vectors -------------------------------------------------------------------

TEST(TransmissionCodecVectors, TransmissionRequest) {
    auto m = base(MessageType::transmission_request);
    m.transmission_priority = 5;
    m.transmission_indicator = transmission_indicator::normal_call;
    EXPECT_EQ(to_hex(encode(m)), to_hex(hex("80 CC 00 04"      // V=2, subtype 0, PT 204, 5 words
                                            "11 22 33 44"      // SSRC of the participant
                                            "4D 43 56 30"      // "MCV0"
                                            "00 02 05 00"      // Transmission Priority 5, spare
                                            "0D 02 80 00")));  // Transmission Indicator: normal
}

TEST(TransmissionCodecVectors, TransmissionGrantedAckRequired) {
    auto m = base(MessageType::transmission_granted, true);
    m.duration = 30;
    m.transmission_priority = 5;
    m.audio_ssrc = 0xA1B2C3D4;
    m.video_ssrc = 0x55667788;
    EXPECT_EQ(to_hex(encode(m)),
              to_hex(hex("90 CC 00 08"                  // subtype 0x10: ack + Granted, 9 words
                         "11 22 33 44"                  // SSRC of the transmission control server
                         "4D 43 56 31"                  // "MCV1"
                         "00 02 05 00"                  // Transmission Priority 5, spare
                         "01 02 00 1E"                  // Duration 30 s
                         "0E 06 A1 B2 C3 D4 00 00"      // Audio SSRC, 16 spare bits
                         "18 06 55 66 77 88 00 00")));  // Video SSRC (ID 24 [U]), spare
}

TEST(TransmissionCodecVectors, TransmissionRejectedWithPhrase) {
    auto m = base(MessageType::transmission_rejected);
    m.reject_cause = RejectCause{reject_cause::only_one_participant, "alone"};
    EXPECT_EQ(to_hex(encode(m)), to_hex(hex("81 CC 00 05"      // subtype 1: Rejected, 6 words
                                            "11 22 33 44"      // SSRC
                                            "4D 43 56 31"      // "MCV1"
                                            "02 07 00 03"      // Reject Cause, len 7, cause 3
                                            "61 6C 6F 6E"      // "alon"
                                            "65 00 00 00")));  // "e", 3 octets of padding
}

TEST(TransmissionCodecVectors, TransmissionArbitrationTaken) {
    auto m = base(MessageType::transmission_arbitration_taken);
    m.transmitting_user_id = "sip:a@b.c";
    m.permission_to_request = true;
    EXPECT_EQ(to_hex(encode(m)),
              to_hex(hex("82 CC 00 06"              // subtype 2: Arbitration Taken, 7 words
                         "11 22 33 44 4D 43 56 31"  // SSRC, "MCV1"
                         "04 09 73 69 70 3A 61 40"  // ID 4, len 9, "sip:a@"
                         "62 2E 63 00"              // "b.c", 1 octet of padding
                         "05 02 00 01")));          // Permission to Request: yes
}

TEST(TransmissionCodecVectors, TransmissionRevokedAndIdle) {
    auto revoked = base(MessageType::transmission_revoked);
    revoked.reject_cause = RejectCause{revoke_cause::media_burst_too_long, ""};
    EXPECT_EQ(to_hex(encode(revoked)), to_hex(hex("84 CC 00 03"      // subtype 4: Revoked
                                                  "11 22 33 44"      // SSRC
                                                  "4D 43 56 31"      // "MCV1"
                                                  "02 02 00 02")));  // Reject Cause 2, no phrase

    auto idle = base(MessageType::transmission_idle);
    idle.message_sequence_number = 7;
    EXPECT_EQ(to_hex(encode(idle)), to_hex(hex("8F CC 00 03"      // subtype 15: Idle
                                               "11 22 33 44"      // SSRC
                                               "4D 43 56 31"      // "MCV1"
                                               "08 02 00 07")));  // Message Sequence Number 7
}

TEST(TransmissionCodecVectors, TransmissionReleaseWithTrackInfo) {
    auto m = base(MessageType::transmission_release);
    m.track_info = TrackInfo{1, "abc", {7}};
    EXPECT_EQ(to_hex(encode(m)), to_hex(hex("82 CC 00 05"      // MCV0 subtype 2: Release
                                            "11 22 33 44"      // SSRC
                                            "4D 43 56 30"      // "MCV0"
                                            "0B 0A 01 03"      // Track Info, len 10, queueing 1,
                                                               // Participant Type length 3
                                            "61 62 63 00"      // "abc" + 1 octet of padding
                                            "00 00 00 07")));  // participant reference 7
}

TEST(TransmissionCodecVectors, TransmissionEndRequestAndResponse) {
    auto request = base(MessageType::transmission_end_request);
    request.transmission_indicator = transmission_indicator::normal_call;
    EXPECT_EQ(to_hex(encode(request)), to_hex(hex("80 CC 00 03"      // MCV2 subtype 0: End Request
                                                  "11 22 33 44"      // SSRC of the participant
                                                  "4D 43 56 32"      // "MCV2"
                                                  "0D 02 80 00")));  // Transmission Indicator

    auto response = base(MessageType::transmission_end_response);
    response.audio_ssrc = 0xA1B2C3D4;
    EXPECT_EQ(to_hex(encode(response)),
              to_hex(hex("81 CC 00 04"                  // MCV2 subtype 1: End Response
                         "11 22 33 44"                  // SSRC of the server
                         "4D 43 56 32"                  // "MCV2"
                         "0E 06 A1 B2 C3 D4 00 00")));  // Audio SSRC, spare
}

TEST(TransmissionCodecVectors, ReceiveMediaRequestAndResponse) {
    auto request = base(MessageType::receive_media_request);
    request.reception_priority = 3;
    request.video_ssrc = 0x55667788;
    EXPECT_EQ(to_hex(encode(request)),
              to_hex(hex("84 CC 00 05"                  // MCV0 subtype 4: Receive Media Request
                         "11 22 33 44 4D 43 56 30"      // SSRC, "MCV0"
                         "13 02 03 00"                  // Reception Priority 3, spare [U]
                         "18 06 55 66 77 88 00 00")));  // Video SSRC, spare

    auto response = base(MessageType::receive_media_response);
    response.result = true;
    EXPECT_EQ(to_hex(encode(response)), to_hex(hex("87 CC 00 03"      // MCV1 subtype 7
                                                   "11 22 33 44"      // SSRC
                                                   "4D 43 56 31"      // "MCV1"
                                                   "0F 02 00 01")));  // Result: granted
}

TEST(TransmissionCodecVectors, MediaTransmissionNotificationManualReception) {
    auto m = base(MessageType::media_transmission_notification);
    m.reception_mode = ReceptionMode::manual;
    EXPECT_EQ(to_hex(encode(m)), to_hex(hex("86 CC 00 03"      // MCV1 subtype 6
                                            "11 22 33 44"      // SSRC
                                            "4D 43 56 31"      // "MCV1"
                                            "16 02 00 01")));  // Reception Mode: manual
}

TEST(TransmissionCodecVectors, TransmissionControlAckForAGranted) {
    const auto ack = typical_messages().back();
    EXPECT_EQ(to_hex(encode(ack)),
              to_hex(hex("84 CC 00 06"                  // MCV2 subtype 4: Ack, 7 words
                         "11 22 33 44"                  // SSRC
                         "4D 43 56 32"                  // "MCV2"
                         "0A 02 00 00"                  // Source: transmission participant
                         "0C 02 00 00"                  // Message Type: 0, spare
                         "10 06 4D 43 56 31 00 00")));  // Message Name "MCV1", spare
}

// ---- 3. tshark --------------------------------------------------------------------------------

// tshark 4.0.17 has no MCVideo dissector (docs/mcvideo.md): it shows a generic APP packet. This
// checks the framing (length, name, subtype) and that the application data are our fields.
constexpr std::uint16_t kControlPort = 40200;

class TransmissionTshark : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!mcx::test::have_tshark()) GTEST_SKIP() << "tshark not installed";
        const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() /
               ("mcx-transmission-" + std::to_string(::getpid()) + "-" + test->name());
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ignored;
        if (!dir_.empty()) fs::remove_all(dir_, ignored);
    }

    std::string write_pcap(const std::vector<Bytes>& datagrams) {
        const auto path = (dir_ / "transmission.pcap").string();
        auto writer = net::PcapWriter::open(path);
        EXPECT_TRUE(writer) << writer.error().reason;
        if (!writer) return path;
        for (const auto& d : datagrams) {
            (*writer)->write(net::Endpoint{"127.0.0.1", 40201},
                             net::Endpoint{"127.0.0.1", kControlPort},
                             std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
        }
        return path;
    }

    // tshark -T fields: one map field -> value per frame; repeated values joined with ';'.
    std::vector<std::map<std::string, std::string>> fields(const std::string& pcap,
                                                           const std::vector<std::string>& names) {
        std::string command = "tshark -r '" + pcap +
                              "' -d udp.port==" + std::to_string(kControlPort) +
                              ",rtcp -T fields -E occurrence=a -E aggregator=';'";
        for (const auto& n : names) command += " -e " + n;
        command += " 2>/dev/null";
        std::vector<std::map<std::string, std::string>> frames;
        std::istringstream lines(mcx::test::command_output(command));
        std::string line;
        while (std::getline(lines, line)) {
            std::map<std::string, std::string> frame;
            std::size_t start = 0;
            for (const auto& n : names) {
                const auto tab = line.find('\t', start);
                frame[n] =
                    line.substr(start, tab == std::string::npos ? std::string::npos : tab - start);
                start = tab == std::string::npos ? line.size() : tab + 1;
            }
            frames.push_back(std::move(frame));
        }
        return frames;
    }

    fs::path dir_;
};

std::string lower_hex(const Bytes& bytes, std::size_t from) {
    std::string out;
    char buf[3];
    for (std::size_t i = from; i < bytes.size(); ++i) {
        std::snprintf(buf, sizeof(buf), "%02x", bytes[i]);
        out += buf;
    }
    return out;
}

TEST_F(TransmissionTshark, EveryMessageTypeIsAWellFormedAppPacket) {
    std::vector<Bytes> datagrams;
    for (const auto& m : typical_messages()) datagrams.push_back(encode(m));
    const auto frames =
        fields(write_pcap(datagrams), {"rtcp.app.name", "rtcp.app.subtype", "rtcp.ssrc.identifier",
                                       "rtcp.length_check", "rtcp.app.data", "_ws.malformed"});
    const auto messages = typical_messages();
    ASSERT_EQ(frames.size(), messages.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const auto& f = frames[i];
        const auto& m = messages[i];
        SCOPED_TRACE(to_string(m.type));
        EXPECT_EQ(f.at("rtcp.app.name"), to_string(name_of(m.type)));
        EXPECT_EQ(f.at("rtcp.app.subtype"),
                  std::to_string((m.ack_required ? 16 : 0) + type_code(m.type)));
        EXPECT_EQ(f.at("rtcp.ssrc.identifier"), "0x11223344");
        EXPECT_EQ(f.at("rtcp.length_check"), "1") << "length field agrees with the packet";
        EXPECT_EQ(f.at("rtcp.app.data"), lower_hex(datagrams[i], 12));
        EXPECT_EQ(f.at("_ws.malformed"), "");
    }
}

TEST_F(TransmissionTshark, TwoPacketsInOneDatagram) {
    const auto messages = typical_messages();
    const auto datagram = concat({encode(messages[0]), encode(messages.back())});
    const auto frames =
        fields(write_pcap({datagram}), {"rtcp.app.name", "rtcp.app.subtype", "_ws.malformed"});
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].at("rtcp.app.name"), "MCV0;MCV2");
    EXPECT_EQ(frames[0].at("rtcp.app.subtype"), "16;4");
    EXPECT_EQ(frames[0].at("_ws.malformed"), "");
}

// ---- 4. malformed input -----------------------------------------------------------------------

Bytes rich_packet() {
    auto taken = typical_messages()[6];
    taken.track_info = TrackInfo{1, "abc", {7, 8}};
    taken.functional_alias = "sip:fa@mcx.example";
    return encode(taken);
}

void expect_rejected(const Bytes& packet, std::string_view reason_part,
                     Errc code = Errc::malformed) {
    const auto before = packet;
    auto decoded = decode(packet);
    ASSERT_FALSE(decoded) << "accepted: " << to_hex(packet);
    EXPECT_EQ(decoded.error().code, code) << decoded.error().reason;
    EXPECT_NE(decoded.error().reason.find(reason_part), std::string::npos)
        << decoded.error().reason;
    EXPECT_EQ(packet, before) << "input untouched";
    EXPECT_FALSE(decode_datagram(packet)) << "a datagram of one bad packet fails too";
}

TEST(TransmissionMalformed, TruncatedAtEveryLength) {
    const auto packet = rich_packet();
    ASSERT_TRUE(decode(packet));
    for (std::size_t size = 0; size < packet.size(); ++size) {
        const Bytes cut(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(size));
        const auto before = cut;
        EXPECT_FALSE(decode(cut)) << "size " << size;
        EXPECT_FALSE(decode_datagram(cut)) << "size " << size;
        EXPECT_EQ(cut, before);
    }
}

TEST(TransmissionMalformed, HeaderChecks) {
    const auto packet = hex("8F CC 00 03 11 22 33 44 4D 43 56 31 08 02 00 07");  // Idle
    ASSERT_TRUE(decode(packet));
    auto with = [&](std::size_t at, std::uint8_t value) {
        auto copy = packet;
        copy[at] = value;
        return copy;
    };
    expect_rejected(with(0, 0x4F), "version 1");
    expect_rejected(with(0, 0x0F), "version 0");
    expect_rejected(with(0, 0xAF), "padding bit");
    expect_rejected(with(1, 205), "packet type 205");
    expect_rejected(with(1, 200), "packet type 200");
    expect_rejected(with(3, 0x04), "length field says 20 octets, packet has 16");
    expect_rejected(with(3, 0x02), "length field says 12 octets, packet has 16");
    expect_rejected(with(2, 0x01), "length field");
    auto unaligned = packet;
    unaligned.push_back(0);
    expect_rejected(unaligned, "length field");
}

TEST(TransmissionMalformed, BadAppName) {
    expect_rejected(app_packet("MCPT", 0x00, {}), "APP name \"MCPT\" is not MCV0, MCV1 or MCV2");
    expect_rejected(app_packet("MCV4", 0x00, {}), "APP name \"MCV4\"");
    expect_rejected(app_packet("mcv0", 0x00, {}), "APP name \"mcv0\"");
    expect_rejected(app_packet("NCV0", 0x00, {}), "APP name");
    expect_rejected(app_packet(std::string_view("MCV\0", 4), 0x00, {}), "APP name \"MCV?\"");
    expect_rejected(app_packet("MCV3", 0x00, {}), "MBMS subchannel control", Errc::unsupported);
}

TEST(TransmissionMalformed, WrongSubtypeForTheName) {
    // MCV0 leaves 1, 6 and 9 to 15 unassigned; MCV2 assigns 0 to 4 only.
    for (std::uint8_t code : {1, 6, 9, 12, 15}) {
        expect_rejected(app_packet("MCV0", code, {}), "unknown MCV0 message type");
    }
    for (std::uint8_t code : {5, 6, 10, 15}) {
        expect_rejected(app_packet("MCV2", code, {}), "unknown MCV2 message type");
    }
    // Assigned, but not used by a private call: unsupported rather than malformed.
    for (std::uint8_t code : {5, 7, 8}) {
        expect_rejected(app_packet("MCV0", code, {}), "not supported", Errc::unsupported);
    }
    for (std::uint8_t code : {8, 9, 10, 11, 12, 13}) {
        expect_rejected(app_packet("MCV1", code, {}), "not supported", Errc::unsupported);
    }
    // A valid Transmission Idle (MCV1 15) under the participant's name is not a message.
    expect_rejected(app_packet("MCV0", 0x0F, hex("08 02 00 07")), "unknown MCV0 message type 15");
    // The Ack has no acknowledgement-required variant.
    expect_rejected(app_packet("MCV2", 0x14, hex("0A 02 00 00")),
                    "Transmission Control Ack has no acknowledgement-required subtype");
}

TEST(TransmissionMalformed, OddPadding) {
    // Padding left out after a 1-octet User ID: the next field starts mid-word, so its ID is
    // read as padding and the rest misparses.
    expect_rejected(app_packet("MCV0", 0x02, hex("06 01 61 08 02 00 07 00")),
                    "Reject Cause (ID 2) is shorter");
    // Padding counted in the length of a fixed-size field.
    expect_rejected(app_packet("MCV1", 0x0F, hex("08 04 00 07 00 00 00 00")),
                    "Message Sequence Number (ID 8) has length 4, expected 2");
    // A last field whose value runs into where its padding should be and past the end.
    expect_rejected(app_packet("MCV1", 0x02, hex("04 03 61 62")), "runs past the end");
    // Whole words only: a packet with a dangling octet never matches its length field.
    auto dangling = app_packet("MCV1", 0x0F, hex("08 02 00 07"));
    dangling.push_back(0);
    expect_rejected(dangling, "length field");
}

TEST(TransmissionMalformed, FieldRunningPastTheEnd) {
    expect_rejected(app_packet("MCV1", 0x0F, hex("08 05 00 07")), "runs past the end");
    expect_rejected(app_packet("MCV1", 0x02, hex("04 FF 61 62")), "runs past the end");
    // An unknown field is skipped by its length, which must still fit.
    expect_rejected(app_packet("MCV1", 0x0F, hex("08 02 00 07 C8 05 00 00")),
                    "field (ID 200) of 5 octets runs past the end");
}

TEST(TransmissionMalformed, WrongFixedFieldLength) {
    const struct {
        const char* fields;
        const char* why;
    } cases[] = {
        {"00 01 05 00", "Transmission Priority (ID 0) has length 1, expected 2"},
        {"01 04 00 1E 00 00 00 00", "Duration (ID 1) has length 4"},
        {"02 01 01 00", "Reject Cause (ID 2) is shorter"},
        {"03 01 02 00", "Queue Info (ID 3) has length 1"},
        {"05 01 01 00", "Permission to Request the Transmission (ID 5) has length 1"},
        {"07 00 00 00", "Queue Size (ID 7) has length 0"},
        {"08 03 00 07 00 00 00 00", "Message Sequence Number (ID 8) has length 3"},
        {"0A 01 00 00", "Source (ID 10) has length 1"},
        {"0B 01 01 00", "Track Info (ID 11) is shorter"},
        {"0C 01 01 00", "Message Type (ID 12) has length 1"},
        {"0D 04 80 00 00 00 00 00", "Transmission Indicator (ID 13) has length 4"},
        {"0E 04 11 22 33 44 00 00", "Audio SSRC of the Transmitting User (ID 14) has length 4"},
        {"0F 01 01 00", "Result (ID 15) has length 1"},
        {"10 04 4D 43 56 31 00 00", "Message Name (ID 16) has length 4, expected 6"},
        {"13 01 03 00", "Reception Priority (ID 19) has length 1"},
        {"16 03 00 01 00 00 00 00", "Reception Mode (ID 22) has length 3"},
        {"18 08 11 22 33 44 00 00 00 00 00 00",
         "Video SSRC of the Transmitting User (ID 24) has length 8, expected 6"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.fields);
        expect_rejected(app_packet("MCV1", 0x02, hex(c.fields)), c.why);
    }
}

TEST(TransmissionMalformed, ValuesTheModelCannotHold) {
    expect_rejected(app_packet("MCV1", 0x02, hex("05 02 00 02")), "not 0 or 1");
    expect_rejected(app_packet("MCV1", 0x07, hex("0F 02 01 00")), "Result (ID 15) has value 256");
    expect_rejected(app_packet("MCV1", 0x06, hex("16 02 00 02")), "Reception Mode (ID 22)");
    expect_rejected(app_packet("MCV2", 0x04, hex("0A 02 00 04")), "unknown value 4");
    expect_rejected(app_packet("MCV2", 0x04, hex("0C 02 21 00")), "not a 5-bit subtype");
    expect_rejected(app_packet("MCV2", 0x04, hex("10 06 4D 43 50 54 00 00")),
                    "Message Name (ID 16) names \"MCPT\"");
    expect_rejected(app_packet("MCV2", 0x04, hex("10 06 4D 43 56 33 00 00")), "names \"MCV3\"");
    // Track Info: Participant Type (5 -> 8 padded) past the field; references not whole words.
    expect_rejected(app_packet("MCV0", 0x02, hex("0B 06 01 05 61 62 63 64")), "Participant Type");
    expect_rejected(app_packet("MCV0", 0x02, hex("0B 08 01 01 61 00 00 00 00 07 00 00")),
                    "not whole 32-bit");
}

TEST(TransmissionMalformed, TolerancesAreExact) {
    // The acknowledged type may carry the ack bit it had in its subtype.
    auto ack = decode(app_packet("MCV2", 0x04, hex("0C 02 10 00 10 06 4D 43 56 31 00 00")));
    ASSERT_TRUE(ack) << ack.error().reason;
    EXPECT_EQ(ack->acknowledged_type, 0);
    EXPECT_EQ(acknowledged_message(*ack), MessageType::transmission_granted);
    // Non-zero padding and spare octets are ignored.
    auto taken = decode(app_packet("MCV1", 0x02, hex("04 01 61 FF 0E 06 A1 B2 C3 D4 FF FF")));
    ASSERT_TRUE(taken) << taken.error().reason;
    EXPECT_EQ(taken->transmitting_user_id, "a");
    EXPECT_EQ(taken->audio_ssrc, 0xA1B2C3D4u);
    // One all-zero trailing word is tolerated, two are not (the first reads as a Transmission
    // Priority of length 0).
    EXPECT_TRUE(decode(app_packet("MCV1", 0x0F, hex("08 02 00 07 00 00 00 00"))));
    EXPECT_TRUE(decode(app_packet("MCV1", 0x0F, hex("00 00 00 00"))));
    expect_rejected(app_packet("MCV1", 0x0F, hex("08 02 00 07 00 00 00 00 00 00 00 00")),
                    "Transmission Priority (ID 0) has length 0");
}

TEST(TransmissionMalformed, UnknownFieldsAreSkipped) {
    // ID 23 (the other reading of Video SSRC), ID 20 (MCVideo Group Identity, not modelled)
    // and ID 200 around a Message Sequence Number; every field has a 1-octet length.
    auto idle = decode(app_packet("MCV1", 0x0F,
                                  hex("17 06 55 66 77 88 00 00"
                                      "14 03 01 02 03 00 00 00"
                                      "08 02 00 07"
                                      "C8 01 AA 00")));
    ASSERT_TRUE(idle) << idle.error().reason;
    auto expected = base(MessageType::transmission_idle);
    expected.message_sequence_number = 7;
    EXPECT_EQ(*idle, expected);
}

// Deterministic mutations of valid packets: never a crash, and whatever decodes re-encodes to
// something that decodes to the same message.
TEST(TransmissionMalformed, MutatedPacketsNeverBreakTheCodec) {
    std::uint32_t state = 12345;
    auto next = [&] { return state = state * 1103515245u + 12345u, (state >> 16) & 0x7fff; };
    std::vector<Bytes> seeds;
    for (const auto& m : typical_messages()) seeds.push_back(encode(m));
    seeds.push_back(rich_packet());
    int accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        auto packet = seeds[next() % seeds.size()];
        const int edits = 1 + static_cast<int>(next() % 4);
        for (int e = 0; e < edits; ++e) {
            packet[next() % packet.size()] = static_cast<std::uint8_t>(next());
        }
        auto decoded = decode(packet);
        if (!decoded) continue;
        ++accepted;
        auto again = decode(encode(*decoded));
        ASSERT_TRUE(again) << to_hex(packet);
        EXPECT_EQ(*again, *decoded) << to_hex(packet);
    }
    EXPECT_GT(accepted, 0);
}

// ---- 5. datagrams -----------------------------------------------------------------------------

TEST(TransmissionDatagram, PacketsOfDifferentNamesBackToBack) {
    const auto messages = typical_messages();
    const auto datagram = concat({encode(messages[4]), encode(messages.back())});
    auto decoded = decode_datagram(datagram);
    ASSERT_TRUE(decoded) << decoded.error().reason;
    ASSERT_EQ(decoded->size(), 2u);
    EXPECT_EQ((*decoded)[0], messages[4]);
    EXPECT_EQ((*decoded)[1], messages.back());
}

TEST(TransmissionDatagram, AnyBadPacketFailsTheWholeDatagram) {
    const auto good = encode(typical_messages()[0]);
    EXPECT_FALSE(decode_datagram(Bytes{}));

    auto decoded = decode_datagram(concat({good, hex("80 CC 00")}));
    ASSERT_FALSE(decoded);
    EXPECT_NE(decoded.error().reason.find("packet 2: 3 trailing octets"), std::string::npos)
        << decoded.error().reason;

    decoded = decode_datagram(concat({good, hex("80 CC 00 09 11 22 33 44 4D 43 56 30")}));
    ASSERT_FALSE(decoded);
    EXPECT_NE(decoded.error().reason.find("packet 2: length field says 40 octets, 12 remain"),
              std::string::npos)
        << decoded.error().reason;

    decoded = decode_datagram(concat({good, hex("80 CC 00 02 11 22 33 44 4D 43 50 54")}));
    ASSERT_FALSE(decoded);
    EXPECT_NE(decoded.error().reason.find("packet 2: APP name"), std::string::npos);

    decoded = decode_datagram(concat({hex("88 CC 00 02 11 22 33 44 4D 43 56 31"), good}));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().code, Errc::unsupported);
    EXPECT_NE(decoded.error().reason.find("packet 1: MCV1 message type 8"), std::string::npos)
        << decoded.error().reason;
}

}  // namespace
}  // namespace mcx::proto::transmission
