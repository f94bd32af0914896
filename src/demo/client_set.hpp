#pragma once
// The clients a demo or bench runs on one loop thread, by name, and how they are wound down.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/mc_client.hpp"
#include "net/loop_thread.hpp"

namespace mcx::demo {

using ClientSet = std::map<std::string, std::unique_ptr<client::McClient>>;

// Stops `names` (all when empty: calls released, registrations removed), lets their last
// requests be answered for `linger`, then destroys them on the loop thread.
inline void stop_clients(net::LoopThread& loop, ClientSet& clients,
                         std::chrono::milliseconds linger, std::vector<std::string> names = {}) {
    if (names.empty()) {
        for (const auto& [name, c] : clients) names.push_back(name);
    }
    loop.call([&] {
        for (const auto& name : names) {
            if (auto it = clients.find(name); it != clients.end()) it->second->stop();
        }
        return true;
    });
    std::this_thread::sleep_for(linger);
    loop.call([&] {
        for (const auto& name : names) clients.erase(name);
        return true;
    });
}

}  // namespace mcx::demo
