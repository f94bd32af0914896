#pragma once
// A ladder diagram (message sequence chart) drawn from a real trace: every SIP request and
// response and every floor control message of the merged pcap, one column per client and MC
// system, with the steps of TS 23.280 10.16.3 marked. One self-contained HTML file with an
// inline SVG (no network access needed to open it).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/endpoint.hpp"

namespace mcx::demo {

// One frame of the trace as tshark reads it.
struct TraceFrame {
    double time = 0;  // seconds since the epoch
    net::Endpoint src;
    net::Endpoint dst;
    std::string sip_line;               // request or status line; empty when not SIP
    std::string cseq_method;            // SIP: the method of its CSeq
    std::vector<std::uint8_t> payload;  // the UDP payload
};

// Reads a pcap with tshark (fields of every frame). The error says why tshark could not.
Result<std::vector<TraceFrame>> read_trace(const std::string& pcap);

struct LadderMessage {
    double time = 0;
    std::string from;  // column names
    std::string to;
    std::string label;  // "INVITE sip:mcptt-orig@b.mcx", "200 OK (INVITE)", "Floor Granted"
    bool sip = true;    // false: floor control
    std::size_t fingerprint = 0;  // of the payload: one message seen twice has the same
};

struct LadderMark {
    double time = 0;
    std::string text;  // e.g. "A -> B step 1: release"
};

// "INVITE sip:x", "200 OK (INVITE)", or the floor message names; nullopt for a frame that is
// neither SIP nor floor control, and for the keep-alive (OPTIONS and its answers).
std::optional<std::string> label_of(const TraceFrame& frame);

std::size_t fingerprint_of(const TraceFrame& frame);

// Frames to messages between the columns `column_of` names (frames whose ends it does not know
// are skipped), in time order.
std::vector<LadderMessage> ladder_messages(
    const std::vector<TraceFrame>& frames,
    const std::function<std::optional<std::string>(const net::Endpoint&)>& column_of);

// The same message seen by two systems (both ends of an interconnect hop) is one arrow:
// messages with the same ends, label and payload within `window` seconds collapse into one.
std::vector<LadderMessage> collapse_duplicates(std::vector<LadderMessage> messages,
                                               double window = 0.2);

std::string render_ladder_html(const std::string& title, const std::vector<std::string>& columns,
                               const std::vector<LadderMessage>& messages,
                               const std::vector<LadderMark>& marks);

}  // namespace mcx::demo
