#include "common/error.hpp"

namespace mcx {

const char* to_string(Errc code) {
    switch (code) {
        case Errc::invalid_argument:
            return "invalid argument";
        case Errc::malformed:
            return "malformed";
        case Errc::not_found:
            return "not found";
        case Errc::unauthorized:
            return "unauthorized";
        case Errc::forbidden:
            return "forbidden";
        case Errc::unsupported:
            return "unsupported";
        case Errc::io:
            return "i/o error";
        case Errc::timeout:
            return "timeout";
        case Errc::internal:
            return "internal error";
    }
    return "unknown";
}

}  // namespace mcx
