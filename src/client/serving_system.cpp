#include "client/serving_system.hpp"

#include "proto/content_type.hpp"
#include "proto/mc_service.hpp"
#include "proto/mcptt_info.hpp"
#include "proto/mcptt_sip.hpp"

namespace mcx::client {

const char* to_string(RegistrationState state) {
    switch (state) {
        case RegistrationState::none:
            return "none";
        case RegistrationState::registering:
            return "registering";
        case RegistrationState::registered:
            return "registered";
        case RegistrationState::failed:
            return "failed";
        case RegistrationState::unregistering:
            return "unregistering";
    }
    return "unknown";
}

ServingSystem::~ServingSystem() = default;

Result<void> ServingSystem::start_registration(net::SipStack& sip, const ClientConfig& config,
                                               RegistrationHandler handler) {
    proto::McpttInfo info;
    info.access_token = access_token;
    info.client_id = config.client_id;
    net::RegistrationOptions opts;
    opts.registrar_uri = "sip:" + address_.domain;
    opts.registrar = address_.sip_server;
    opts.transport = config.transport;
    opts.aor = mc_service_id.uri();
    opts.contact_user = std::string(mc_service_id.user());
    opts.contact_params = proto::contact_params(proto::describe(proto::McService::mcptt));
    opts.expires = config.register_expires;
    opts.content_type = std::string(proto::kMimeMcpttInfo);
    opts.body = proto::build_mcptt_info(info);
    registration_.reset();
    auto reg = net::RegistrationClient::start(sip, opts, std::move(handler));
    if (!reg) return tl::unexpected(reg.error());
    registration_ = std::move(*reg);
    registration_state_ = RegistrationState::registering;
    return {};
}

void ServingSystem::unregister() {
    if (!registration_) return;
    registration_state_ = RegistrationState::unregistering;
    registration_->stop();
}

void ServingSystem::drop_registration() {
    registration_.reset();
    registration_state_ = RegistrationState::none;
}

void ServingSystem::on_registration_event(net::RegistrationEvent event) {
    switch (event) {
        case net::RegistrationEvent::registered:
            if (registration_state_ != RegistrationState::unregistering) {
                registration_state_ = RegistrationState::registered;
            }
            return;
        case net::RegistrationEvent::failed:
            registration_state_ = RegistrationState::failed;
            return;
        case net::RegistrationEvent::unregistered:
            registration_state_ = RegistrationState::none;
            return;
    }
}

}  // namespace mcx::client
