#pragma once
// Client events handed from the loop thread to a thread that waits for them (demo, tests).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "client/mc_client.hpp"

namespace mcx::demo {

struct TaggedEvent {
    std::string who;  // which client
    client::ClientEvent event;
    std::chrono::steady_clock::time_point at{};  // when it was pushed (set by push)
};

class EventQueue {
  public:
    void push(TaggedEvent e);
    // First queued event matching `pred` (removed), waiting up to `timeout`.
    std::optional<TaggedEvent> wait_for(const std::function<bool(const TaggedEvent&)>& pred,
                                        std::chrono::milliseconds timeout);
    std::optional<TaggedEvent> wait_for(const std::string& who, client::ClientEventType type,
                                        std::chrono::milliseconds timeout);
    void clear();  // drops every queued event

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<TaggedEvent> events_;
};

}  // namespace mcx::demo
