#pragma once
// Identities of TS 23.280 clause 8, kept as distinct types so that a primary MC service ID is
// never confused with the one a partner MC system assigns during migration (10.1.6).

#include <compare>
#include <functional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace mcx {

// MC service ID (MCPTT ID): a SIP URI such as "sip:alice@a.mcx" (TS 23.280 8.1.2).
class McServiceId {
  public:
    McServiceId() = default;
    static Result<McServiceId> parse(std::string_view uri);

    const std::string& uri() const { return uri_; }
    std::string_view user() const;    // "alice"
    std::string_view domain() const;  // "a.mcx"
    bool empty() const { return uri_.empty(); }

    auto operator<=>(const McServiceId&) const = default;

  private:
    explicit McServiceId(std::string uri) : uri_(std::move(uri)) {}
    std::string uri_;
};

// Identity of one MC system (primary or partner), e.g. "A".
struct McSystemId {
    std::string name;
    auto operator<=>(const McSystemId&) const = default;
};

}  // namespace mcx

template <>
struct std::hash<mcx::McServiceId> {
    size_t operator()(const mcx::McServiceId& id) const noexcept {
        return std::hash<std::string>{}(id.uri());
    }
};
