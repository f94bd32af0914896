#pragma once
// Similarity of two speech signals: the normalized cross-correlation (Pearson coefficient over
// the overlapping samples) at the best lag within +-max_lag samples. Pure. See docs/voice.md.

#include <cstdint>
#include <span>

namespace mcx::media {

struct Correlation {
    double coefficient = 0;  // -1..1; 0 when there is nothing to compare
    int lag = 0;             // candidate[n + lag] lines up with reference[n]
};

// Searches lags -max_lag..max_lag and returns the one with the highest coefficient. Only lags
// whose overlap covers at least half of the shorter signal are considered, so a handful of
// samples at the edge cannot produce a spurious 1.0. A constant overlap (zero variance) scores 0.
Correlation best_correlation(std::span<const std::int16_t> reference,
                             std::span<const std::int16_t> candidate, int max_lag);

// 100 ms at 16 kHz: more than AMR-WB's algorithmic delay plus resampler and framing offsets.
inline constexpr int default_max_lag_samples = 1600;

}  // namespace mcx::media
