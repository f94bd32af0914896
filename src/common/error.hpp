#pragma once
// One error model for everything outside src/net: a cause plus a human-readable reason.

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace mcx {

enum class Errc {
    invalid_argument,  // caller passed something unusable
    malformed,         // network or file input does not parse
    not_found,
    unauthorized,  // no or invalid credentials
    forbidden,     // valid credentials, not allowed
    unsupported,
    io,  // socket, file, process
    timeout,
    internal,
};

const char* to_string(Errc code);

struct Error {
    Errc code;
    std::string reason;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Errc code, std::string reason) {
    return tl::unexpected<Error>(Error{code, std::move(reason)});
}

}  // namespace mcx
