#pragma once
// application/vnd.3gpp.mcptt-info+xml (TS 24.379 Annex F.1), namespace urn:3gpp:ns:mcpttInfo:1.0.
// Only the <mcptt-Params> elements used by private calls and service authorisation are modelled;
// others are ignored on receipt.

#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace mcx::proto {

inline constexpr std::string_view kMcpttInfoNamespace = "urn:3gpp:ns:mcpttInfo:1.0";
// Our extension elements, children of <mcpttinfo> after <mcptt-Params> where F.1 allows
// elements of any other namespace (xs:any ##other, lax). [mcx-defined] docs/migration.md
inline constexpr std::string_view kMcxCallNamespace = "urn:mcx:params:xml:ns:mcptt-call";

// End-to-end call continuity across migration (TS 23.280 10.16.3 step 3). [mcx-defined]
struct McxCallInfo {
    // <mcx:call-ref>: set by the originating client, relayed unchanged by every MC server, so
    // both clients know the call by the same name whatever system serves them.
    std::optional<std::string> call_ref;
    // <mcx:primary-id>: the primary MC service ID of the calling user (INVITE) or of the
    // answering user (2xx), written by the MC system serving that user, never by the client.
    std::optional<std::string> primary_id;
    // <mcx:resumes previous-id="..."/>: this INVITE resumes the suspended call with call_ref,
    // which the caller had under the MC service ID previous-id.
    std::optional<std::string> resumes_previous_id;

    bool empty() const { return !call_ref && !primary_id && !resumes_previous_id; }
    bool operator==(const McxCallInfo&) const = default;
};

struct McpttInfo {
    std::optional<std::string> access_token;     // <mcptt-access-token> (REGISTER, 7.3.1)
    std::optional<std::string> session_type;     // <session-type>: "private" for private calls
    std::optional<std::string> request_uri;      // <mcptt-request-uri>
    std::optional<std::string> calling_user_id;  // <mcptt-calling-user-id>, set by the server
    std::optional<std::string> called_party_id;  // <mcptt-called-party-id>
    std::optional<bool> emergency;               // <emergency-ind>
    std::optional<std::string> client_id;        // <mcptt-client-id>, urn:uuid:...
    McxCallInfo mcx;                             // our extension elements, see above

    bool operator==(const McpttInfo&) const = default;
};

// Accepts both the contentType form (<x type="Normal"><mcpttURI>v</mcpttURI></x>) and the flat
// form (<x>v</x>) of value elements.
Result<McpttInfo> parse_mcptt_info(std::string_view xml);

// Writes the schema order of F.1 with the contentType form.
std::string build_mcptt_info(const McpttInfo& info);

}  // namespace mcx::proto
