#pragma once
// An IPv4 network in CIDR notation ("10.20.0.0/16", or one address "192.0.2.7"), for the
// configuration's lists of networks media may be sent to.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace mcx {

// The address in host byte order; nullopt unless dotted-quad IPv4.
std::optional<std::uint32_t> parse_ipv4(std::string_view address);

struct Ipv4Network {
    std::uint32_t base = 0;  // host byte order, the host bits zero
    std::uint8_t prefix = 32;

    static Result<Ipv4Network> parse(std::string_view cidr);
    bool contains(std::uint32_t address) const;
    std::string to_string() const;
    bool operator==(const Ipv4Network&) const = default;
};

}  // namespace mcx
