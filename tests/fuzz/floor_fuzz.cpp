// Fuzzes the floor control (RTCP APP "MCPT") decoder.
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/floor_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 1500) return 0;
    (void)mcx::proto::floor::decode_datagram(std::span<const std::uint8_t>(data, size));
    return 0;
}
