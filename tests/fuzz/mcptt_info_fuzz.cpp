// Fuzzes the mcptt-info XML decoder; what decodes must survive build + parse unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/limits.hpp"
#include "proto/mcptt_info.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > mcx::proto::kMaxXmlBytes) return 0;
    auto info =
        mcx::proto::parse_mcptt_info(std::string_view(reinterpret_cast<const char*>(data), size));
    if (info) {
        auto again = mcx::proto::parse_mcptt_info(mcx::proto::build_mcptt_info(*info));
        if (!again || !(*again == *info)) {
            // Values with characters XML cannot carry (e.g. control bytes) may not round-trip;
            // only structural failure is a bug.
            if (!again && again.error().code != mcx::Errc::malformed) __builtin_trap();
        }
    }
    return 0;
}
