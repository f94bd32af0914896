#include "net/options_probe.hpp"

#include "net/re_include.hpp"
#include "net/sip_stack.hpp"

namespace mcx::net {

struct OptionsProbeCallbacks {
    static void response(int err, const sip_msg* msg, void* arg) {
        set_no_delay(msg);
        auto* self = static_cast<OptionsProbe*>(arg);
        if (msg && msg->scode < 200) return;
        self->request_ = nullptr;  // libre frees a finished request itself
        self->finish(err == 0 && msg ? msg->scode : 0);
    }
};

Result<std::unique_ptr<OptionsProbe>> OptionsProbe::send(SipStack& stack, const std::string& uri,
                                                         const Endpoint& to, Transport transport,
                                                         std::chrono::milliseconds timeout,
                                                         Handler handler) {
    std::unique_ptr<OptionsProbe> self(new OptionsProbe());
    self->handler_ = std::move(handler);
    const std::string route_text =
        "sip:" + to.host + ":" + std::to_string(to.port) + uri_transport_param(transport);
    struct uri route {};
    struct pl route_pl {};
    pl_set_str(&route_pl, route_text.c_str());
    if (uri_decode(&route, &route_pl) != 0) {
        return fail(Errc::invalid_argument, "bad OPTIONS target " + route_text);
    }
    // A fresh Call-ID, tag and branch per probe (RFC 3261 8.1.1).
    char call_id[33];
    char tag[17];
    rand_str(call_id, sizeof(call_id));
    rand_str(tag, sizeof(tag));
    const std::string headers = "To: <" + uri + ">\r\nFrom: <" + uri + ">;tag=" + tag +
                                "\r\nCall-ID: " + call_id +
                                "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nAccept: "
                                "application/sdp\r\nContent-Length: 0\r\n\r\n";
    if (int err = sip_requestf(&self->request_, stack.raw(), true, "OPTIONS", uri.c_str(), &route,
                               nullptr, nullptr, &OptionsProbeCallbacks::response, self.get(), "%s",
                               headers.c_str());
        err != 0) {
        return fail(Errc::io, "cannot send OPTIONS to " + to.to_string() + ": " + strerror(err));
    }
    auto* raw = self.get();
    self->timeout_.start(timeout, [raw] { raw->finish(0); });
    return self;
}

OptionsProbe::~OptionsProbe() {
    done_ = true;
    mem_deref(request_);
}

void OptionsProbe::finish(std::uint16_t status) {
    if (done_) return;
    done_ = true;
    timeout_.cancel();
    request_ = static_cast<struct sip_request*>(mem_deref(request_));
    if (handler_) handler_(status);
}

}  // namespace mcx::net
