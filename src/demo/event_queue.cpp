#include "demo/event_queue.hpp"

namespace mcx::demo {

void EventQueue::push(TaggedEvent e) {
    e.at = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(e));
    }
    cv_.notify_all();
}

std::optional<TaggedEvent> EventQueue::wait_for(const std::function<bool(const TaggedEvent&)>& pred,
                                                std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        for (auto it = events_.begin(); it != events_.end(); ++it) {
            if (pred(*it)) {
                auto found = std::move(*it);
                events_.erase(it);
                return found;
            }
        }
        if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
    }
}

std::optional<TaggedEvent> EventQueue::wait_for(const std::string& who,
                                                client::ClientEventType type,
                                                std::chrono::milliseconds timeout) {
    return wait_for([&](const TaggedEvent& e) { return e.who == who && e.event.type == type; },
                    timeout);
}

void EventQueue::clear() {
    std::lock_guard lock(mutex_);
    events_.clear();
}

}  // namespace mcx::demo
