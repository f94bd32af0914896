#include "media/correlation.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mcx::media {

namespace {

// Running sums of x and x^2 so that each lag's overlap statistics cost O(1). Exact in int64:
// 32768^2 * 2^33 samples still fits.
struct PrefixSums {
    std::vector<std::int64_t> sum{0};
    std::vector<std::int64_t> sum_of_squares{0};

    explicit PrefixSums(std::span<const std::int16_t> signal) {
        sum.reserve(signal.size() + 1);
        sum_of_squares.reserve(signal.size() + 1);
        for (const std::int64_t x : signal) {
            sum.push_back(sum.back() + x);
            sum_of_squares.push_back(sum_of_squares.back() + x * x);
        }
    }
    double range_sum(std::size_t begin, std::size_t end) const {
        return static_cast<double>(sum[end] - sum[begin]);
    }
    double range_sum_of_squares(std::size_t begin, std::size_t end) const {
        return static_cast<double>(sum_of_squares[end] - sum_of_squares[begin]);
    }
};

}  // namespace

Correlation best_correlation(std::span<const std::int16_t> reference,
                             std::span<const std::int16_t> candidate, int max_lag) {
    const auto reference_size = static_cast<std::ptrdiff_t>(reference.size());
    const auto candidate_size = static_cast<std::ptrdiff_t>(candidate.size());
    const std::ptrdiff_t min_overlap =
        std::max<std::ptrdiff_t>(2, (std::min(reference_size, candidate_size) + 1) / 2);
    const PrefixSums reference_sums(reference);
    const PrefixSums candidate_sums(candidate);

    Correlation best;
    bool found = false;
    max_lag = std::max(0, max_lag);
    // Visit 0, +1, -1, +2, -2, ... so that ties go to the smallest |lag|.
    for (int step = 0; step <= 2 * max_lag; ++step) {
        const int lag = (step % 2 == 1) ? (step + 1) / 2 : -(step / 2);
        // Overlap: reference[i] with candidate[i + lag] for i in [begin, end).
        const std::ptrdiff_t begin = std::max<std::ptrdiff_t>(0, -lag);
        const std::ptrdiff_t end = std::min(reference_size, candidate_size - lag);
        const std::ptrdiff_t count = end - begin;
        if (count < min_overlap) continue;

        std::int64_t dot = 0;
        for (std::ptrdiff_t i = begin; i < end; ++i) {
            dot += std::int64_t{reference[static_cast<std::size_t>(i)]} *
                   candidate[static_cast<std::size_t>(i + lag)];
        }
        const auto ref_begin = static_cast<std::size_t>(begin);
        const auto ref_end = static_cast<std::size_t>(end);
        const auto cand_begin = static_cast<std::size_t>(begin + lag);
        const auto cand_end = static_cast<std::size_t>(end + lag);
        const double n = static_cast<double>(count);
        const double sum_ref = reference_sums.range_sum(ref_begin, ref_end);
        const double sum_cand = candidate_sums.range_sum(cand_begin, cand_end);
        const double covariance = static_cast<double>(dot) - sum_ref * sum_cand / n;
        const double variance_ref =
            reference_sums.range_sum_of_squares(ref_begin, ref_end) - sum_ref * sum_ref / n;
        const double variance_cand =
            candidate_sums.range_sum_of_squares(cand_begin, cand_end) - sum_cand * sum_cand / n;
        const double coefficient = (variance_ref > 0 && variance_cand > 0)
                                       ? covariance / std::sqrt(variance_ref * variance_cand)
                                       : 0.0;
        if (!found || coefficient > best.coefficient) {
            best = Correlation{coefficient, lag};
            found = true;
        }
    }
    return best;
}

}  // namespace mcx::media
