#include "seed.hpp"

#include <array>
#include <fstream>
#include <future>
#include <random>

#include <fmt/format.h>

namespace crest::storefront {
namespace {

constexpr std::array kCategories = {"Electronics", "Books",  "Home",    "Garden",
                                    "Toys",        "Sports", "Fashion", "Beauty",
                                    "Grocery",     "Music",  "Outdoor", "Office"};
constexpr std::array kAdjectives = {"Classic", "Compact",  "Deluxe",   "Eco",
                                    "Smart",   "Vintage",  "Ultra",    "Portable",
                                    "Premium", "Handmade", "Wireless", "Cosy"};
constexpr std::array kNouns = {"Lamp",     "Kettle",  "Backpack", "Headphones", "Novel", "Chair",
                               "Sneakers", "Blender", "Puzzle",   "Jacket",     "Mug",   "Speaker",
                               "Notebook", "Tent",    "Watch",    "Scarf"};

}  // namespace

Result<SeedSummary> seed_shop(const ShopStores& stores, const PasswordHasher& hasher,
                              const SeedPlan& plan) {
  if (plan.categories < 1 || plan.products < 0 || plan.users < 0) {
    return Error{ErrorKind::invalid_argument,
                 "seed needs at least one category and no negative counts"};
  }
  std::mt19937 random(plan.seed);
  SeedSummary summary;
  std::vector<std::int64_t> category_ids;
  for (int i = 0; i < plan.categories; ++i) {
    const std::string base = kCategories[static_cast<std::size_t>(i) % kCategories.size()];
    const int round = i / static_cast<int>(kCategories.size());
    store::Category category;
    category.name = round == 0 ? base : fmt::format("{} {}", base, round + 1);
    category.slug = round == 0 ? base : fmt::format("{}-{}", base, round + 1);
    std::transform(category.slug.begin(), category.slug.end(), category.slug.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto id = stores.catalog->insert_category(category);
    if (!id.ok()) {
      if (id.error().kind == ErrorKind::conflict) {
        return Error{ErrorKind::conflict,
                     "the store is seeded already (category '" + category.slug + "' exists)"};
      }
      return id.error();
    }
    category_ids.push_back(*id);
    ++summary.categories;
  }
  for (int i = 0; i < plan.products; ++i) {
    store::Product product;
    product.category_id = category_ids[random() % category_ids.size()];
    const std::string adjective = kAdjectives[random() % kAdjectives.size()];
    const std::string noun = kNouns[random() % kNouns.size()];
    product.sku = fmt::format("SKU-{:06}", i + 1);
    product.name = fmt::format("{} {} {}", adjective, noun, i + 1);
    product.description = fmt::format("A {} {} for every season. Item {} of the peak catalogue.",
                                      adjective, noun, i + 1);
    product.description[2] =
        static_cast<char>(std::tolower(static_cast<unsigned char>(product.description[2])));
    product.price_cents = 199 + static_cast<std::int64_t>(random() % 49800);
    product.stock = 50 + static_cast<std::int64_t>(random() % 451);
    auto id = stores.catalog->insert_product(product);
    if (!id.ok()) return id.error();
    ++summary.products;
  }

  // Test users share a few passwords, each hashed once: Argon2id is deliberately slow (about
  // 20 ms of CPU per hash at the stack's cost), and 200 users took 4 CPU-seconds of start-up.
  // Same parameters as any user's, so logging in costs what it does in production.
  constexpr int kSeedPasswords = 8;
  std::vector<std::string> passwords, hashes(kSeedPasswords);
  for (int k = 1; k <= kSeedPasswords; ++k) {
    passwords.push_back(fmt::format("Peak-{:02}-{:04x}", k, random() % 0x10000));
  }
  auto hash_range = [&](std::size_t from, std::size_t step) {
    for (auto k = from; k < passwords.size(); k += step) hashes[k] = hasher.hash(passwords[k]);
  };
  auto other = std::async(std::launch::async, hash_range, 1, 2);
  hash_range(0, 2);
  other.get();
  struct SeedUser {
    std::string email, name;
    std::size_t password;
  };
  std::vector<SeedUser> users;
  for (int i = 1; i <= plan.users; ++i) {
    users.push_back({fmt::format("shopper{}@example.test", i), fmt::format("Shopper {}", i),
                     static_cast<std::size_t>(i - 1) % passwords.size()});
  }

  std::ofstream csv;
  if (!plan.users_csv.empty()) {
    csv.open(plan.users_csv, std::ios::trunc);
    if (!csv) return Error{ErrorKind::invalid_argument, "cannot write " + plan.users_csv};
    csv << "email,password,name\n";
  }
  for (const auto& user : users) {
    auto created = stores.users->create_user(user.email, user.name, hashes[user.password]);
    if (!created.ok()) return created.error();
    if (csv.is_open()) {
      csv << user.email << ',' << passwords[user.password] << ',' << user.name << '\n';
    }
    ++summary.users;
  }
  if (csv.is_open() && !csv.flush()) {
    return Error{ErrorKind::internal, "writing " + plan.users_csv + " failed"};
  }
  return summary;
}

}  // namespace crest::storefront
