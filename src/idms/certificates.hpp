#pragma once
// A private certificate authority and per-system certificates for the interconnect between MC
// systems (mutual TLS, issue 5): `mcx admin certs`, the demo and the tests use it.

#include <string>
#include <vector>

#include "common/error.hpp"

namespace mcx::idms {

struct IssuedCertificate {
    std::string certificate_pem;
    std::string private_key_pem;
};

// A self-signed CA certificate (P-256, CA:TRUE) named `name`.
Result<IssuedCertificate> make_certificate_authority(const std::string& name, int valid_days);

// A certificate for MC system `system_id` (CN) with DNS names (subjectAltName), signed by `ca`.
Result<IssuedCertificate> issue_certificate(const IssuedCertificate& ca,
                                            const std::string& system_id,
                                            const std::vector<std::string>& dns_names,
                                            int valid_days);

// Writes <dir>/ca.pem, <dir>/ca-key.pem and, per system, <dir>/<id>.pem holding its
// certificate followed by its key (the single file libre's tls_alloc reads). Keys are 0600.
Result<void> write_interconnect_certificates(const std::string& dir,
                                             const std::vector<std::string>& system_ids);

}  // namespace mcx::idms
