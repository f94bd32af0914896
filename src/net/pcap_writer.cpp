#include "net/pcap_writer.hpp"

#include <arpa/inet.h>

#include <array>
#include <chrono>
#include <cstring>

namespace mcx::net {

namespace {

constexpr std::uint32_t kPcapMagic = 0xa1b2c3d4;  // microsecond timestamps, native order
constexpr std::uint32_t kLinktypeRaw = 101;       // raw IPv4/IPv6, no link header
constexpr std::size_t kMaxPayload = 65535 - 20 - 8;

template <class T>
void put(std::uint8_t*& p, T value) {
    std::memcpy(p, &value, sizeof(T));
    p += sizeof(T);
}

std::uint16_t ip_checksum(const std::uint8_t* header, std::size_t len) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < len; i += 2) sum += (header[i] << 8) | header[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

}  // namespace

Result<std::unique_ptr<PcapWriter>> PcapWriter::open(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (!file) {
        return fail(Errc::io, "cannot open pcap file " + path + ": " + std::strerror(errno));
    }
    std::array<std::uint8_t, 24> header{};
    auto* p = header.data();
    put<std::uint32_t>(p, kPcapMagic);
    put<std::uint16_t>(p, 2);  // version 2.4
    put<std::uint16_t>(p, 4);
    put<std::int32_t>(p, 0);       // thiszone
    put<std::uint32_t>(p, 0);      // sigfigs
    put<std::uint32_t>(p, 65535);  // snaplen
    put<std::uint32_t>(p, kLinktypeRaw);
    std::fwrite(header.data(), 1, header.size(), file);
    std::fflush(file);
    return std::unique_ptr<PcapWriter>(new PcapWriter(file));
}

PcapWriter::~PcapWriter() {
    std::fclose(file_);
}

void PcapWriter::write(const Endpoint& src, const Endpoint& dst, std::string_view payload) {
    if (payload.size() > kMaxPayload) payload = payload.substr(0, kMaxPayload);
    in_addr src_ip{}, dst_ip{};
    if (inet_pton(AF_INET, src.host.c_str(), &src_ip) != 1) src_ip.s_addr = htonl(INADDR_LOOPBACK);
    if (inet_pton(AF_INET, dst.host.c_str(), &dst_ip) != 1) dst_ip.s_addr = htonl(INADDR_LOOPBACK);

    const auto total = static_cast<std::uint16_t>(20 + 8 + payload.size());
    std::array<std::uint8_t, 28> ip_udp{};
    ip_udp[0] = 0x45;  // IPv4, 5-word header
    ip_udp[2] = static_cast<std::uint8_t>(total >> 8);
    ip_udp[3] = static_cast<std::uint8_t>(total & 0xff);
    ip_udp[6] = 0x40;  // don't fragment
    ip_udp[8] = 64;    // TTL
    ip_udp[9] = 17;    // UDP
    std::memcpy(&ip_udp[12], &src_ip.s_addr, 4);
    std::memcpy(&ip_udp[16], &dst_ip.s_addr, 4);
    const auto checksum = ip_checksum(ip_udp.data(), 20);
    ip_udp[10] = static_cast<std::uint8_t>(checksum >> 8);
    ip_udp[11] = static_cast<std::uint8_t>(checksum & 0xff);
    const auto udp_len = static_cast<std::uint16_t>(8 + payload.size());
    ip_udp[20] = static_cast<std::uint8_t>(src.port >> 8);
    ip_udp[21] = static_cast<std::uint8_t>(src.port & 0xff);
    ip_udp[22] = static_cast<std::uint8_t>(dst.port >> 8);
    ip_udp[23] = static_cast<std::uint8_t>(dst.port & 0xff);
    ip_udp[24] = static_cast<std::uint8_t>(udp_len >> 8);
    ip_udp[25] = static_cast<std::uint8_t>(udp_len & 0xff);
    // UDP checksum 0: not computed (allowed for IPv4, RFC 768).

    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
    std::array<std::uint8_t, 16> record{};
    auto* p = record.data();
    put<std::uint32_t>(p, static_cast<std::uint32_t>(usec / 1000000));
    put<std::uint32_t>(p, static_cast<std::uint32_t>(usec % 1000000));
    put<std::uint32_t>(p, total);
    put<std::uint32_t>(p, total);

    std::lock_guard lock(mutex_);
    std::fwrite(record.data(), 1, record.size(), file_);
    std::fwrite(ip_udp.data(), 1, ip_udp.size(), file_);
    std::fwrite(payload.data(), 1, payload.size(), file_);
    std::fflush(file_);
}

}  // namespace mcx::net
