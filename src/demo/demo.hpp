#pragma once
// `mcx demo`: one MC system (a real mcxd process) and two users making private calls, with a
// timeline on stdout and a pcap and summary in the output directory. The three-system
// migration demo of DESIGN.md builds on this once migration exists.

#include <string>

namespace mcx::demo {

struct DemoOptions {
    std::string out_dir = "demo-out";
    std::string mcxd_path;  // empty: next to the mcx binary
};

int run_demo(const DemoOptions& options);

// Finds the mcxd binary next to the running program (build tree or install).
std::string find_mcxd();

}  // namespace mcx::demo
