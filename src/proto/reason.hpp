#pragma once
// The Reason header of a BYE (RFC 3326): why a call ended. A call released for migration
// (TS 23.280 10.16.3 step 1) carries protocol "MCX" with one of our causes, so that the peer's
// client keeps its side of the call suspended instead of ending it. [mcx-defined]
// docs/migration.md

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace mcx::proto {

// reason-value = protocol *(SEMI reason-params); reason-params = cause / text / extension.
struct ReasonValue {
    std::string protocol;  // "SIP", "Q.850", or a token such as "MCX"
    std::optional<std::uint16_t> cause;
    std::string text;  // unquoted

    bool operator==(const ReasonValue&) const = default;
};

inline constexpr std::string_view kMcxReasonProtocol = "MCX";

// Causes of protocol "MCX". [mcx-defined]
enum class McxReleaseCause : std::uint16_t {
    suspended_for_migration = 1,  // the sender migrates; it (or the peer) resumes the call
    not_resumed = 2,              // a suspended call ended: it was not resumed in time
};

// The first reason-value of a header value; an error names what is wrong.
Result<ReasonValue> parse_reason(std::string_view header_value);
// `MCX ;cause=1 ;text="suspended for migration"` (header value, without the name).
std::string format_reason(const ReasonValue& reason);

ReasonValue mcx_reason(McxReleaseCause cause);
// The MCX cause of a reason-value, when it is one of ours.
std::optional<McxReleaseCause> mcx_release_cause(const ReasonValue& reason);

}  // namespace mcx::proto
