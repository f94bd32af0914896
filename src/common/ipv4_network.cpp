#include "common/ipv4_network.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace mcx {

std::optional<std::uint32_t> parse_ipv4(std::string_view address) {
    if (address.empty() || address.size() > 15) return std::nullopt;
    const std::string text(address);
    in_addr parsed{};
    if (inet_pton(AF_INET, text.c_str(), &parsed) != 1) return std::nullopt;
    return ntohl(parsed.s_addr);
}

Result<Ipv4Network> Ipv4Network::parse(std::string_view cidr) {
    const auto slash = cidr.find('/');
    const auto address = parse_ipv4(cidr.substr(0, slash));
    if (!address) {
        return fail(Errc::invalid_argument,
                    "'" + std::string(cidr) + "' is not an IPv4 network (a.b.c.d/len)");
    }
    unsigned prefix = 32;
    if (slash != std::string_view::npos) {
        const auto digits = cidr.substr(slash + 1);
        const auto* end = digits.data() + digits.size();
        if (digits.empty() || std::from_chars(digits.data(), end, prefix).ptr != end ||
            prefix > 32) {
            return fail(Errc::invalid_argument,
                        "'" + std::string(cidr) + "': the prefix length must be 0..32");
        }
    }
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    if ((*address & ~mask) != 0) {
        return fail(Errc::invalid_argument,
                    "'" + std::string(cidr) + "' has host bits set beyond its prefix length");
    }
    return Ipv4Network{*address, static_cast<std::uint8_t>(prefix)};
}

bool Ipv4Network::contains(std::uint32_t address) const {
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    return (address & mask) == base;
}

std::string Ipv4Network::to_string() const {
    in_addr a{htonl(base)};
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &a, text, sizeof text);
    return std::string(text) + "/" + std::to_string(prefix);
}

}  // namespace mcx
