#include "demo/ladder.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <functional>
#include <map>
#include <sstream>
#include <string_view>

#include "common/process.hpp"
#include "demo/demo.hpp"
#include "proto/floor_message.hpp"

namespace mcx::demo {

namespace {

std::vector<std::string> split(const std::string& line, char sep) {
    std::vector<std::string> out;
    std::string field;
    for (char c : line) {
        if (c == sep) {
            out.push_back(field);
            field.clear();
        } else {
            field += c;
        }
    }
    out.push_back(field);
    return out;
}

std::vector<std::uint8_t> from_hex(const std::string& hex) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        std::uint8_t byte = 0;
        std::from_chars(hex.data() + i, hex.data() + i + 2, byte, 16);
        out.push_back(byte);
    }
    return out;
}

std::uint16_t port_of(const std::string& text) {
    std::uint16_t port = 0;
    std::from_chars(text.data(), text.data() + text.size(), port);
    return port;
}

std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// "INVITE sip:bob@a.mcx SIP/2.0" -> "INVITE sip:bob@a.mcx"; "SIP/2.0 200 OK" -> "200 OK".
std::string sip_label(const std::string& line) {
    if (line.rfind("SIP/2.0 ", 0) == 0) return line.substr(8);
    const auto version = line.rfind(" SIP/2.0");
    return version == std::string::npos ? line : line.substr(0, version);
}

}  // namespace

std::size_t fingerprint_of(const TraceFrame& frame) {
    return std::hash<std::string_view>{}(std::string_view(
        reinterpret_cast<const char*>(frame.payload.data()), frame.payload.size()));
}

Result<std::vector<TraceFrame>> read_trace(const std::string& pcap) {
    // One line per frame: time, addresses, SIP first line, UDP payload (hex), and the TCP
    // ports and payload (mcxd writes SIP over TLS as clear text on TCP).
    const auto program = find_program("tshark");
    if (program.empty()) return fail(Errc::not_found, "tshark is not installed");
    auto tshark = ChildProcess::spawn({program,
                                       "-r",
                                       pcap,
                                       "-T",
                                       "fields",
                                       "-E",
                                       "separator=|",
                                       "-e",
                                       "frame.time_epoch",
                                       "-e",
                                       "ip.src",
                                       "-e",
                                       "udp.srcport",
                                       "-e",
                                       "ip.dst",
                                       "-e",
                                       "udp.dstport",
                                       "-e",
                                       "sip.Request-Line",
                                       "-e",
                                       "sip.Status-Line",
                                       "-e",
                                       "sip.CSeq.method",
                                       "-e",
                                       "udp.payload",
                                       "-e",
                                       "tcp.srcport",
                                       "-e",
                                       "tcp.dstport",
                                       "-e",
                                       "tcp.payload"},
                                      "/dev/null");
    if (!tshark) return fail(Errc::io, "tshark: " + tshark.error().reason);
    std::vector<TraceFrame> frames;
    while (auto line = tshark->read_line(std::chrono::seconds(20))) {
        const auto f = split(*line, '|');
        if (f.size() < 12) continue;
        const bool tcp = f[2].empty() && !f[9].empty();
        TraceFrame frame;
        frame.time = std::strtod(f[0].c_str(), nullptr);
        frame.src = net::Endpoint{f[1], port_of(tcp ? f[9] : f[2])};
        frame.dst = net::Endpoint{f[3], port_of(tcp ? f[10] : f[4])};
        frame.sip_line = !f[5].empty() ? f[5] : f[6];
        frame.cseq_method = f[7];
        frame.payload = from_hex(tcp ? f[11] : f[8]);
        frames.push_back(std::move(frame));
    }
    const auto status = tshark->wait(std::chrono::seconds(5));
    if (status && *status != 0) return fail(Errc::io, "tshark could not read " + pcap);
    return frames;
}

std::vector<LadderMessage> collapse_duplicates(std::vector<LadderMessage> messages, double window) {
    std::stable_sort(
        messages.begin(), messages.end(),
        [](const LadderMessage& a, const LadderMessage& b) { return a.time < b.time; });
    std::vector<LadderMessage> out;
    for (auto& m : messages) {
        const bool seen = std::any_of(out.rbegin(), out.rend(), [&](const LadderMessage& o) {
            return m.time - o.time <= window && o.from == m.from && o.to == m.to &&
                   o.label == m.label && o.fingerprint == m.fingerprint;
        });
        if (!seen) out.push_back(std::move(m));
    }
    return out;
}

std::optional<std::string> label_of(const TraceFrame& frame) {
    if (!frame.sip_line.empty()) {
        if (frame.cseq_method == "OPTIONS") return std::nullopt;  // keep-alive
        auto label = sip_label(frame.sip_line);
        if (frame.sip_line.rfind("SIP/2.0 ", 0) == 0 && !frame.cseq_method.empty()) {
            label += " (" + frame.cseq_method + ")";
        }
        return label;
    }
    auto messages = proto::floor::decode_datagram(frame.payload);
    if (!messages || messages->empty()) return std::nullopt;
    std::string label;
    for (const auto& m : *messages) {
        if (!label.empty()) label += " + ";
        label += proto::floor::to_string(m.type);
        if (m.granted_party_identity) label += " (" + *m.granted_party_identity + ")";
    }
    return label;
}

std::vector<LadderMessage> ladder_messages(
    const std::vector<TraceFrame>& frames,
    const std::function<std::optional<std::string>(const net::Endpoint&)>& column_of) {
    std::vector<LadderMessage> out;
    for (const auto& frame : frames) {
        auto label = label_of(frame);
        auto from = column_of(frame.src);
        auto to = column_of(frame.dst);
        if (!label || !from || !to || *from == *to) continue;
        out.push_back(LadderMessage{frame.time, *from, *to, *label, !frame.sip_line.empty(),
                                    fingerprint_of(frame)});
    }
    std::stable_sort(out.begin(), out.end(), [](const LadderMessage& a, const LadderMessage& b) {
        return a.time < b.time;
    });
    return out;
}

std::string render_ladder_html(const std::string& title, const std::vector<std::string>& columns,
                               const std::vector<LadderMessage>& messages,
                               const std::vector<LadderMark>& marks) {
    constexpr int kLeft = 90;
    constexpr int kColumn = 190;
    constexpr int kRow = 22;
    constexpr int kTop = 60;
    std::map<std::string, int> x;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        x[columns[i]] = kLeft + static_cast<int>(i) * kColumn + kColumn / 2;
    }
    // Rows: messages and marks merged in time order.
    struct Row {
        double time;
        const LadderMessage* message;
        const LadderMark* mark;
    };
    std::vector<Row> rows;
    for (const auto& m : messages) rows.push_back({m.time, &m, nullptr});
    for (const auto& k : marks) rows.push_back({k.time, nullptr, &k});
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.time < b.time; });
    const double start = rows.empty() ? 0 : rows.front().time;
    const int width = kLeft + static_cast<int>(columns.size()) * kColumn + 20;
    const int height = kTop + static_cast<int>(rows.size()) * kRow + 40;

    std::ostringstream svg;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" font-family=\"monospace\" font-size=\"11\">\n"
        << "<defs><marker id=\"a\" markerWidth=\"8\" markerHeight=\"8\" refX=\"8\" refY=\"4\" "
           "orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"context-stroke\"/></marker>"
           "</defs>\n";
    for (const auto& column : columns) {
        svg << "<text x=\"" << x[column] << "\" y=\"30\" text-anchor=\"middle\" font-size=\"13\" "
            << "font-weight=\"bold\">" << escape(column) << "</text>\n"
            << "<line x1=\"" << x[column] << "\" y1=\"40\" x2=\"" << x[column] << "\" y2=\""
            << height - 20 << "\" stroke=\"#999\" stroke-dasharray=\"4,3\"/>\n";
    }
    int y = kTop;
    for (const auto& row : rows) {
        char when[32];
        std::snprintf(when, sizeof(when), "%8.3f", row.time - start);
        if (row.mark) {
            svg << "<rect x=\"0\" y=\"" << y - 14 << "\" width=\"" << width << "\" height=\"18\" "
                << "fill=\"#fff3c4\"/>\n<text x=\"4\" y=\"" << y << "\">" << when << "</text>"
                << "<text class=\"mark\" x=\"" << kLeft << "\" y=\"" << y
                << "\" font-weight=\"bold\">" << escape(row.mark->text) << "</text>\n";
        } else {
            const auto& m = *row.message;
            const int x1 = x[m.from];
            const int x2 = x[m.to];
            const char* colour = m.sip ? "#1f4e9e" : "#2e7d32";
            svg << "<text x=\"4\" y=\"" << y << "\" fill=\"#666\">" << when << "</text>"
                << "<line x1=\"" << x1 << "\" y1=\"" << y << "\" x2=\"" << x2 << "\" y2=\"" << y
                << "\" stroke=\"" << colour << "\" marker-end=\"url(#a)\"/>"
                << "<text class=\"" << (m.sip ? "sip" : "floor") << "\" x=\"" << (x1 + x2) / 2
                << "\" y=\"" << y - 3 << "\" text-anchor=\"middle\" fill=\"" << colour << "\">"
                << escape(m.label) << "</text>\n";
        }
        y += kRow;
    }
    svg << "</svg>\n";

    std::ostringstream html;
    html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << escape(title)
         << "</title></head>\n<body style=\"font-family:sans-serif\">\n<h1>" << escape(title)
         << "</h1>\n<p>SIP (blue) and floor control (green) from the merged trace, in time "
            "order; yellow rows mark the steps of TS 23.280 10.16.3. Times in seconds from the "
            "first message.</p>\n"
         << svg.str() << "</body></html>\n";
    return html.str();
}

}  // namespace mcx::demo
