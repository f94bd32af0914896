// Fuzzes the MCPTT user profile XML parser (TS 24.484); what parses must rebuild and reparse
// to the same profile.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/limits.hpp"
#include "proto/user_profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 4 * mcx::proto::kMaxXmlBytes) return 0;
    auto profile =
        mcx::proto::parse_user_profile(std::string_view(reinterpret_cast<const char*>(data), size));
    if (profile) {
        auto again = mcx::proto::parse_user_profile(mcx::proto::build_user_profile(*profile));
        if (!again) __builtin_trap();
        // Names with bytes XML cannot carry may change; the call rules may not.
        if (again->user != profile->user ||
            again->private_call_targets != profile->private_call_targets ||
            again->partners != profile->partners ||
            again->allow_private_call != profile->allow_private_call) {
            __builtin_trap();
        }
    }
    return 0;
}
