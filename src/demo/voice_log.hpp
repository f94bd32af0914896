#pragma once
// When each listener received voice frames (not NO_DATA): the interruption of a migrated call
// is the gap, at the peer, between the last frame before the release and the first after the
// resume (the demo and the migration bench measure it so).

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mcx::demo {

class VoiceLog {
  public:
    using Clock = std::chrono::steady_clock;
    void add(const std::string& who, Clock::time_point t) {
        std::lock_guard lock(mutex_);
        frames_[who].push_back(t);
    }
    // First frame after `after` and the gap before it (ms); nullopt without one.
    std::optional<std::pair<Clock::time_point, double>> resume_gap(const std::string& who,
                                                                   Clock::time_point after) {
        std::lock_guard lock(mutex_);
        const auto& f = frames_[who];
        auto it = std::upper_bound(f.begin(), f.end(), after);
        if (it == f.end() || it == f.begin()) return std::nullopt;
        return std::pair{*it, std::chrono::duration<double, std::milli>(*it - *(it - 1)).count()};
    }

  private:
    std::mutex mutex_;
    std::map<std::string, std::vector<Clock::time_point>> frames_;
};

}  // namespace mcx::demo
