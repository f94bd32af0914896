#include "idms/keys.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <sys/stat.h>
#include <nlohmann/json.hpp>

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

namespace {

std::string base64url(const unsigned char* data, std::size_t len) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < len; i += 3) {
        const unsigned v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (i + 1 == len) {
        const unsigned v = data[i] << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
    } else if (i + 2 == len) {
        const unsigned v = (data[i] << 16) | (data[i + 1] << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
    }
    return out;
}

}  // namespace

namespace {

struct EcPoint {
    std::string x;  // base64url of the 32-byte coordinates (RFC 7518 6.2.1)
    std::string y;
};

Result<EcPoint> ec_point(const std::string& public_pem) {
    BioPtr bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())));
    KeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!key) return fail(Errc::malformed, "not a PEM public key");
    BIGNUM* x = nullptr;
    BIGNUM* y = nullptr;
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC ||
        !EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y) || BN_num_bytes(x) > 32 ||
        BN_num_bytes(y) > 32) {
        BN_free(x);
        BN_free(y);
        return fail(Errc::unsupported, "not an EC P-256 key");
    }
    unsigned char xb[32], yb[32];
    BN_bn2binpad(x, xb, sizeof(xb));
    BN_bn2binpad(y, yb, sizeof(yb));
    BN_free(x);
    BN_free(y);
    return EcPoint{base64url(xb, 32), base64url(yb, 32)};
}

}  // namespace

Result<std::string> SigningKey::jwks(const std::string& kid) const {
    auto point = ec_point(public_pem);
    if (!point) return fail(Errc::internal, "public key unreadable: " + point.error().reason);
    nlohmann::json jwk{{"kty", "EC"}, {"crv", "P-256"}, {"alg", "ES256"}, {"use", "sig"},
                       {"kid", kid},  {"x", point->x},  {"y", point->y}};
    return nlohmann::json{{"keys", nlohmann::json::array({jwk})}}.dump();
}

Result<std::string> SigningKey::public_key_id(const std::string& public_pem) {
    auto point = ec_point(public_pem);
    if (!point) return tl::unexpected(point.error());
    // RFC 7638 3.2: the required members in lexicographic order, no whitespace.
    const auto canonical =
        R"({"crv":"P-256","kty":"EC","x":")" + point->x + R"(","y":")" + point->y + R"("})";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(canonical.data(), canonical.size(), digest, &length, EVP_sha256(), nullptr) !=
        1) {
        return fail(Errc::internal, "SHA-256 failed");
    }
    return base64url(digest, length);
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
