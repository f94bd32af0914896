#pragma once
// `mcx demo`: the three-system migration demo (migration_demo.cpp: TS 23.280 10.16.3 shown);
// `mcx demo --basic`: one MC system (a real mcxd process) and two users making private calls.
// Both print a timeline and leave traces and a summary in the output directory.

#include <string>

namespace mcx::demo {

struct DemoOptions {
    std::string out_dir = "demo-out";
    std::string mcxd_path;  // empty: next to the mcx binary
    bool basic = false;     // the single-system private-call demo
};

int run_demo(const DemoOptions& options);
int run_basic_demo(const DemoOptions& options);
int run_migration_demo(const DemoOptions& options);

// Finds the mcxd binary next to the running program (build tree or install).
std::string find_mcxd();
// The path of a program in $PATH, or empty.
std::string find_program(const std::string& name);

}  // namespace mcx::demo
