#pragma once
// MCPTT user profile document (TS 24.484 clause 8, namespace urn:3gpp:mcptt:user-profile:1.0;
// AUID org.3gpp.mcptt.user-profile): the elements MCX uses for private calls, MCVideo and
// migration. The partner-system list has no stage-3 element in the material we could read, so
// it lives in <anyExt> in our own namespace [mcx-defined] (docs/configuration-management.md).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"

namespace mcx::proto {

inline constexpr std::string_view kUserProfileNamespace = "urn:3gpp:mcptt:user-profile:1.0";
inline constexpr std::string_view kMcxProfileNamespace = "urn:mcx:params:xml:ns:profile-ext";
inline constexpr std::string_view kMimeUserProfile = "application/vnd.3gpp.mcptt-user-profile+xml";

struct PartnerSystemEntry {
    std::string system;               // partner MC system ID, e.g. "B"
    bool migration_allowed = false;   // the user may migrate there (TS 23.280 10.1.6)
    std::uint32_t profile_index = 0;  // which of the user's profiles applies there

    bool operator==(const PartnerSystemEntry&) const = default;
};

struct UserProfile {
    McServiceId user;         // <MCPTTUserID> and XUI-URI
    std::uint32_t index = 0;  // user-profile-index
    std::string name;         // <ProfileName>
    // <ruleset> actions (TS 24.484 / MCOP model): private calls.
    bool allow_private_call = true;
    bool allow_private_call_to_any_user = false;
    bool allow_private_call_participation = true;  // may be called
    bool allow_automatic_commencement = true;
    bool allow_manual_commencement = true;
    std::vector<McServiceId> private_call_targets;  // <PrivateCallList>
    bool mcvideo_authorised = false;           // [mcx-defined] <anyExt><mcx:mcvideo-authorised>
    std::vector<PartnerSystemEntry> partners;  // [mcx-defined] <anyExt><mcx:partner-systems>

    bool may_call(const McServiceId& target) const;
    const PartnerSystemEntry* partner(std::string_view system) const;
    bool operator==(const UserProfile&) const = default;
};

// Errors name the line of the fault ("line 7: ...").
Result<UserProfile> parse_user_profile(std::string_view xml);
std::string build_user_profile(const UserProfile& profile);

}  // namespace mcx::proto
