#include "net/registration_client.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <optional>

#include "net/re_include.hpp"
#include "net/sip_stack.hpp"

namespace mcx::net {

struct RegistrationCallbacks {
    static int send(enum sip_transp tp, const sa* src, const sa*, mbuf* mb, void* arg) {
        auto* self = static_cast<RegistrationClient*>(arg);
        return mbuf_printf(mb, "Contact: <sip:%s@%J%s>%s\r\n", self->opts_.contact_user.c_str(),
                           src, uri_transport_param(from_libre(tp)),
                           self->opts_.contact_params.c_str());
    }
    static void response(int err, const sip_msg* msg, void* arg) {
        set_no_delay(msg);
        auto* self = static_cast<RegistrationClient*>(arg);
        if (msg) {
            SipMessage m(msg);
            self->on_response(err, &m);
        } else {
            self->on_response(err, nullptr);
        }
    }
};

RegistrationClient::RegistrationClient(SipStack& stack, RegistrationOptions opts, Handler handler)
    : stack_(stack), opts_(std::move(opts)), handler_(std::move(handler)) {}

Result<std::unique_ptr<RegistrationClient>> RegistrationClient::start(SipStack& stack,
                                                                      RegistrationOptions opts,
                                                                      Handler handler) {
    std::unique_ptr<RegistrationClient> self(
        new RegistrationClient(stack, std::move(opts), std::move(handler)));
    const auto& o = self->opts_;
    const std::string route = "sip:" + o.registrar.host + ":" + std::to_string(o.registrar.port) +
                              uri_transport_param(o.transport);
    const char* routev[1] = {route.c_str()};
    if (int err = sip_dialog_alloc(&self->dialog_, o.registrar_uri.c_str(), o.aor.c_str(), nullptr,
                                   o.aor.c_str(), routev, 1);
        err != 0) {
        return fail(Errc::invalid_argument, "cannot build REGISTER for " + o.aor);
    }
    if (auto sent = self->send(o.expires); !sent) return tl::unexpected(sent.error());
    return self;
}

RegistrationClient::~RegistrationClient() {
    mem_deref(request_);
    mem_deref(dialog_);
}

Result<void> RegistrationClient::send(std::uint32_t expires) {
    if (request_) return fail(Errc::invalid_argument, "REGISTER already in progress");
    std::string rest = "Expires: " + std::to_string(expires) + "\r\n" + opts_.headers;
    if (!opts_.body.empty()) rest += "Content-Type: " + opts_.content_type + "\r\n";
    rest += "Content-Length: " + std::to_string(opts_.body.size()) + "\r\n\r\n" + opts_.body;
    if (int err = sip_drequestf(&request_, stack_.raw(), true, "REGISTER", dialog_, 0, nullptr,
                                &RegistrationCallbacks::send, &RegistrationCallbacks::response,
                                this, "%s", rest.c_str());
        err != 0) {
        return fail(Errc::io, "cannot send REGISTER: " + std::string(strerror(err)));
    }
    return {};
}

void RegistrationClient::stop() {
    refresh_.cancel();
    stopping_ = true;
    mem_deref(request_);
    request_ = nullptr;
    if (!send(0)) handler_(RegistrationEvent::unregistered, nullptr);
}

namespace {
// Retry-After (RFC 3261 20.33): delta-seconds, then optional comment and parameters; waits
// longer than a minute are not kept up for.
std::optional<std::uint32_t> retry_after_seconds(const SipMessage& msg) {
    auto h = msg.header("Retry-After");
    if (!h) return std::nullopt;
    std::uint32_t value = 0;
    auto [p, ec] = std::from_chars(h->data(), h->data() + h->size(), value);
    if (ec != std::errc() || value > 60) return std::nullopt;
    return std::max<std::uint32_t>(value, 1);
}
}  // namespace

void RegistrationClient::on_response(int err, const SipMessage* msg) {
    if (msg && msg->status() < 200) return;
    if (stopping_) {
        handler_(RegistrationEvent::unregistered, msg);
        return;
    }
    if (msg && msg->status() == 503 && retries_after_503_ < kMaxRetriesAfter503) {
        // RFC 3261 21.5.4 / 20.33: an overloaded registrar says when to come back.
        if (auto wait = retry_after_seconds(*msg)) {
            ++retries_after_503_;
            spdlog::info("REGISTER of {} answered 503 ({}): again in {} s", opts_.aor,
                         msg->reason(), *wait);
            refresh_.start(std::chrono::seconds(*wait), [this] {
                if (auto sent = send(opts_.expires); !sent) {
                    handler_(RegistrationEvent::failed, nullptr);
                }
            });
            return;
        }
    }
    retries_after_503_ = 0;
    if (err != 0 || !msg || msg->status() >= 300) {
        granted_expires_ = 0;
        handler_(RegistrationEvent::failed, msg);
        return;
    }
    // Granted expiry: Expires header of the 2xx, else what we asked for (RFC 3261 10.2.4).
    granted_expires_ = opts_.expires;
    if (auto h = msg->header("Expires")) {
        std::uint32_t value = 0;
        auto [p, ec] = std::from_chars(h->data(), h->data() + h->size(), value);
        if (ec == std::errc() && value > 0) granted_expires_ = value;
    }
    refresh_.start(std::chrono::seconds(std::max<std::uint32_t>(granted_expires_ / 2, 1)), [this] {
        if (auto sent = send(opts_.expires); !sent) {
            spdlog::warn("registration refresh of {} failed: {}", opts_.aor, sent.error().reason);
            handler_(RegistrationEvent::failed, nullptr);
        }
    });
    handler_(RegistrationEvent::registered, msg);
}

}  // namespace mcx::net
