#include "server/media_address_policy.hpp"

namespace mcx::server {

Result<void> check_media_addresses(const proto::SessionDescription& sd,
                                   const std::string& signalling_host,
                                   const std::vector<Ipv4Network>& allowed) {
    for (const auto& media : sd.media) {
        if (media.port == 0) continue;  // refused or disabled: nothing is sent there
        const auto& address = media.address.empty() ? sd.address : media.address;
        if (address == signalling_host) continue;
        const auto parsed = parse_ipv4(address);
        bool inside = false;
        for (const auto& network : allowed)
            inside = inside || (parsed && network.contains(*parsed));
        if (!inside) {
            return fail(Errc::forbidden, "media address " + (address.empty() ? "(none)" : address) +
                                             " of the " + media.type +
                                             " stream is not the address the signalling came "
                                             "from (" +
                                             signalling_host + ")");
        }
    }
    return {};
}

}  // namespace mcx::server
