// Fuzzes the Reason header parser (RFC 3326): whatever it accepts formats and parses again to
// the same value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/reason.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 1024) return 0;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    auto reason = mcx::proto::parse_reason(input);
    if (!reason) return 0;
    (void)mcx::proto::mcx_release_cause(*reason);
    auto again = mcx::proto::parse_reason(mcx::proto::format_reason(*reason));
    if (!again) __builtin_trap();
    // Control characters are dropped by format_reason; everything else survives.
    if (again->protocol != reason->protocol || again->cause != reason->cause) __builtin_trap();
    return 0;
}
