#include "seed.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "test_shop.hpp"

namespace crest::storefront {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Seed, IsDeterministicAndWritesLoginsThatWork) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto csv_a = (dir / "crest_seed_a.csv").string();
  const auto csv_b = (dir / "crest_seed_b.csv").string();
  PasswordHasher hasher(1, 8 * 1024);
  TestShop a;
  TestShop b;
  const auto summary = seed_shop(a.shop.stores, hasher, {3, 30, 4, 7, csv_a}).value();
  EXPECT_EQ(summary.categories, 3);
  EXPECT_EQ(summary.products, 30);
  EXPECT_EQ(summary.users, 4);
  ASSERT_TRUE(seed_shop(b.shop.stores, hasher, {3, 30, 4, 7, csv_b}).ok());
  EXPECT_EQ(read_file(csv_a), read_file(csv_b));
  EXPECT_EQ(a.stores.catalog->product(17).value().name, b.stores.catalog->product(17).value().name);
  EXPECT_EQ(a.stores.catalog->product(17).value().price_cents,
            b.stores.catalog->product(17).value().price_cents);

  std::istringstream rows(read_file(csv_a));
  std::string line;
  std::getline(rows, line);
  EXPECT_EQ(line, "email,password,name");
  std::getline(rows, line);
  const auto email = line.substr(0, line.find(','));
  const auto password =
      line.substr(email.size() + 1, line.find(',', email.size() + 1) - email.size() - 1);
  const auto user = a.stores.users->user_by_email(email).value();
  EXPECT_TRUE(hasher.verify(user.password_hash, password));

  // Seeding twice is refused rather than duplicating data.
  const auto again = seed_shop(a.shop.stores, hasher, {3, 30, 4, 7, ""});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);
  std::filesystem::remove(csv_a);
  std::filesystem::remove(csv_b);
}

// Every seeded user logs in with the password the CSV gives them, and the hashes were computed
// once per distinct password (the same salted hash string recurs), not once per user.
TEST(Seed, HashesEachDistinctPasswordOnceAndEveryUserLogsIn) {
  const auto csv_path = (std::filesystem::temp_directory_path() / "crest_seed_users.csv").string();
  PasswordHasher hasher(1, 8 * 1024);
  TestShop shop;
  ASSERT_TRUE(seed_shop(shop.shop.stores, hasher, {2, 5, 20, 7, csv_path}).ok());
  std::istringstream rows(read_file(csv_path));
  std::string line;
  std::getline(rows, line);
  std::set<std::string> hashes, passwords;
  int users = 0;
  while (std::getline(rows, line)) {
    const auto first = line.find(',');
    const auto second = line.find(',', first + 1);
    const auto email = line.substr(0, first);
    const auto password = line.substr(first + 1, second - first - 1);
    const auto user = shop.stores.users->user_by_email(email).value();
    EXPECT_TRUE(hasher.verify(user.password_hash, password)) << email;
    hashes.insert(user.password_hash);
    passwords.insert(password);
    ++users;
  }
  EXPECT_EQ(users, 20);
  EXPECT_EQ(hashes.size(), passwords.size());
  EXPECT_LE(hashes.size(), 8u);
  EXPECT_GE(hashes.size(), 2u);
  std::filesystem::remove(csv_path);
}

}  // namespace
}  // namespace crest::storefront
