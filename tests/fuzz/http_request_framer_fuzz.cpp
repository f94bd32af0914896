// Fuzzes the HTTP/1.1 request framer with small limits, so that inputs reach them: the input is
// scanned whole and in two steps (split where its first byte says), which must agree, and a
// framed request lies within the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/http_request_framer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 8192) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    mcx::proto::HttpHeadLimits limits;
    limits.max_head_bytes = 512;
    limits.max_line_bytes = 128;
    limits.max_fields = 8;
    limits.max_body_bytes = 1000;
    using Progress = mcx::proto::HttpRequestFramer::Progress;
    mcx::proto::HttpRequestFramer whole(limits);
    mcx::proto::HttpRequestFramer stepped(limits);
    const auto progress = whole.scan(input);
    const auto split = std::min<std::size_t>(data[0] * input.size() / 255, input.size());
    if (stepped.scan(input.substr(0, split)) == Progress::need_more) {
        if (stepped.scan(input) != progress) __builtin_trap();
    } else if (stepped.scan(input) != progress) {
        __builtin_trap();  // framed or refused on a prefix: the same on all of it
    }
    if (progress == Progress::framed) {
        const auto& framed = whole.framed();
        if (framed.head_begin > framed.head_end || framed.head_end > input.size()) __builtin_trap();
        if (framed.head_end > limits.max_head_bytes) __builtin_trap();
        if (framed.body_bytes > limits.max_body_bytes) __builtin_trap();
        if (framed.head_end != stepped.framed().head_end) __builtin_trap();
        if (framed.body_bytes != stepped.framed().body_bytes) __builtin_trap();
        for (const auto& [begin, end] : framed.expect_lines) {
            if (begin < framed.head_begin || begin >= end || end > framed.head_end)
                __builtin_trap();
        }
    }
    if (progress == Progress::refused) {
        const int status = whole.refusal().status;
        if (status != 400 && status != 411 && status != 413 && status != 414 && status != 431 &&
            status != 505) {
            __builtin_trap();
        }
    }
    return 0;
}
