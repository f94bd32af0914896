// Placeholder: the codec is being written (see floor_message.hpp for the contract).
#include "proto/floor_message.hpp"

namespace mcx::proto::floor {

const char* to_string(MessageType) { return "unimplemented"; }

std::vector<std::uint8_t> encode(const FloorMessage&) { return {}; }

Result<FloorMessage> decode(std::span<const std::uint8_t>) {
    return fail(Errc::unsupported, "floor codec not implemented yet");
}

Result<std::vector<FloorMessage>> decode_datagram(std::span<const std::uint8_t>) {
    return fail(Errc::unsupported, "floor codec not implemented yet");
}

}  // namespace mcx::proto::floor
