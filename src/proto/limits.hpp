#pragma once
// Production limits on network input, shared by the codecs and their fuzz targets.

#include <cstddef>

namespace mcx::proto {

inline constexpr std::size_t kMaxSipBodyBytes = 64 * 1024;
inline constexpr std::size_t kMaxMultipartParts = 16;
inline constexpr std::size_t kMaxXmlBytes = 32 * 1024;
inline constexpr std::size_t kMaxResourceListEntries = 64;

}  // namespace mcx::proto
