// Fuzzes mcxd's HTTP handlers (IdMS, CMS, monitoring) from the bytes a client sends on one
// connection: framed as the listener frames them (proto::HttpRequestFramer under mcxd's
// limits), each request handed on as the listener hands it (proto::handed_on_request), parsed by
// cpp-httplib and served by the routes mcxd registers (http_api::register_http_routes), through
// HttpServer::serve, the entry the listener's workers use. Up to kMaxRequests pipelined requests
// per input, as on a keep-alive connection.
//
// System A as mcxd assembles it, from a TOML configuration: users alice (may migrate to B), bob,
// root (administrator); partner B with a configured key and plain HTTP, whose CMS is a function
// that answers carol@b.mcx's profile; the store in memory; the clock fixed. Password hashing is
// made cheap with the configuration's own knob ([idms] password_hash_iterations = 1000) and the
// login throttle is fresh for every input, so that logins are neither slow nor held for ever.
// Whatever an input changed in the store is undone, so that every input meets the same state:
// the tokens it issued or revoked are put back through the store and the ledger reloaded (as
// when another process changes the store); after a migration the system is built again.
//
// Tokens minted at start-up with the systems' own keys (both made afresh by each run) stand in
// for markers in the input: @alice@ (alice's token, client c1, current in the ledger), @root@
// (root's administrator token), @carol-migrated@ (A's token for carol.b@a.mcx, primary
// carol@b.mcx, as the token exchange gives it), @carol-b@ and @carol-home@ (B's tokens for
// carol@b.mcx, audience A and B, client c1), @system-b@ (B's system token for A). The seeds in
// http_handlers_fuzz_corpus/ use them, in headers and query strings, where they change no
// Content-Length.
//
// Checked for every response: it is an HTTP/1.1 status line with a status of 100..599, never
// 500 (a handler that threw, or a server error that some request can cause), and a JSON
// body where the content type says so is valid JSON.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cms/cms.hpp"
#include "cms/profiles.hpp"
#include "common/system_config.hpp"
#include "http_api/idms_wiring.hpp"
#include "http_api/routes.hpp"
#include "idms/keys.hpp"
#include "idms/password_hash_pool.hpp"
#include "idms/token.hpp"
#include "idms/token_endpoint.hpp"
#include "idms/token_ledger.hpp"
#include "net/http.hpp"
#include "net/http_listener.hpp"
#include "proto/http_request_framer.hpp"
#include "proto/user_profile.hpp"
#include "store/sqlite_store.hpp"

namespace {

using namespace mcx;

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::size_t kMaxRequests = 4;
constexpr std::size_t kMaxInput = 8192;  // fuzz-smoke's -max_len

// The mcxd configuration of system A (config/README.md); %B_KEY% is B's public key file.
constexpr std::string_view kConfig = R"([system]
id = "A"
domain = "a.mcx"

[idms]
token_lifetime_seconds = 3600
password_hash_iterations = 1000
login_user_failures = 2
login_source_failures = 3
login_hold_seconds = 30
password_hash_threads = 1
password_hash_queue = 0

[migration]
accept = true

[[users]]
id = "sip:alice@a.mcx"
password = "alice-secret"
migrate_to = ["B"]

[[users]]
id = "sip:bob@a.mcx"
password = "bob-secret"
private_call_targets = ["*"]

[[users]]
id = "sip:root@a.mcx"
password = "root-secret"
admin = true

[[partners]]
id = "B"
domain = "b.mcx"
idms_public_key_file = "%B_KEY%"
cms_url = "http://127.0.0.1:1"
plain_http = true
)";

McServiceId id(const char* uri) {
    return *McServiceId::parse(uri);
}

[[noreturn]] void give_up(const std::string& why) {
    fprintf(stderr, "http_handlers_fuzz: %s\n", why.c_str());
    std::abort();
}

template <typename T>
T must(Result<T> r, const char* what) {
    if (!r) give_up(std::string(what) + ": " + r.error().reason);
    return std::move(*r);
}

void must(const Result<void>& r, const char* what) {
    if (!r) give_up(std::string(what) + ": " + r.error().reason);
}

// A token A's IdMS issued, to be current in its ledger.
struct CurrentToken {
    McServiceId subject;
    std::string client_id;
    idms::IssuedToken issued;
};

// What stays for the whole run: the configuration, both systems' keys, the markers' tokens.
struct Fixture {
    SystemConfig config;
    idms::SigningKey key_a;
    idms::SigningKey key_b;
    std::string carol_profile;                                 // what B's CMS answers for carol
    std::vector<std::pair<std::string, std::string>> markers;  // marker, token
    std::vector<CurrentToken> current;                         // A's tokens among them
};

// System A's HTTP side as apps/mcxd/main.cpp builds it, on a fresh store.
struct SystemA {
    explicit SystemA(const Fixture& f)
        : config(f.config),
          store(must(store::SqliteStore::open(":memory:"), "store")),
          credentials(*store),
          records(*store),
          ledger(config.idms_issuer(), records),
          issuer(f.key_a, config.idms_issuer(), config.token_audience(),
                 config.token_lifetime_seconds),
          verifier(config.token_audience()),
          endpoint(credentials, issuer, config.token_audience(),
                   http_api::partner_audience_policy(config, *store),
                   static_cast<int>(config.login.hash_iterations)),
          hashing(config.login.hash_threads, config.login.hash_queue),
          cms(
              config, *store, verifier, issuer,
              [&f](const std::string& url, const std::string& token)
                  -> Result<cms::PartnerResponse> { return partner_cms(f, url, token); },
              [] { return kNow; }) {
        must(cms::seed_store(*store, config), "seeding");
        must(ledger.load(), "ledger");
        verifier.trust(config.idms_issuer(), {f.key_a.public_pem, config.domain, issuer.key_id()});
        http_api::resolve_partner_keys(verifier, config, {});
        verifier.set_status_check(
            [this](const idms::AccessTokenClaims& claims) { return ledger.check(claims); });
        endpoint.track_tokens(ledger);
        endpoint.enable_token_exchange(verifier, http_api::migration_intake(config));
        endpoint.enable_revocation(verifier);
        http_api::register_http_routes(
            http, http_api::HttpApi{
                      config,
                      *store,
                      endpoint,
                      verifier,
                      cms,
                      f.key_a.public_pem,
                      must(f.key_a.jwks(issuer.key_id()), "jwks"),
                      {[] { return std::make_optional<std::string>(R"({"calls":0})"); },
                       [] { return std::make_optional(std::vector<prometheus::Family>{}); }},
                      [] { return kNow; }});

        // The markers' tokens current, as the logins that got them would have left them.
        for (const auto& t : f.current) {
            must(ledger.issued(t.subject, t.client_id, t.issued, kNow), "a marker's token");
        }
        initial_tokens = must(store->current_tokens(), "tokens");
        initial_others = others();
    }

    // B's CMS (CSC-17): carol's migration profile, 404 for anyone else.
    static Result<cms::PartnerResponse> partner_cms(const Fixture& f, const std::string& url,
                                                    const std::string& token) {
        if (token.empty()) give_up("a partner CMS request without a system token");
        if (url.find("?user=sip:carol@b.mcx&") != std::string::npos) {
            return cms::PartnerResponse{200, f.carol_profile};
        }
        return cms::PartnerResponse{404, "no such user\n"};
    }

    // Puts the tokens back as they were before the input (through the store and the ledger,
    // as another process's change would be taken in); false when it changed more (users
    // migrated here or from here: the system is built again).
    bool restore() {
        if (others() != initial_others) return false;
        const auto tokens = must(store->current_tokens(), "tokens");
        const auto same = [](const store::TokenRow& a, const store::TokenRow& b) {
            return a.user == b.user && a.client_id == b.client_id && a.token_id == b.token_id;
        };
        if (std::equal(tokens.begin(), tokens.end(), initial_tokens.begin(), initial_tokens.end(),
                       same)) {
            return true;
        }
        for (const auto& t : tokens) {
            if (std::none_of(initial_tokens.begin(), initial_tokens.end(),
                             [&](const auto& i) { return same(i, t); })) {
                must(store->remove_current_token(t.user, t.client_id, t.token_id), "a token");
            }
        }
        for (const auto& t : initial_tokens) must(store->put_current_token(t, kNow), "a token");
        must(ledger.load(), "ledger");
        return true;
    }

    // The store's migrated and roaming users.
    std::pair<std::size_t, std::size_t> others() {
        return {must(store->migrated_users(), "migrated").size(),
                must(store->roaming_users(), "roaming").size()};
    }

    const SystemConfig& config;
    std::unique_ptr<store::SqliteStore> store;
    http_api::StoreCredentials credentials;
    http_api::StoreTokenRecords records;
    idms::TokenLedger ledger;
    idms::TokenIssuer issuer;
    idms::TokenVerifier verifier;
    idms::TokenEndpoint endpoint;
    idms::PasswordHashPool hashing;
    cms::ConfigurationManagementServer cms;
    net::HttpServer http;
    std::vector<store::TokenRow> initial_tokens;
    std::pair<std::size_t, std::size_t> initial_others;
};

Fixture make_fixture() {
    Fixture f{{},
              must(idms::SigningKey::generate(), "key A"),
              must(idms::SigningKey::generate(), "key B"),
              {},
              {},
              {}};
    const auto dir = std::filesystem::temp_directory_path() /
                     ("mcx-http-handlers-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto key_file = dir / "b-public.pem";
    std::ofstream(key_file) << f.key_b.public_pem;
    std::string toml(kConfig);
    toml.replace(toml.find("%B_KEY%"), 7, key_file.string());
    f.config = must(parse_system_config(toml, "fuzz-a.toml", dir.string()), "configuration");
    std::filesystem::remove_all(dir);  // the key is read
    proto::UserProfile carol;
    carol.user = id("sip:carol@b.mcx");
    carol.name = "carol";
    carol.allow_private_call_to_any_user = true;
    f.carol_profile = proto::build_user_profile(carol);

    // Minted once (each signature parses the key's PEM again): A's users' tokens, put in the
    // ledger of every SystemA built, and B's.
    const auto& config = f.config;
    const idms::TokenIssuer a(f.key_a, config.idms_issuer(), config.token_audience(),
                              config.token_lifetime_seconds);
    CurrentToken alice{id("sip:alice@a.mcx"), "c1", {}};
    f.markers.emplace_back("@alice@", must(a.issue_for(alice.subject, "c1", config.token_audience(),
                                                       kNow, &alice.issued),
                                           "alice's token"));
    CurrentToken root{id("sip:root@a.mcx"), "c1", {}};
    f.markers.emplace_back("@root@",
                           must(a.issue_admin(root.subject, "c1", kNow, &root.issued), "root's"));
    // What the token exchange gives carol of B here (TS 33.180 5.1.4.2).
    CurrentToken carol_here{id("sip:carol.b@a.mcx"), "c1", {}};
    f.markers.emplace_back("@carol-migrated@",
                           must(a.issue_migrated(carol_here.subject, id("sip:carol@b.mcx"), "c1",
                                                 kNow, &carol_here.issued),
                                "carol's migrated"));
    f.current = {alice, root, carol_here};
    const idms::TokenIssuer b(f.key_b, "mcx-idms:B", "mcx:B", 3600);
    f.markers.emplace_back(
        "@carol-b@", must(b.issue_for(id("sip:carol@b.mcx"), "c1", "mcx:A", kNow), "carol's"));
    f.markers.emplace_back("@carol-home@",
                           must(b.issue_for(id("sip:carol@b.mcx"), "c1", "mcx:B", kNow), "home"));
    f.markers.emplace_back("@system-b@", must(b.system_token("B", "mcx:A", kNow), "B's system"));
    return f;
}

const Fixture& fixture() {
    static const Fixture f = make_fixture();
    return f;
}

std::unique_ptr<SystemA>& system_a() {
    static std::unique_ptr<SystemA> a;
    if (!a) a = std::make_unique<SystemA>(fixture());
    return a;
}

std::string with_tokens(std::string input) {
    for (const auto& [marker, token] : fixture().markers) {
        for (auto at = input.find(marker); at != std::string::npos;
             at = input.find(marker, at + token.size())) {
            input.replace(at, marker.size(), token);
        }
    }
    return input;
}

void check(const std::string& response) {
    // "HTTP/1.1 200 OK\r\n..."
    if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) __builtin_trap();
    const int status = std::atoi(response.substr(9, 3).c_str());
    if (status < 100 || status > 599) __builtin_trap();
    if (status == 500) {
        fprintf(stderr, "500 answered:\n%s\n", response.substr(0, 2000).c_str());
        __builtin_trap();
    }
    const auto end_of_head = response.find("\r\n\r\n");
    if (end_of_head == std::string::npos) __builtin_trap();
    const auto head = std::string_view(response).substr(0, end_of_head);
    if (head.find("\r\nContent-Type: application/json") != std::string_view::npos &&
        !nlohmann::json::accept(response.substr(end_of_head + 4))) {
        __builtin_trap();
    }
}

}  // namespace

// MCX_HTTP_FUZZ_TRACE=1: each response printed (to see what a seed reaches).
const bool tracing = std::getenv("MCX_HTTP_FUZZ_TRACE") != nullptr;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(tracing ? spdlog::level::debug : spdlog::level::off);
    system_a();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kMaxInput) return 0;
    auto& a = system_a();
    // A fresh throttle: holds are reached within one input (two failures), never across them.
    a->endpoint.protect_logins(http_api::login_throttle_limits(a->config.login), a->hashing);
    const auto input = with_tokens(std::string(reinterpret_cast<const char*>(data), size));

    proto::HttpRequestFramer framer(net::head_limits(net::HttpLimits{}));  // mcxd's limits
    std::string_view rest(input);
    for (std::size_t n = 0; n < kMaxRequests; ++n) {
        if (framer.scan(rest) != proto::HttpRequestFramer::Progress::framed) break;
        const auto& framed = framer.framed();
        if (rest.size() < framed.size()) break;  // the listener would wait for the body
        const net::ReceivedRequest request{proto::handed_on_request(rest, framed),
                                           "127.0.0.1",
                                           40000,
                                           "127.0.0.1",
                                           8080,
                                           nullptr,
                                           n + 1 == kMaxRequests};
        const auto served = a->http.serve(request);
        if (tracing) fprintf(stderr, "%s\n---\n", served.bytes.substr(0, 600).c_str());
        check(served.bytes);
        if (!served.keep_alive) break;
        rest.remove_prefix(framed.size());
        framer.reset();
    }
    if (!a->restore()) a.reset();  // built again for the next input
    return 0;
}
