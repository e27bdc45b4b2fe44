#include "crest/store/caching_catalog_store.hpp"

#include <atomic>
#include <barrier>
#include <thread>

#include <gtest/gtest.h>

#include "crest/metrics/registry.hpp"
#include "crest/store/lru_cache.hpp"
#include "crest/store/sqlite.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;

// A real (SQLite) catalog that counts the reads reaching it and can be slowed down.
class CountingCatalog final : public CatalogStore {
 public:
  explicit CountingCatalog(SqliteDatabasePtr db) : inner_(std::move(db)) {}

  Result<std::vector<Category>> categories() override {
    ++category_reads;
    return inner_.categories();
  }
  Result<ProductPage> list_products(const ProductQuery& query) override {
    ++list_reads;
    return inner_.list_products(query);
  }
  Result<Product> product(std::int64_t id, Consistency consistency) override {
    ++product_reads;
    std::this_thread::sleep_for(delay);
    return inner_.product(id, consistency);
  }
  Result<std::vector<Product>> products(const std::vector<std::int64_t>& ids,
                                        Consistency consistency) override {
    return inner_.products(ids, consistency);
  }
  Result<void> reserve_stock(std::int64_t order_id, const std::vector<OrderLine>& lines) override {
    return inner_.reserve_stock(order_id, lines);
  }
  Result<void> release_stock(std::int64_t order_id) override {
    return inner_.release_stock(order_id);
  }
  Result<void> set_price(std::int64_t id, std::int64_t price) override {
    return inner_.set_price(id, price);
  }
  Result<void> set_stock(std::int64_t id, std::int64_t stock) override {
    return inner_.set_stock(id, stock);
  }
  Result<std::int64_t> insert_category(const Category& c) override {
    return inner_.insert_category(c);
  }
  Result<std::int64_t> insert_product(const Product& p) override {
    return inner_.insert_product(p);
  }

  std::atomic<int> category_reads{0};
  std::atomic<int> list_reads{0};
  std::atomic<int> product_reads{0};
  std::chrono::milliseconds delay{0};

 private:
  SqlCatalogStore inner_;
};

// A cache that is down.
class BrokenCache final : public Cache {
 public:
  Result<std::optional<std::string>> get(std::string_view) override { return down(); }
  Result<void> set(std::string_view, std::string_view, std::chrono::milliseconds) override {
    return down();
  }
  Result<void> erase(std::string_view) override { return down(); }

 private:
  static Error down() { return Error{ErrorKind::unavailable, "cache down"}; }
};

class CachingCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDatabase::open(SqliteOptions{});
    ASSERT_TRUE(db.ok());
    inner_ = std::make_shared<CountingCatalog>(*db);
    category_ = *inner_->insert_category({0, "books", "Books"});
    product_ = *inner_->insert_product(Product{0, category_, "B1", "Red Book", "", 500, 10, 1, {}});
    other_ = *inner_->insert_product(Product{0, category_, "B2", "Blue Book", "", 300, 5, 1, {}});
    cache_ = std::make_shared<LruCache>(LruCacheOptions{1000, "local", &registry_});
    store_ = std::make_unique<CachingCatalogStore>(inner_, cache_);
  }

  metrics::Registry registry_;
  std::shared_ptr<CountingCatalog> inner_;
  std::shared_ptr<LruCache> cache_;
  std::unique_ptr<CachingCatalogStore> store_;
  std::int64_t category_ = 0;
  std::int64_t product_ = 0;
  std::int64_t other_ = 0;
};

TEST_F(CachingCatalogTest, CachesProductsListsAndCategories) {
  EXPECT_EQ(store_->product(product_)->name, "Red Book");
  EXPECT_EQ(store_->product(product_)->price_cents, 500);
  EXPECT_EQ(inner_->product_reads.load(), 1);
  EXPECT_EQ(store_->product(product_, Consistency::strong)->id, product_);  // bypasses
  EXPECT_EQ(inner_->product_reads.load(), 2);

  ProductQuery books;
  books.category_id = category_;
  EXPECT_EQ(store_->list_products(books)->total, 2);
  EXPECT_EQ(store_->list_products(books)->items.size(), 2u);
  EXPECT_EQ(inner_->list_reads.load(), 1);
  ProductQuery red = books;
  red.text = "red";
  EXPECT_EQ(store_->list_products(red)->total, 1);  // another key: every field counts
  ProductQuery page2 = books;
  page2.page = 2;
  page2.page_size = 1;
  EXPECT_EQ(store_->list_products(page2)->items.at(0).id, other_);
  EXPECT_EQ(inner_->list_reads.load(), 3);

  EXPECT_EQ(store_->categories()->size(), 1u);
  EXPECT_EQ(store_->categories()->at(0).slug, "books");
  EXPECT_EQ(inner_->category_reads.load(), 1);
  EXPECT_EQ(store_->list_products(ProductQuery{std::nullopt, "", 0, 20, {}}).error().kind,
            ErrorKind::invalid_argument);
  EXPECT_EQ(store_->product(999).error().kind, ErrorKind::not_found);
}

TEST_F(CachingCatalogTest, WritesInvalidate) {
  ProductQuery all;
  ASSERT_EQ(store_->product(product_)->price_cents, 500);
  ASSERT_EQ(store_->list_products(all)->items.at(0).price_cents, 500);

  ASSERT_TRUE(store_->set_price(product_, 450).ok());
  EXPECT_EQ(store_->product(product_)->price_cents, 450);
  EXPECT_EQ(store_->list_products(all)->items.at(0).price_cents, 450);  // new generation
  EXPECT_EQ(inner_->list_reads.load(), 2);

  ASSERT_TRUE(store_->reserve_stock(42, {{product_, 3, 450}}).ok());
  EXPECT_EQ(store_->product(product_)->stock, 7);
  ASSERT_TRUE(store_->release_stock(42).ok());
  EXPECT_EQ(store_->product(product_)->stock, 10);
  ASSERT_TRUE(store_->set_stock(product_, 1).ok());
  EXPECT_EQ(store_->product(product_)->stock, 1);
  EXPECT_EQ(store_->list_products(all)->items.at(0).stock, 1);
  EXPECT_EQ(inner_->product_reads.load(), 5);

  ASSERT_TRUE(store_->insert_category({0, "toys", "Toys"}).ok());
  EXPECT_EQ(store_->categories()->size(), 2u);
}

TEST_F(CachingCatalogTest, ResponseViewsAreCachedWithAnETagAndInvalidatedLikeTheData) {
  int renders = 0;
  const auto render = [&](const Product& p) {
    ++renders;
    return p.name + " " + std::to_string(p.price_cents) + " " + std::to_string(p.stock);
  };
  EXPECT_TRUE(store_->cache_in_process());
  EXPECT_EQ(store_->cached_product_view(product_), std::nullopt);
  const auto first = store_->product_view(product_, render);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->substr(first->find('\n') + 1), "Red Book 500 10");
  EXPECT_EQ(first->front(), '"');  // a quoted ETag before the body
  EXPECT_EQ(store_->cached_product_view(product_), *first);
  EXPECT_EQ(*store_->product_view(product_, render), *first);
  EXPECT_EQ(renders, 1);
  ASSERT_TRUE(store_->reserve_stock(43, {{product_, 2, 500}}).ok());  // stock is in the bytes
  EXPECT_EQ(store_->cached_product_view(product_), std::nullopt);
  const auto after = store_->product_view(product_, render);
  EXPECT_EQ(after->substr(after->find('\n') + 1), "Red Book 500 8");
  EXPECT_NE(after->substr(0, after->find('\n')), first->substr(0, first->find('\n')));
  ASSERT_TRUE(store_->set_price(product_, 450).ok());
  EXPECT_EQ(store_->cached_product_view(product_), std::nullopt);
  EXPECT_EQ(store_->product_view(999, render).error().kind, ErrorKind::not_found);

  ProductQuery all;
  int pages = 0;
  const auto render_page = [&](const ProductPage& page) {
    ++pages;
    return std::to_string(page.items.at(0).price_cents);
  };
  EXPECT_EQ(store_->list_view(all, render_page)
                ->substr(store_->list_view(all, render_page)->find('\n') + 1),
            "450");
  EXPECT_EQ(pages, 1);
  EXPECT_EQ(store_->cached_list_view(all), *store_->list_view(all, render_page));
  ASSERT_TRUE(store_->set_price(product_, 400).ok());
  EXPECT_EQ(store_->cached_list_view(all), std::nullopt);  // a new generation orphans list views
  const auto page = store_->list_view(all, render_page);
  EXPECT_EQ(page->substr(page->find('\n') + 1), "400");
  EXPECT_EQ(pages, 2);
}

TEST_F(CachingCatalogTest, SingleFlightCollapsesConcurrentMisses) {
  inner_->delay = 200ms;
  constexpr int kThreads = 50;
  std::barrier start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto p = store_->product(product_);
      if (!p.ok() || p->name != "Red Book") {
        ++failures;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(inner_->product_reads.load(), 1);
}

TEST_F(CachingCatalogTest, CacheErrorsAreMisses) {
  CachingCatalogStore store(inner_, std::make_shared<BrokenCache>());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(store.product(product_)->name, "Red Book");
    EXPECT_EQ(store.list_products(ProductQuery{})->total, 2);
    EXPECT_EQ(store.categories()->size(), 1u);
  }
  EXPECT_EQ(inner_->product_reads.load(), 3);
  EXPECT_TRUE(store.set_price(product_, 1).ok());
}

TEST_F(CachingCatalogTest, TtlExpiresWithJitter) {
  ManualClock clock;
  auto cache = std::make_shared<LruCache>(LruCacheOptions{}, clock);
  CachingCatalogOptions options;
  options.product_ttl = 10s;
  CachingCatalogStore store(inner_, cache, options);
  ASSERT_TRUE(store.product(product_).ok());
  clock.advance(8900ms);  // inside 10 s - 10 %
  ASSERT_TRUE(store.product(product_).ok());
  EXPECT_EQ(inner_->product_reads.load(), 1);
  clock.advance(2200ms);  // beyond 10 s + 10 %
  ASSERT_TRUE(store.product(product_).ok());
  EXPECT_EQ(inner_->product_reads.load(), 2);
}

}  // namespace
}  // namespace crest::store
