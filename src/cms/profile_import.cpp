#include "cms/profile_import.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "proto/user_profile.hpp"

namespace mcx::cms {

namespace fs = std::filesystem;

Result<std::size_t> import_profiles(store::Store& store, const fs::path& source,
                                    const std::function<void(const ImportProgress&)>& progress,
                                    std::size_t batch) {
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_directory(source, ec)) {
        for (const auto& entry : fs::directory_iterator(source, ec)) {
            if (entry.is_regular_file() && entry.path().extension() == ".xml") {
                files.push_back(entry.path());
            }
        }
        std::sort(files.begin(), files.end());
    } else if (fs::is_regular_file(source, ec)) {
        files.push_back(source);
    } else {
        return fail(Errc::not_found, source.string() + ": no such file or directory");
    }
    if (ec) return fail(Errc::io, source.string() + ": " + ec.message());

    std::vector<store::StoredProfile> profiles;
    profiles.reserve(files.size());
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) return fail(Errc::io, file.string() + ": cannot read");
        std::stringstream text;
        text << in.rdbuf();
        auto profile = proto::parse_user_profile(text.str());
        if (!profile) {
            const auto& why = profile.error().reason;  // "line N: ..." -> "file:N: ..."
            return fail(Errc::malformed, why.starts_with("line ")
                                             ? file.string() + ":" + why.substr(5)
                                             : file.string() + ": " + why);
        }
        profiles.push_back({profile->user, profile->index, text.str(), {}});
    }

    ImportProgress status{0, profiles.size()};
    for (std::size_t start = 0; start < profiles.size(); start += batch) {
        const auto end = std::min(profiles.size(), start + batch);
        std::vector<store::StoredProfile> chunk(profiles.begin() + static_cast<long>(start),
                                                profiles.begin() + static_cast<long>(end));
        if (auto r = store.put_profiles(chunk); !r) return tl::unexpected(r.error());
        status.committed = end;
        if (progress) progress(status);
    }
    return profiles.size();
}

}  // namespace mcx::cms
