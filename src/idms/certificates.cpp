#include "idms/certificates.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>

namespace mcx::idms {

namespace {

struct Free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(BIO* p) const { BIO_free(p); }
};
template <class T>
using Ptr = std::unique_ptr<T, Free>;

std::string to_pem(X509* cert) {
    Ptr<BIO> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string to_pem(EVP_PKEY* key) {
    Ptr<BIO> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) return false;
    const bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

Result<Ptr<X509>> new_certificate(EVP_PKEY* key, const std::string& common_name, int valid_days) {
    Ptr<X509> cert(X509_new());
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof(serial));
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(valid_days) * 86400);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("MCX Core"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    return cert;
}

Result<Ptr<EVP_PKEY>> read_key(const std::string& pem) {
    Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    Ptr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) return fail(Errc::malformed, "not a PEM private key");
    return key;
}

Result<Ptr<X509>> read_cert(const std::string& pem) {
    Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    Ptr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) return fail(Errc::malformed, "not a PEM certificate");
    return cert;
}

Result<void> write_file(const std::filesystem::path& path, const std::string& text, bool secret) {
    const auto old = umask(secret ? 077 : 022);
    std::ofstream out(path);
    umask(old);
    if (!out || !(out << text)) return fail(Errc::io, "cannot write " + path.string());
    return {};
}

}  // namespace

Result<IssuedCertificate> make_certificate_authority(const std::string& name, int valid_days) {
    Ptr<EVP_PKEY> key(EVP_EC_gen("P-256"));
    if (!key) return fail(Errc::internal, "cannot generate a key");
    auto cert = new_certificate(key.get(), name, valid_days);
    if (!cert) return tl::unexpected(cert.error());
    X509_set_issuer_name(cert->get(), X509_get_subject_name(cert->get()));
    if (!add_extension(cert->get(), cert->get(), NID_basic_constraints, "critical,CA:TRUE") ||
        !add_extension(cert->get(), cert->get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_extension(cert->get(), cert->get(), NID_subject_key_identifier, "hash") ||
        X509_sign(cert->get(), key.get(), EVP_sha256()) == 0) {
        return fail(Errc::internal, "cannot sign the CA certificate");
    }
    return IssuedCertificate{to_pem(cert->get()), to_pem(key.get())};
}

Result<IssuedCertificate> issue_certificate(const IssuedCertificate& ca,
                                            const std::string& system_id,
                                            const std::vector<std::string>& dns_names,
                                            int valid_days) {
    auto ca_key = read_key(ca.private_key_pem);
    if (!ca_key) return tl::unexpected(ca_key.error());
    auto ca_cert = read_cert(ca.certificate_pem);
    if (!ca_cert) return tl::unexpected(ca_cert.error());
    Ptr<EVP_PKEY> key(EVP_EC_gen("P-256"));
    if (!key) return fail(Errc::internal, "cannot generate a key");
    auto cert = new_certificate(key.get(), system_id, valid_days);
    if (!cert) return tl::unexpected(cert.error());
    X509_set_issuer_name(cert->get(), X509_get_subject_name(ca_cert->get()));
    std::string san;
    for (const auto& dns : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
    san += (san.empty() ? "" : ",") + std::string("IP:127.0.0.1");
    if (!add_extension(cert->get(), ca_cert->get(), NID_basic_constraints, "critical,CA:FALSE") ||
        !add_extension(cert->get(), ca_cert->get(), NID_key_usage,
                       "critical,digitalSignature,keyAgreement") ||
        !add_extension(cert->get(), ca_cert->get(), NID_ext_key_usage, "serverAuth,clientAuth") ||
        !add_extension(cert->get(), ca_cert->get(), NID_subject_alt_name, san) ||
        X509_sign(cert->get(), ca_key->get(), EVP_sha256()) == 0) {
        return fail(Errc::internal, "cannot sign the certificate of " + system_id);
    }
    return IssuedCertificate{to_pem(cert->get()), to_pem(key.get())};
}

Result<void> write_interconnect_certificates(const std::string& dir,
                                             const std::vector<std::string>& system_ids) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return fail(Errc::io, "cannot create " + dir + ": " + ec.message());
    auto ca = make_certificate_authority("MCX Core interconnect CA", 3650);
    if (!ca) return tl::unexpected(ca.error());
    if (auto r = write_file(fs::path(dir) / "ca.pem", ca->certificate_pem, false); !r) return r;
    if (auto r = write_file(fs::path(dir) / "ca-key.pem", ca->private_key_pem, true); !r) return r;
    for (const auto& id : system_ids) {
        std::string lower = id;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto cert = issue_certificate(*ca, id, {lower + ".mcx"}, 825);
        if (!cert) return tl::unexpected(cert.error());
        if (auto r = write_file(fs::path(dir) / (id + ".pem"),
                                cert->certificate_pem + cert->private_key_pem, true);
            !r) {
            return r;
        }
    }
    return {};
}

}  // namespace mcx::idms
