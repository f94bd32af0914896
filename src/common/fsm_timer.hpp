#pragma once
// Timers of the pure state machines: a machine asks for a timer to be started or cancelled;
// the glue code runs it and feeds back the expiry with the generation it was started with.
// An expiry whose generation is no longer current is stale and ignored (cf. resip DumTimeout).

#include <chrono>
#include <cstdint>

namespace mcx {

template <class TimerId>
struct TimerCommand {
    TimerId timer;
    bool start = true;  // false: cancel
    std::chrono::milliseconds duration{0};
    std::uint64_t generation = 0;
};

// Keeps the current generation of each timer of a machine.
template <class TimerId, std::size_t Count>
class TimerGenerations {
  public:
    TimerCommand<TimerId> start(TimerId id, std::chrono::milliseconds duration) {
        return {id, true, duration, ++current_[static_cast<std::size_t>(id)]};
    }
    TimerCommand<TimerId> cancel(TimerId id) {
        // Bumping the generation makes an expiry already on its way stale.
        return {id, false, std::chrono::milliseconds(0), ++current_[static_cast<std::size_t>(id)]};
    }
    bool current(TimerId id, std::uint64_t generation) const {
        return current_[static_cast<std::size_t>(id)] == generation;
    }

  private:
    std::uint64_t current_[Count] = {};
};

}  // namespace mcx
