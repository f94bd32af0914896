// mcxd's start on a bad configuration or an unusable store, and a store that fills up while
// mcxd runs (config/README.md, "mcxd's exit codes"): exit code 2 naming file:line and the
// range, exit code 3 naming the store and the cause, never a half-started server; a write
// refused at run time reaches its requester, mcxd keeps serving and the store stays sound.
// A full disk is made with the file size limit (prlimit --fsize: EFBIG where a full disk says
// ENOSPC), a read-only file as root with setpriv (file modes then bind root too).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "harness.hpp"
#include "net/http.hpp"
#include "store/sqlite_store.hpp"

namespace mcx::test {
namespace {

namespace fs = std::filesystem;

// A configuration of system A with its store A.db beside it; `lines` from line 4 on.
std::string write_config(const std::string& dir, const std::string& lines) {
    const auto path = dir + "/system-A.toml";
    std::ofstream(path) << "[system]\nid = \"A\"\ndomain = \"a.mcx\"\n" << lines;
    return path;
}

// A store seeded with alice as mcxd's first start leaves it.
void make_store(const std::string& path) {
    auto store = store::SqliteStore::open(path);
    ASSERT_TRUE(store) << store.error().reason;
    ASSERT_TRUE((*store)->put_user(*McServiceId::parse("sip:alice@a.mcx"), "!"));
    ASSERT_TRUE((*store)->put_meta("seeded", "1"));
}

std::string check_store(const std::string& path) {
    auto store = store::SqliteStore::open(path);
    if (!store) return store.error().reason;
    return (*store)->integrity_check().value_or("integrity_check failed");
}

int run(const std::string& command) {
    const int rc = std::system(command.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(ConfigurationAtStart, ABadNumberStopsMcxdWithExitCode2NamingFileLineAndRange) {
    const auto dir = test_output_dir();
    for (const auto& [lines, expected] : std::initializer_list<std::pair<const char*, const char*>>{
             {"[sip]\ninvite_timeout_seconds = 0\n",
              ":5: [sip] invite_timeout_seconds must be 1..600, not 0"},
             {"[private_call]\ninactivity_seconds = -1\n",
              ":5: [private_call] inactivity_seconds must be 0..86400, not -1"},
             {"[http]\nport = \"8080\"\n",
              ":5: [http] 'port' is not a port number: must be 0..65535"},
             {"[http]\nmax_header_fields = 0\n",
              ":5: [http] max_header_fields must be 1..10000, not 0"},
             {"[http]\nidle_timeout_ms = 3600001\n",
              ":5: [http] idle_timeout_ms must be 100..3600000, not 3600001"},
             {"[idms]\npassword_hash_threads = 2.5\n",
              ":5: [idms] 'password_hash_threads' has the wrong type (floating-point): "
              "password_hash_threads must be an integer 1..64"}}) {
        const auto config = write_config(dir, lines);
        const auto start = start_mcxd_expecting_failure(config, dir + "/mcxd.log");
        EXPECT_EQ(start.status, 2) << lines << start.stderr_text;
        EXPECT_FALSE(start.ready);
        EXPECT_NE(start.stderr_text.find("mcxd: " + config + expected), std::string::npos)
            << start.stderr_text << " lacks " << expected;
    }
    EXPECT_FALSE(fs::exists(dir + "/A.db")) << "the store is not touched";
}

TEST(StoreFaults, AReadOnlyStoreFileStopsMcxdWithExitCode3NamingIt) {
    const auto dir = test_output_dir();
    const auto store = dir + "/A.db";
    make_store(store);
    ASSERT_EQ(::chmod(store.c_str(), 0444), 0);
    const auto start = start_mcxd_expecting_failure(write_config(dir, ""), dir + "/mcxd.log",
                                                    file_modes_apply_command());
    EXPECT_EQ(start.status, 3) << start.stderr_text;
    EXPECT_FALSE(start.ready) << "never half started";
    EXPECT_NE(start.stderr_text.find("mcxd: store " + store + " is read-only"), std::string::npos)
        << start.stderr_text;
    ::chmod(store.c_str(), 0644);
    EXPECT_EQ(check_store(store), "ok");
}

TEST(StoreFaults, AFullDiskAtStartStopsMcxdWithExitCode3NamingTheStoreAndTheCause) {
    const auto dir = test_output_dir();
    const auto store = dir + "/A.db";
    make_store(store);
    // Too little room for SQLite's shared-memory file (32 KiB) beside the store: the first
    // read fails as it does on a full disk ("disk I/O error").
    const auto start = start_mcxd_expecting_failure(write_config(dir, ""), dir + "/mcxd.log",
                                                    {"/usr/bin/prlimit", "--fsize=16384", "--"});
    EXPECT_EQ(start.status, 3) << start.stderr_text;
    EXPECT_FALSE(start.ready) << "never half started";
    EXPECT_NE(start.stderr_text.find("mcxd: store " + store + ": "), std::string::npos)
        << start.stderr_text;
    const bool cause_named = start.stderr_text.find("(File too large)") != std::string::npos ||
                             start.stderr_text.find("is the disk full?)") != std::string::npos;
    EXPECT_TRUE(cause_named) << "the operating system's cause: " << start.stderr_text;
    EXPECT_EQ(check_store(store), "ok");
}

// The disk of a running mcxd fills up (its file size limit set to the WAL's size, so the next
// commit cannot append): a login, which records its token, gets 500 server_error naming the
// store; what needs no write goes on; the failure is counted; `mcx admin` fails with its
// message; once there is room writes work again and nothing committed before is lost. (mcxd's
// own log, under the same limit, may miss lines meanwhile.)
TEST(StoreFaults, ARunningMcxdWhoseDiskFillsRefusesTheWriteKeepsServingAndLosesNothing) {
    McSystem::Options options;
    options.users = {{"alice", "pw-a", {"*"}}, {"bob", "pw-b", {"*"}}};
    options.client_tls = false;
    const auto dir = test_output_dir();
    auto system = McSystem::start(options, dir);
    const auto store = dir + "/A.db";
    const auto alice_token = system->token("alice", "pw-a");
    ASSERT_FALSE(alice_token.empty());
    const auto limit = [&](const std::string& size) {
        return run("prlimit --pid " + std::to_string(system->pid()) + " --fsize=" + size + ":");
    };
    const auto login = [&] {
        return net::http_post_form(
            system->http_url() + "/idms/token",
            {{"grant_type", "password"}, {"username", system->uri("bob")}, {"password", "pw-b"}},
            3s);
    };
    ASSERT_EQ(limit(std::to_string(fs::file_size(store + "-wal"))), 0);

    auto refused = login();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 500) << refused->body;
    const auto error = Json::parse(refused->body, nullptr, false);
    EXPECT_EQ(error.value("error", ""), "server_error") << refused->body;
    EXPECT_NE(error.value("error_description", "").find("store " + store + ": "), std::string::npos)
        << refused->body;

    // Still serving: alice's profile with the token committed before, /status and /metrics.
    auto profile = net::http_get(system->http_url() + "/cms/org.3gpp.mcptt.user-profile/users/" +
                                     system->uri("alice") + "/user-profile-0.xml",
                                 {{"Authorization", "Bearer " + alice_token}}, 3s);
    ASSERT_TRUE(profile);
    EXPECT_EQ(profile->status, 200) << profile->body;
    const auto status = system->status();
    ASSERT_FALSE(status.is_null());
    EXPECT_EQ(status["store"]["write_failures"], 1) << status.dump();
    auto metrics = system->admin_get("/metrics");
    ASSERT_TRUE(metrics && metrics->status == 200);
    EXPECT_NE(metrics->body.find("\nmcx_store_write_failures_total 1\n"), std::string::npos)
        << metrics->body;

    // `mcx admin` (a process of its own) on the same full disk: its error, exit code 1.
    const auto admin = mcx_binary() + " admin --config " + system->config_path();
    EXPECT_EQ(run("prlimit --fsize=" + std::to_string(fs::file_size(store + "-wal")) + ": " +
                  admin + " user add " + system->uri("zed") + " --password pw-z > " + dir +
                  "/admin.out 2> " + dir + "/admin.err"),
              1);
    EXPECT_NE(read_file(dir + "/admin.err").find("mcx admin: store " + store + ": put_user: "),
              std::string::npos)
        << read_file(dir + "/admin.err");

    // Room again: writes work.
    ASSERT_EQ(limit("unlimited"), 0);
    auto again = login();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200) << again->body;
    const auto bob_token = Json::parse(again->body, nullptr, false).value("access_token", "");
    EXPECT_EQ(system->stop(), 0);

    auto reopened = store::SqliteStore::open(store);
    ASSERT_TRUE(reopened) << reopened.error().reason;
    EXPECT_EQ(*(*reopened)->integrity_check(), "ok");
    const auto users = *(*reopened)->users();
    EXPECT_EQ(users.size(), 3u) << "alice, bob and the administrator; no zed";
    std::set<std::string> tokens_of;
    const auto rows = (*reopened)->current_tokens();
    ASSERT_TRUE(rows) << rows.error().reason;
    for (const auto& row : *rows) tokens_of.insert(std::string(row.user.user()));
    EXPECT_TRUE(tokens_of.count("alice")) << "alice's login, committed before the disk filled";
    EXPECT_TRUE(tokens_of.count("bob")) << "bob's login once there was room";
    EXPECT_FALSE(bob_token.empty());
}

}  // namespace
}  // namespace mcx::test
