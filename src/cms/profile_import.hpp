#pragma once
// Import of user profile documents (one XML file each, or a directory of *.xml): every file is
// parsed first, so a malformed one stops the import before anything is written (the error
// names the file and line); then they are written in transactions of `batch` documents, and
// `progress` is told after each commit (what it reports is durable).

#include <cstddef>
#include <filesystem>
#include <functional>

#include "common/error.hpp"
#include "store/store.hpp"

namespace mcx::cms {

struct ImportProgress {
    std::size_t committed = 0;
    std::size_t total = 0;
};

Result<std::size_t> import_profiles(store::Store& store, const std::filesystem::path& source,
                                    const std::function<void(const ImportProgress&)>& progress,
                                    std::size_t batch = 100);

}  // namespace mcx::cms
