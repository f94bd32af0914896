// Fuzzes the MCVideo transmission control (RTCP APP "MCV0"/"MCV1"/"MCV2") decoder. Invariants:
// every message a datagram decodes to re-encodes to a packet that decodes to the same message,
// and a lone packet that decodes is also a one-message datagram.
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/transmission_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 1500) return 0;  // one UDP datagram on an Ethernet path
    const std::span<const std::uint8_t> input(data, size);
    namespace transmission = mcx::proto::transmission;

    if (auto messages = transmission::decode_datagram(input)) {
        for (const auto& message : *messages) {
            const auto bytes = transmission::encode(message);
            auto again = transmission::decode(bytes);
            if (!again || !(*again == message)) __builtin_trap();
        }
    }
    if (auto single = transmission::decode(input)) {
        auto as_datagram = transmission::decode_datagram(input);
        if (!as_datagram || as_datagram->size() != 1 || !((*as_datagram)[0] == *single)) {
            __builtin_trap();
        }
    }
    return 0;
}
