#include "idms/keys.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace mcx::idms {

namespace {

struct BioDeleter {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct KeyDeleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

std::string bio_string(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<size_t>(len));
}

Result<SigningKey> from_key(EVP_PKEY* key) {
    BioPtr priv(BIO_new(BIO_s_mem()));
    BioPtr pub(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_PrivateKey(priv.get(), key, nullptr, nullptr, 0, nullptr, nullptr) ||
        !PEM_write_bio_PUBKEY(pub.get(), key)) {
        return fail(Errc::internal, "cannot write key as PEM");
    }
    return SigningKey{bio_string(priv.get()), bio_string(pub.get())};
}

}  // namespace

Result<SigningKey> SigningKey::generate() {
    KeyPtr key(EVP_EC_gen("P-256"));
    if (!key) return fail(Errc::internal, "cannot generate a P-256 key");
    return from_key(key.get());
}

Result<SigningKey> SigningKey::from_private_pem(const std::string& pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) return fail(Errc::malformed, "not a PEM private key");
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC) {
        return fail(Errc::unsupported, "IdMS key must be an EC P-256 key (ES256)");
    }
    return from_key(key.get());
}

Result<SigningKey> SigningKey::load_or_create(const std::string& path) {
    std::ifstream in(path);
    if (in) {
        std::stringstream text;
        text << in.rdbuf();
        auto key = from_private_pem(text.str());
        if (!key) return fail(key.error().code, path + ": " + key.error().reason);
        return key;
    }
    auto key = generate();
    if (!key) return key;
    const auto old_mask = umask(077);
    std::ofstream out(path);
    umask(old_mask);
    if (!out || !(out << key->private_pem)) {
        return fail(Errc::io, "cannot write IdMS key " + path + ": " + std::strerror(errno));
    }
    return key;
}

}  // namespace mcx::idms
