// Fuzzes the resource-lists XML decoder.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/limits.hpp"
#include "proto/resource_lists.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > mcx::proto::kMaxXmlBytes) return 0;
    auto uris = mcx::proto::parse_resource_lists(
        std::string_view(reinterpret_cast<const char*>(data), size));
    if (uris && uris->size() > mcx::proto::kMaxResourceListEntries) __builtin_trap();
    return 0;
}
