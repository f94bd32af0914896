#include "common/ids.hpp"

#include <algorithm>
#include <cctype>

namespace mcx {

namespace {

bool valid_user_char(char c) {
    // RFC 3261 25.1 "user" unreserved + user-unreserved, without escapes.
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-_.!~*'()&=+$,;?/").find(c) != std::string_view::npos;
}

bool valid_host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
}

}  // namespace

Result<McServiceId> McServiceId::parse(std::string_view uri) {
    constexpr std::string_view scheme = "sip:";
    if (uri.size() > 256) {
        return fail(Errc::malformed, "MC service ID longer than 256 characters");
    }
    if (!uri.starts_with(scheme)) {
        return fail(Errc::malformed, "MC service ID must be a sip: URI");
    }
    const auto rest = uri.substr(scheme.size());
    const auto at = rest.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == rest.size()) {
        return fail(Errc::malformed, "MC service ID must have the form sip:user@domain");
    }
    const auto user = rest.substr(0, at);
    const auto host = rest.substr(at + 1);
    if (!std::all_of(user.begin(), user.end(), valid_user_char) ||
        !std::all_of(host.begin(), host.end(), valid_host_char)) {
        return fail(Errc::malformed, "MC service ID has characters outside sip:user@domain");
    }
    std::string normalised(uri);
    // Domain names compare case-insensitively (RFC 3261 19.1.4); keep them lower-case.
    std::transform(normalised.begin() + static_cast<long>(scheme.size() + at + 1), normalised.end(),
                   normalised.begin() + static_cast<long>(scheme.size() + at + 1),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return McServiceId(std::move(normalised));
}

std::string_view McServiceId::user() const {
    std::string_view v(uri_);
    v.remove_prefix(4);
    return v.substr(0, v.find('@'));
}

std::string_view McServiceId::domain() const {
    std::string_view v(uri_);
    return v.substr(v.find('@') + 1);
}

}  // namespace mcx
