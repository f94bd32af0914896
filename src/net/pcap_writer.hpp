#pragma once
// Writes datagrams as IPv4/UDP frames into a pcap file (LINKTYPE_RAW) that tshark and
// Wireshark open. SIP over TCP is written as UDP frames too, one message per frame.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "net/endpoint.hpp"

namespace mcx::net {

class PcapWriter {
  public:
    static Result<std::unique_ptr<PcapWriter>> open(const std::string& path);
    ~PcapWriter();
    PcapWriter(const PcapWriter&) = delete;
    PcapWriter& operator=(const PcapWriter&) = delete;

    // Thread-safe. Datagrams longer than an IPv4/UDP frame allows are cut.
    void write(const Endpoint& src, const Endpoint& dst, std::string_view payload);

  private:
    explicit PcapWriter(std::FILE* file) : file_(file) {}
    std::FILE* file_;
    std::mutex mutex_;
};

}  // namespace mcx::net
