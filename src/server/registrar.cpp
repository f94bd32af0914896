#include "server/registrar.hpp"

#include <algorithm>
#include <charconv>

#include "proto/mcptt_info.hpp"
#include "proto/multipart.hpp"

namespace mcx::server {

namespace {

constexpr std::uint32_t kMinExpires = 30;

RegisterOutcome reject(std::uint16_t status, std::string reason,
                       std::optional<proto::McWarning> warning, std::string detail) {
    RegisterOutcome out;
    out.status = status;
    out.reason = std::move(reason);
    out.warning = warning;
    out.detail = std::move(detail);
    return out;
}

std::optional<std::uint32_t> parse_uint(std::string_view text) {
    std::uint32_t value = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

std::optional<ContactValue> parse_contact(std::string_view value) {
    ContactValue out;
    const auto open = value.find('<');
    std::string_view params;
    if (open != std::string_view::npos) {
        const auto close = value.find('>', open);
        if (close == std::string_view::npos) return std::nullopt;
        out.uri = std::string(value.substr(open + 1, close - open - 1));
        params = value.substr(close + 1);
    } else {
        const auto semi = value.find(';');
        out.uri = std::string(value.substr(0, semi));
        if (semi != std::string_view::npos) params = value.substr(semi);
        while (!out.uri.empty() && out.uri.back() == ' ') out.uri.pop_back();
    }
    if (out.uri.rfind("sip:", 0) != 0 || out.uri.size() < 5) return std::nullopt;
    const auto pos = params.find(";expires=");
    if (pos != std::string_view::npos) {
        auto rest = params.substr(pos + 9);
        rest = rest.substr(0, rest.find_first_of(";, "));
        out.expires = parse_uint(rest);
        if (!out.expires) return std::nullopt;
    }
    return out;
}

RegisterOutcome Registrar::handle(const RegisterRequest& request, std::int64_t now_ms) {
    auto aor = McServiceId::parse(request.to_uri);
    if (!aor) {
        return reject(404, "Not Found", std::nullopt,
                      "To is not an MC service ID: " + aor.error().reason);
    }
    // TS 24.379 7.3.1: the access token rides in mcptt-info. No token: ask for one.
    if (request.body.empty()) {
        auto out = reject(401, "Unauthorized", proto::McWarning::service_authorisation_failed,
                          "REGISTER carries no mcptt-info with an access token");
        out.ask_for_token = true;
        return out;
    }
    auto parts = proto::split_body(request.content_type, request.body);
    if (!parts) return reject(400, "Bad Request", std::nullopt, parts.error().reason);
    const auto* info_part = proto::find_part(*parts, proto::kMimeMcpttInfo);
    if (!info_part) {
        auto out = reject(401, "Unauthorized", proto::McWarning::service_authorisation_failed,
                          "REGISTER carries no mcptt-info with an access token");
        out.ask_for_token = true;
        return out;
    }
    auto info = proto::parse_mcptt_info(info_part->body);
    if (!info) return reject(400, "Bad Request", std::nullopt, info.error().reason);
    if (!info->access_token || info->access_token->empty()) {
        auto out = reject(401, "Unauthorized", proto::McWarning::service_authorisation_failed,
                          "mcptt-info has no <mcptt-access-token>");
        out.ask_for_token = true;
        return out;
    }
    auto claims = verifier_.verify(*info->access_token, now_ms / 1000);
    if (!claims) {
        return reject(403, "Forbidden", proto::McWarning::service_authorisation_failed,
                      claims.error().reason);
    }
    // The token is bound to the client it was issued to (docs/identity.md): a token copied
    // into another client's REGISTER is refused, and so is one that names no client.
    if (claims->client_id.empty()) {
        return reject(403, "Forbidden", proto::McWarning::service_authorisation_failed,
                      "access token names no client_id: log in with client_id set to your "
                      "mcptt-client-id");
    }
    if (info->client_id.value_or("") != claims->client_id) {
        return reject(403, "Forbidden", proto::McWarning::service_authorisation_failed,
                      "access token was issued to client " + claims->client_id + ", not to " +
                          (info->client_id ? "client " + *info->client_id
                                           : std::string("a REGISTER without mcptt-client-id")));
    }
    std::optional<McServiceId> primary_id;
    if (identity_check_) {
        auto allowed = identity_check_(*claims, *aor);
        if (!allowed) {
            return reject(403, "Forbidden", proto::McWarning::service_authorisation_failed,
                          allowed.error().reason);
        }
        primary_id = *allowed;
    } else if (claims->mc_service_id() != *aor) {
        return reject(403, "Forbidden", proto::McWarning::service_authorisation_failed,
                      "access token is for " + claims->subject + ", not " + aor->uri());
    }

    // A token that made a live binding is taken only from where that binding came from: a
    // copy replayed from another address (or connection) neither moves nor removes it. A
    // newer login (another jti) may register from anywhere. [mcx-defined]
    if (const auto* live = lookup(*aor, now_ms);
        live && !claims->token_id.empty() && live->token_id == claims->token_id &&
        (live->source != request.source || live->transport != request.transport ||
         live->flow != request.flow)) {
        return reject(403, "Forbidden", proto::McWarning::service_authorisation_failed,
                      "access token is in use by the registration from " +
                          live->source.to_string() +
                          ": it registers only from there (log in again to register from here)");
    }

    if (request.contact.empty()) {
        // A query (RFC 3261 10.2.3): report the current binding.
        RegisterOutcome out;
        if (const auto* b = lookup(*aor, now_ms)) {
            out.contact_uri = b->contact_uri;
            out.expires = static_cast<std::uint32_t>((b->expires_at_ms - now_ms) / 1000);
        }
        return out;
    }
    std::optional<ContactValue> contact;
    if (request.contact != "*") {
        contact = parse_contact(request.contact);
        if (!contact) return reject(400, "Bad Request", std::nullopt, "Contact is not a SIP URI");
    }
    std::uint32_t expires = max_expires_;
    if (contact && contact->expires) {
        expires = *contact->expires;
    } else if (request.expires_header) {
        expires = *request.expires_header;
    }
    if (expires == 0) {
        RegisterOutcome out;
        out.aor = *aor;
        out.removed = bindings_.erase(*aor) > 0;
        out.primary_id = primary_id;
        return out;
    }
    if (!contact) return reject(400, "Bad Request", std::nullopt, "Contact: * needs Expires: 0");
    if (expires < kMinExpires) {
        auto out = reject(423, "Interval Too Brief", std::nullopt, "");
        out.expires = kMinExpires;
        return out;
    }
    expires = std::min(expires, max_expires_);
    Binding binding;
    binding.user = *aor;
    binding.contact_uri = contact->uri;
    binding.source = request.source;
    binding.transport = request.transport;
    binding.flow = request.flow;
    binding.client_id = claims->client_id;
    binding.token_issuer = claims->issuer;
    binding.token_id = claims->token_id;
    binding.expires_at_ms = now_ms + static_cast<std::int64_t>(expires) * 1000;
    binding.primary_id = primary_id;
    bindings_[*aor] = binding;
    RegisterOutcome out;
    out.expires = expires;
    out.contact_uri = contact->uri;
    out.aor = *aor;
    out.primary_id = primary_id;
    return out;
}

const Binding* Registrar::lookup(const McServiceId& user, std::int64_t now_ms) const {
    auto it = bindings_.find(user);
    if (it == bindings_.end() || it->second.expires_at_ms <= now_ms) return nullptr;
    return &it->second;
}

std::size_t Registrar::size(std::int64_t now_ms) const {
    return static_cast<std::size_t>(
        std::count_if(bindings_.begin(), bindings_.end(),
                      [now_ms](const auto& entry) { return entry.second.expires_at_ms > now_ms; }));
}

std::vector<Binding> Registrar::remove_if(const std::function<bool(const Binding&)>& retired) {
    std::vector<Binding> gone;
    for (auto it = bindings_.begin(); it != bindings_.end();) {
        if (retired(it->second)) {
            gone.push_back(std::move(it->second));
            it = bindings_.erase(it);
        } else {
            ++it;
        }
    }
    return gone;
}

std::vector<Binding> Registrar::expire(std::int64_t now_ms) {
    std::vector<Binding> gone;
    for (auto it = bindings_.begin(); it != bindings_.end();) {
        if (it->second.expires_at_ms <= now_ms) {
            gone.push_back(std::move(it->second));
            it = bindings_.erase(it);
        } else {
            ++it;
        }
    }
    return gone;
}

std::vector<Binding> Registrar::drop_flow(net::FlowId flow) {
    if (flow == 0) return {};
    return remove_if([flow](const Binding& b) { return b.flow == flow; });
}

}  // namespace mcx::server
