// Fuzzes the multipart/mixed splitter with a Content-Type taken from the input's first line.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/limits.hpp"
#include "proto/multipart.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > mcx::proto::kMaxSipBodyBytes) return 0;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto eol = input.find('\n');
    const auto content_type = input.substr(0, eol);
    const auto body = eol == std::string_view::npos ? std::string_view{} : input.substr(eol + 1);
    auto parts = mcx::proto::split_body(content_type, body);
    if (parts) {
        for (const auto& part : *parts) {
            // Every part lies within the input.
            if (part.body.size() > body.size()) __builtin_trap();
        }
        (void)mcx::proto::find_part(*parts, mcx::proto::kMimeSdp);
    }
    return 0;
}
