#include "harness.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "idms/certificates.hpp"
#include "net/http.hpp"
#include "proto/mcptt_info.hpp"
#include "proto/multipart.hpp"
#include "proto/resource_lists.hpp"

namespace mcx::test {

namespace fs = std::filesystem;

std::string mcxd_binary() {
    return MCX_TEST_MCXD;
}
std::string mcx_binary() {
    return MCX_TEST_MCX;
}
std::string source_dir() {
    return MCX_TEST_SOURCE_DIR;
}

std::string test_output_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "adhoc";
    for (auto& c : name) {
        if (c == '/') c = '_';
    }
    // The same test run again over UDP (tests/CMakeLists.txt) may run at the same time.
    if (const char* transport = std::getenv("MCX_TEST_TRANSPORT"); transport && *transport) {
        name = std::string(transport) + "." + name;
    }
    const auto dir = fs::path(MCX_TEST_OUTPUT_DIR) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir.string();
}

FailedStart start_mcxd_expecting_failure(const std::string& config, const std::string& log,
                                         const std::vector<std::string>& command_prefix,
                                         std::chrono::milliseconds timeout) {
    auto argv = command_prefix;
    for (const auto& arg : {mcxd_binary(), std::string("--config"), config}) argv.push_back(arg);
    fs::remove(log);
    auto child = ChildProcess::spawn(argv, log);
    if (!child) throw std::runtime_error(child.error().reason);
    FailedStart out;
    if (auto line = child->read_line(timeout)) {
        out.ready = Json::parse(*line, nullptr, false).value("event", "") == "ready";
    }
    out.status = child->wait(timeout);
    if (!out.status) child->kill_now();
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    out.stderr_text = text.str();
    return out;
}

std::string toml_string(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

namespace {

// `[sip] port = N` for a configuration whose extra TOML may have a [sip] table of its own (a
// table may be defined once only).
std::string with_sip_lines(const std::string& extra_toml, const std::string& line) {
    if (line.empty()) return extra_toml;
    const std::string header = "[sip]\n";
    for (std::size_t at = extra_toml.find(header); at != std::string::npos;
         at = extra_toml.find(header, at + 1)) {
        if (at == 0 || extra_toml[at - 1] == '\n') {
            auto spliced = extra_toml;
            return spliced.insert(at + header.size(), line);
        }
    }
    return "[sip]\n" + line + "\n" + extra_toml;
}

}  // namespace

bool default_client_tls() {
    const char* transport = std::getenv("MCX_TEST_TRANSPORT");
    return !transport || std::string_view(transport) != "udp";
}

std::unique_ptr<McSystem> McSystem::start(const Options& options, const std::string& dir) {
    auto system = std::unique_ptr<McSystem>(new McSystem());
    system->options_ = options;
    system->dir_ = dir;
    auto& tls = system->options_;
    if (tls.client_tls && tls.tls_certificate.empty()) {
        const auto certs = (fs::path(dir) / ("client-certs-" + options.id)).string();
        if (auto made = idms::write_interconnect_certificates(certs, {options.id}); !made) {
            throw std::runtime_error("certificates: " + made.error().reason);
        }
        tls.tls_certificate = (fs::path(certs) / (options.id + ".pem")).string();
        tls.tls_ca = (fs::path(certs) / "ca.pem").string();
    }
    system->config_ = (fs::path(dir) / ("system-" + options.id + ".toml")).string();
    system->log_ = (fs::path(dir) / ("system-" + options.id + ".log")).string();
    system->write_config();
    system->launch();
    return system;
}

namespace {

// The generated [sip] keys: the port, and the clients' TLS listener.
std::string sip_lines(const McSystem::Options& options) {
    std::string lines;
    if (options.sip_port != 0) lines += "port = " + std::to_string(options.sip_port) + "\n";
    if (options.client_tls) {
        lines += "tls_port = " + std::to_string(options.tls_port) +
                 "\ntls_certificate = " + toml_string(options.tls_certificate) + "\n";
    }
    return lines;
}

}  // namespace

void McSystem::write_config() const {
    const auto& options = options_;
    std::ofstream out(config_);
    out << "[system]\nid = \"" << options.id << "\"\ndomain = \"" << options.domain
        << "\"\nhost = \"127.0.0.1\"\n\n[private_call]\nmax_calls_per_user = "
        << options.max_calls_per_user << "\ninactivity_seconds = " << options.inactivity_seconds
        << "\n\n[http]\nport = " << options.http_port << "\n"
        << options.http_toml << "\n[idms]\nkey_file = \"idms-" << options.id << ".pem\"\n"
        << options.idms_toml << "\n"
        << with_sip_lines(options.extra_toml, sip_lines(options)) << "\n";
    for (const auto& u : options.users) {
        out << "[[users]]\nid = \"sip:" << u.name << "@" << options.domain
            << "\"\npassword = " << toml_string(u.password)
            << "\nprivate_call = " << (u.private_call ? "true" : "false")
            << "\nmay_be_called = " << (u.may_be_called ? "true" : "false")
            << "\nprivate_call_targets = [";
        for (std::size_t i = 0; i < u.targets.size(); ++i) {
            const auto& t = u.targets[i];
            out << (i ? ", " : "") << "\""
                << (t == "*" || t.starts_with("sip:") ? t : "sip:" + t + "@" + options.domain)
                << "\"";
        }
        out << "]\nmigrate_to = [";
        for (std::size_t i = 0; i < u.migrate_to.size(); ++i)
            out << (i ? ", " : "") << "\"" << u.migrate_to[i] << "\"";
        out << "]\n\n";
    }
    out << "[[users]]\nid = \"sip:" << kAdminName << "@" << options.domain
        << "\"\npassword = " << toml_string(kAdminPassword)
        << "\nadmin = true\nprivate_call = false\nmay_be_called = false\n\n";
    if (!out.flush()) throw std::runtime_error("cannot write " + config_);
}

void McSystem::launch() {
    ++runs_;
    const auto run = runs_ == 1 ? std::string() : ".run" + std::to_string(runs_);
    pcap_ = (fs::path(dir_) / ("system-" + options_.id + run + ".pcap")).string();
    if (runs_ > 1)
        std::ofstream(log_, std::ios::app) << "---- test harness: restart " << runs_ << "\n";
    {
        // ChildProcess's move assignment does not close the pipes of the process it replaces:
        // the previous run's go with this handle.
        ChildProcess previous(std::move(process_));
    }
    std::vector<std::string> args{mcxd_binary(), "--config", config_, "--log-level", "debug"};
    if (options_.pcap) {
        args.insert(args.end(), {"--pcap", pcap_});
    } else {
        pcap_.clear();
    }
    auto child = ChildProcess::spawn(args, log_);
    if (!child) throw std::runtime_error(child.error().reason);
    process_ = std::move(*child);
    auto line = process_.read_line(10s);
    auto ready = Json::parse(line.value_or(""), nullptr, false);
    if (ready.is_discarded() || ready.value("event", "") != "ready") {
        throw std::runtime_error("mcxd " + options_.id + " did not start; see " + log_);
    }
    auto split = [](const std::string& hp) {
        const auto colon = hp.rfind(':');
        return net::Endpoint{hp.substr(0, colon),
                             static_cast<std::uint16_t>(std::stoi(hp.substr(colon + 1)))};
    };
    sip_ = split(ready["sip"].get<std::string>());
    http_ = split(ready["http"].get<std::string>());
    sip_legs_.reset();
    sip_tls_.reset();
    interconnect_.reset();
    https_.reset();
    if (ready.contains("https")) https_ = split(ready["https"].get<std::string>());
    if (ready.contains("sip_tls")) sip_tls_ = split(ready["sip_tls"].get<std::string>());
    if (ready.contains("sip_legs")) sip_legs_ = split(ready["sip_legs"].get<std::string>());
    if (ready.contains("interconnect"))
        interconnect_ = split(ready["interconnect"].get<std::string>());
    // Logged in at once: before a test's failed logins can hold this address, and before a
    // login flood fills the hash pool.
    std::lock_guard lock(admin_mutex_);
    admin_token_ = admin_login(kAdminName, kAdminPassword);
}

void McSystem::restart() {
    if (running()) stop();
    // The ports of the first run, also where the configuration said "any".
    options_.http_port = http_.port;
    options_.sip_port = sip_.port;
    if (sip_tls_) options_.tls_port = sip_tls_->port;
    write_config();
    launch();
}

McSystem::~McSystem() {
    stop();
}

std::string McSystem::key_path() const {
    return (fs::path(config_).parent_path() / ("idms-" + options_.id + ".pem")).string();
}

namespace {

std::uint16_t free_port(int type) {
    const int fd = socket(AF_INET, type, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
}

}  // namespace

std::uint16_t free_tcp_port() {
    return free_port(SOCK_STREAM);
}
std::uint16_t free_udp_port() {
    return free_port(SOCK_DGRAM);
}

int McSystem::stop() {
    return process_.stop();
}

int McSystem::kill() {
    process_.kill_now();
    return process_.wait(0ms).value_or(-SIGKILL);
}

bool McSystem::running() {
    return process_.pid() > 0 && !process_.wait(0ms);
}

std::optional<net::HttpResponse> McSystem::admin_get(const std::string& path) const {
    std::lock_guard lock(admin_mutex_);
    for (int attempt = 0;; ++attempt) {
        if (admin_token_.empty()) admin_token_ = admin_login(kAdminName, kAdminPassword);
        auto r =
            net::http_get(http_url() + path, {{"Authorization", "Bearer " + admin_token_}}, 3s);
        if (!r) return std::nullopt;
        if (r->status != 401 || attempt > 0) return *r;
        admin_token_.clear();
    }
}

std::string McSystem::admin_token() const {
    std::lock_guard lock(admin_mutex_);
    return admin_token_;
}

Json McSystem::status() const {
    auto r = admin_get("/status");
    if (!r || r->status != 200) return Json{};
    return Json::parse(r->body, nullptr, false);
}

bool McSystem::wait_for_partner_keys(std::chrono::milliseconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto now = status();  // null while mcxd does not answer
        const auto keys = now.is_object() ? now.value("partner_idms_keys", Json::object()) : Json();
        bool all_known = now.is_object();
        for (const auto& [partner, state] : keys.items()) all_known &= state != "not known yet";
        if (all_known) return true;
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(20ms);
    }
}

std::string McSystem::token(const std::string& user, const std::string& password,
                            const std::string& client_id) const {
    std::map<std::string, std::string> form{
        {"grant_type", "password"}, {"username", uri(user)}, {"password", password}};
    if (!client_id.empty()) form["client_id"] = client_id;
    auto r = net::http_post_form(http_url() + "/idms/token", form, 3s);
    if (!r || r->status != 200) return {};
    return Json::parse(r->body)["access_token"].get<std::string>();
}

std::string McSystem::admin_login(const std::string& user, const std::string& password) const {
    auto r = net::http_post_form(http_url() + "/idms/token",
                                 {{"grant_type", "password"},
                                  {"username", uri(user)},
                                  {"password", password},
                                  {"scope", "mcx-admin"}},
                                 3s);
    if (!r || r->status != 200) return {};
    return Json::parse(r->body)["access_token"].get<std::string>();
}

int login_from(const std::string& source, const McSystem& system, const std::string& user,
               const std::string& password) {
    const std::string body = "grant_type=password&username=" + user + "&password=" + password;
    TcpConnection connection(source, system.http());
    const auto request =
        "POST /idms/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    if (!connection.send(request)) return 0;
    return http_status_of(connection.receive_until_closed(5s));
}

AliceAndBob start_alice_and_bob(McSystem::Options options) {
    if (options.users.empty()) {
        options.users = {{"alice", "pw-a", {"*"}}, {"bob", "pw-b", {"*"}}};
    }
    AliceAndBob run;
    run.system = McSystem::start(options, test_output_dir());
    run.alice = ClientProcess::start(*run.system, "alice", "pw-a");
    run.bob = ClientProcess::start(*run.system, "bob", "pw-b");
    if (!run.alice->wait("registered") || !run.bob->wait("registered")) {
        throw std::runtime_error("alice or bob did not register; see " + run.system->log_path());
    }
    return run;
}

std::unique_ptr<ClientProcess> ClientProcess::start(const McSystem& system, const std::string& name,
                                                    const std::string& password,
                                                    const std::vector<std::string>& extra_args) {
    auto client = std::unique_ptr<ClientProcess>(new ClientProcess());
    client->name_ = name;
    const auto log = fs::path(system.log_path()).parent_path() / ("client-" + name + ".log");
    std::vector<std::string> argv{mcx_binary(),   "client",
                                  "--script",     "-",
                                  "--user",       system.uri(name),
                                  "--password",   password,
                                  "--sip-server", system.client_sip().to_string(),
                                  "--idms-url",   system.http_url(),
                                  "--log-level",  "debug"};
    if (system.client_tls()) {
        argv.insert(argv.end(), {"--transport", "tls", "--ca", system.client_ca()});
    }
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    auto child = ChildProcess::spawn(argv, log.string());
    if (!child) throw std::runtime_error(child.error().reason);
    client->process_ = std::move(*child);
    return client;
}

std::unique_ptr<ClientProcess> ClientProcess::start_with_config(
    const std::string& config, const std::string& name, const std::string& log,
    const std::vector<std::string>& extra_args) {
    auto client = std::unique_ptr<ClientProcess>(new ClientProcess());
    client->name_ = name;
    std::vector<std::string> argv{mcx_binary(), "client", "--script",    "-",
                                  "--config",   config,   "--log-level", "debug"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    auto child = ChildProcess::spawn(argv, log);
    if (!child) throw std::runtime_error(child.error().reason);
    client->process_ = std::move(*child);
    return client;
}

ClientProcess::~ClientProcess() {
    send("quit");
    process_.stop(3s);
}

void ClientProcess::pause() {
    ::kill(process_.pid(), SIGSTOP);
}

void ClientProcess::resume() {
    ::kill(process_.pid(), SIGCONT);
}

void ClientProcess::send(const std::string& command) {
    process_.write_line(command);
}

std::optional<Json> ClientProcess::wait(const std::function<bool(const Json&)>& pred,
                                        std::chrono::milliseconds timeout) {
    for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
        if (pred(*it)) {
            auto found = *it;
            backlog_.erase(it);
            return found;
        }
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto line = process_.read_line(left);
        if (!line) return std::nullopt;
        auto event = Json::parse(*line, nullptr, false);
        if (event.is_discarded()) continue;
        if (pred(event)) return event;
        backlog_.push_back(std::move(event));
    }
}

std::optional<Json> ClientProcess::wait(const std::string& event,
                                        std::chrono::milliseconds timeout) {
    return wait([&](const Json& e) { return e.value("event", "") == event; }, timeout);
}

std::optional<Json> ClientProcess::status() {
    send("status");
    return wait("status");
}

std::string build_register(const McSystem& system, const RawRegister& request) {
    proto::McpttInfo info;
    info.access_token = request.access_token;
    info.client_id = request.client_id;
    const auto body = proto::build_mcptt_info(info);
    std::string out = "REGISTER sip:" + system.domain() + " SIP/2.0\r\n";
    out += "Via: SIP/2.0/" + request.via + ";branch=z9hG4bK-" + request.tag + "\r\n";
    out += "Max-Forwards: 70\r\n";
    out += "From: <" + system.uri(request.user) + ">;tag=" + request.tag + "\r\n";
    out += "To: <" + system.uri(request.user) + ">\r\n";
    out += "Call-ID: " + request.tag + "\r\nCSeq: 1 REGISTER\r\n";
    out += "Contact: " + request.contact + "\r\n";
    out += "Expires: " + std::to_string(request.expires) + "\r\n";
    out += "Content-Type: application/vnd.3gpp.mcptt-info+xml\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return out;
}

RawRegister udp_client_register(const std::string& user, std::uint16_t port) {
    RawRegister request;
    request.user = user;
    request.via = "UDP 127.0.0.1:" + std::to_string(port) + ";rport";
    request.contact = "<sip:" + user + "@127.0.0.1:" + std::to_string(port) + ">;+g.3gpp.mcptt";
    return request;
}

RawSipSocket::RawSipSocket() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
}

RawSipSocket::~RawSipSocket() {
    close(fd_);
}

void RawSipSocket::connect_to(const net::Endpoint& peer) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, peer.host.c_str(), &addr.sin_addr);
    addr.sin_port = htons(peer.port);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        throw std::runtime_error("connect to " + peer.to_string() + " failed");
    }
}

void RawSipSocket::send(const net::Endpoint& to, const std::string& message) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, to.host.c_str(), &addr.sin_addr);
    addr.sin_port = htons(to.port);
    sendto(fd_, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&addr),
           sizeof(addr));
}

std::optional<std::pair<std::string, net::Endpoint>> RawSipSocket::receive_matching(
    const std::function<bool(const std::string&)>& wanted, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd pfd{fd_, POLLIN, 0};
        if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
        char buf[65536];
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        const auto n = recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) return std::nullopt;
        std::string msg(buf, static_cast<std::size_t>(n));
        if (!wanted(msg)) continue;
        char host[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &from.sin_addr, host, sizeof(host));
        return std::pair{std::move(msg), net::Endpoint{host, ntohs(from.sin_port)}};
    }
}

std::string RawSipSocket::receive_final(std::chrono::milliseconds timeout) {
    auto received = receive_matching(
        [](const std::string& msg) { return msg.starts_with("SIP/2.0 ") && status_of(msg) >= 200; },
        timeout);
    return received ? received->first : std::string{};
}

std::pair<std::string, net::Endpoint> RawSipSocket::receive_request(
    const std::string& method, std::chrono::milliseconds timeout) {
    auto received = receive_matching(
        [&method](const std::string& msg) { return msg.starts_with(method + " "); }, timeout);
    return received.value_or(std::pair<std::string, net::Endpoint>{});
}

std::string alice_calls_bob_invite(const McSystem& system, const std::string& via, int n) {
    proto::McpttInfo info;
    info.session_type = "private";
    const auto body = proto::build_multipart(
        {{"application/sdp",
          "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
          "m=audio 40000 RTP/AVP 96\r\na=rtpmap:96 AMR-WB/16000\r\n"
          "m=application 40010 udp MCPTT\r\na=fmtp:MCPTT mc_queueing;mc_priority=1\r\n"},
         {"application/vnd.3gpp.mcptt-info+xml", proto::build_mcptt_info(info)},
         {"application/resource-lists+xml", proto::build_resource_lists({system.uri("bob")})}},
        "b");
    const auto tag = std::to_string(n);
    return "INVITE sip:mcptt-orig@" + system.domain() + " SIP/2.0\r\nVia: SIP/2.0/" + via +
           ";branch=z9hG4bK-raw" + tag + "\r\nMax-Forwards: 70\r\nFrom: <sip:alice@" +
           system.domain() + ">;tag=" + tag + "\r\nTo: <sip:mcptt-orig@" + system.domain() +
           ">\r\nCall-ID: raw-" + tag +
           "\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:9>\r\n"
           "Content-Type: multipart/mixed;boundary=b\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string response_to(const std::string& request, int status, const std::string& reason,
                        const std::string& to_tag, const std::string& extra_headers,
                        const std::string& content_type, const std::string& body) {
    std::string out = "SIP/2.0 " + std::to_string(status) + " " + reason + "\r\n";
    std::istringstream in(request);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) break;
        const auto name = line.substr(0, line.find(':'));
        if (name == "Via" || name == "v" || name == "From" || name == "f" || name == "Call-ID" ||
            name == "i" || name == "CSeq") {
            out += line + "\r\n";
        } else if (name == "To" || name == "t") {
            out +=
                line + (line.find(";tag=") == std::string::npos ? ";tag=" + to_tag : "") + "\r\n";
        }
    }
    out += extra_headers;
    if (!body.empty()) out += "Content-Type: " + content_type + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return out;
}

int status_of(const std::string& response) {
    if (!response.starts_with("SIP/2.0 ") || response.size() < 11) return 0;
    return std::stoi(response.substr(8, 3));
}

std::string header_of(const std::string& response, const std::string& name) {
    std::istringstream in(response);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) break;
        if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
            line[name.size()] == ':') {
            auto value = line.substr(name.size() + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            return value;
        }
    }
    return {};
}

SipPcapCheck check_sip_pcap(const std::string& pcap) {
    // Floor control packets sit on ports no SDP in the trace names for tshark: its RTCP
    // heuristic finds them.
    auto count = [&](const std::string& filter) {
        const auto out =
            command_output("tshark -r " + pcap + " --enable-heuristic rtcp_udp" +
                           (filter.empty() ? "" : " -Y '" + filter + "'") + " 2>/dev/null | wc -l");
        return out.empty() ? -1 : std::stoi(out);
    };
    return SipPcapCheck{count(""), count("sip"),
                        count("_ws.malformed || _ws.expert.severity == \"error\""),
                        count("rtcp.app.name == \"MCPT\"")};
}

}  // namespace mcx::test
