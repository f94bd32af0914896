// Fuzzes the SIP stream framer with small caps, so that inputs reach them: the input fed whole
// and in two steps (split where its first byte says) must hand on the same bytes and refuse
// alike, and what is handed on is a prefix of the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/sip_stream_framer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 8192) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    mcx::proto::SipStreamFramer whole(512, 1000);
    mcx::proto::SipStreamFramer stepped(512, 1000);
    std::string handed_whole;
    const auto refused_whole = whole.feed(input, handed_whole);
    const auto split = std::min<std::size_t>(data[0] * input.size() / 255, input.size());
    std::string handed_stepped;
    std::string complete;
    auto refused_stepped = stepped.feed(input.substr(0, split), complete);
    handed_stepped += complete;
    if (!refused_stepped) {
        refused_stepped = stepped.feed(input.substr(split), complete);
        handed_stepped += complete;
    }
    if (refused_whole.has_value() != refused_stepped.has_value()) __builtin_trap();
    if (refused_whole && refused_whole->limit != refused_stepped->limit) __builtin_trap();
    if (!refused_whole) {
        if (handed_whole != handed_stepped) __builtin_trap();
        if (input.substr(0, handed_whole.size()) != handed_whole) __builtin_trap();
        if (whole.mid_unit() != (handed_whole.size() < input.size())) __builtin_trap();
    }
    return 0;
}
