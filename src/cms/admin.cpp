#include "cms/admin.hpp"

#include <ostream>

#include "cms/profile_import.hpp"
#include "idms/password.hpp"
#include "proto/user_profile.hpp"
#include "store/sqlite_store.hpp"

namespace mcx::cms {

int run_admin(const AdminCommand& c, std::ostream& out, std::ostream& err) {
    auto opened = store::SqliteStore::open(c.store_path);
    if (!opened) {
        err << "mcx admin: " << opened.error().reason << "\n";
        return 1;
    }
    auto& store = **opened;
    const auto& w = c.words;
    auto word = [&w](std::size_t i) { return i < w.size() ? w[i] : std::string{}; };
    auto user_arg = [&](std::size_t i) -> Result<McServiceId> {
        if (word(i).empty()) return fail(Errc::invalid_argument, "an MC service ID is required");
        return McServiceId::parse(word(i));
    };
    auto report = [&err](const Error& e) {
        err << "mcx admin: " << e.reason << "\n";
        return e.code == Errc::malformed || e.code == Errc::invalid_argument ? 2 : 1;
    };

    if (word(0) == "user" && word(1) == "add") {
        auto user = user_arg(2);
        if (!user) return report(user.error());
        if (c.password.empty())
            return report(Error{Errc::invalid_argument, "user add needs --password"});
        if (auto r = store.put_user(*user, idms::hash_password(c.password, c.hash_iterations)); !r)
            return report(r.error());
        // The role as the command says: `user add` without --admin takes it away.
        if (auto r = store.set_admin(*user, c.admin); !r) return report(r.error());
        // A user without a profile cannot call: give it the default one unless it has one.
        auto existing = store.profile(*user, 0);
        if (!existing) return report(existing.error());
        if (!*existing) {
            proto::UserProfile profile;
            profile.user = *user;
            profile.name = std::string(user->user());
            profile.allow_private_call_to_any_user = true;
            if (auto r = store.put_profiles({{*user, 0, proto::build_user_profile(profile), {}}});
                !r) {
                return report(r.error());
            }
        }
        out << "added " << user->uri() << (c.admin ? " (administrator)" : "") << "\n";
        return 0;
    }
    if (word(0) == "user" && word(1) == "admin") {
        auto user = user_arg(2);
        if (!user) return report(user.error());
        if (word(3) != "on" && word(3) != "off") {
            return report(Error{Errc::invalid_argument, "usage: user admin ID on|off"});
        }
        auto changed = store.set_admin(*user, word(3) == "on");
        if (!changed) return report(changed.error());
        if (!*changed) return report(Error{Errc::not_found, user->uri() + " is not a user"});
        out << user->uri()
            << (word(3) == "on" ? " is an administrator\n" : " is no administrator\n");
        return 0;
    }
    if (word(0) == "user" && word(1) == "list") {
        auto users = store.users();
        if (!users) return report(users.error());
        for (const auto& u : *users) {
            auto admin = store.is_admin(u);
            if (!admin) return report(admin.error());
            out << u.uri() << (*admin ? " admin" : "") << "\n";
        }
        return 0;
    }
    if (word(0) == "user" && word(1) == "remove") {
        auto user = user_arg(2);
        if (!user) return report(user.error());
        auto removed = store.remove_user(*user);
        if (!removed) return report(removed.error());
        if (!*removed) return report(Error{Errc::not_found, user->uri() + " is not a user"});
        out << "removed " << user->uri() << " and its profiles\n";
        return 0;
    }
    if (word(0) == "profile" && (word(1) == "list" || word(1) == "show" || word(1) == "remove")) {
        if (word(1) == "list" && word(2).empty()) {
            auto count = store.profile_count();
            if (!count) return report(count.error());
            auto users = store.users();
            if (!users) return report(users.error());
            for (const auto& u : *users) {
                auto profiles = store.profiles_of(u);
                if (!profiles) return report(profiles.error());
                for (const auto& p : *profiles)
                    out << u.uri() << " " << p.index << " " << p.etag << "\n";
            }
            out << *count << " profiles in the store\n";
            return 0;
        }
        auto user = user_arg(2);
        if (!user) return report(user.error());
        if (word(1) == "list") {
            auto profiles = store.profiles_of(*user);
            if (!profiles) return report(profiles.error());
            for (const auto& p : *profiles) out << p.index << " " << p.etag << "\n";
            return 0;
        }
        if (word(1) == "show") {
            auto profile = store.profile(*user, c.index);
            if (!profile) return report(profile.error());
            if (!*profile)
                return report(Error{Errc::not_found, "no profile " + std::to_string(c.index) +
                                                         " for " + user->uri()});
            out << (*profile)->xml;
            return 0;
        }
        auto removed = store.remove_profile(*user, c.index);
        if (!removed) return report(removed.error());
        if (!*removed)
            return report(Error{Errc::not_found,
                                "no profile " + std::to_string(c.index) + " for " + user->uri()});
        out << "removed profile " << c.index << " of " << user->uri() << "\n";
        return 0;
    }
    if (word(0) == "import" && !word(1).empty()) {
        auto imported = import_profiles(store, word(1), [&out](const ImportProgress& p) {
            out << "committed " << p.committed << "/" << p.total << "\n";
            out.flush();
        });
        if (!imported) return report(imported.error());
        out << "imported " << *imported << " profiles\n";
        return 0;
    }
    if (word(0) == "check") {
        auto result = store.integrity_check();
        if (!result) return report(result.error());
        out << *result << "\n";
        return *result == "ok" ? 0 : 1;
    }
    err << "mcx admin: unknown command '";
    for (std::size_t i = 0; i < w.size(); ++i) err << (i ? " " : "") << w[i];
    err << "' (user add|admin|list|remove, profile list|show|remove, import PATH, check)\n";
    return 2;
}

}  // namespace mcx::cms
