#pragma once
// What every benchmark program shares: nearest-rank percentiles and merging metrics into
// OUT/report.json ({"metrics": {NAME: number}}, docs/BENCHMARKS.md).

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

namespace mcx::bench {

// The nearest-rank p-th percentile; NaN for no values.
inline double percentile(std::vector<double> v, double p) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const auto rank =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Adds `metrics` to the report at `path`, keeping the metrics other benchmarks wrote there.
inline void merge_report(const std::filesystem::path& path, const nlohmann::json& metrics) {
    nlohmann::json report = nlohmann::json::object();
    if (std::ifstream in(path); in) {
        report = nlohmann::json::parse(in, nullptr, false);
        if (report.is_discarded() || !report.is_object()) report = nlohmann::json::object();
    }
    for (const auto& [k, v] : metrics.items()) report["metrics"][k] = v;
    std::ofstream(path) << report.dump(2) << "\n";
}

}  // namespace mcx::bench
