#pragma once
// A Shop over in-memory embedded stores, for unit tests.
#include <gtest/gtest.h>

#include "crest/store/embedded.hpp"
#include "shop.hpp"

namespace crest::storefront {

struct TestShop {
  TestShop() {
    store::EmbeddedOptions options;
    options.metrics = &registry;
    options.clock = &clock;
    options.queue_visibility_timeout = std::chrono::seconds(30);
    options.max_receive_count = 3;
    auto opened = store::open_embedded_stores(options);
    if (!opened.ok()) throw std::runtime_error(opened.error().message);
    stores = std::move(opened).value();
    shop.stores = {stores.catalog.get(),   stores.users.get(),  stores.sessions.get(),
                   stores.carts.get(),     stores.orders.get(), stores.orders_queue.get(),
                   stores.orders_dlq.get()};
    shop.metrics = &registry;
    shop.clock = &clock;
    shop.settings.argon2_ops = 1;
    shop.settings.argon2_memory_bytes = 8 * 1024;
  }

  // A category and a product with the given stock and price; returns the product id.
  std::int64_t add_product(std::int64_t stock, std::int64_t price_cents = 1000) {
    if (category_id == 0) {
      category_id = stores.catalog->insert_category({0, "test", "Test"}).value();
    }
    store::Product product;
    product.category_id = category_id;
    product.sku = "SKU-" + std::to_string(++products);
    product.name = "Product " + std::to_string(products);
    product.price_cents = price_cents;
    product.stock = stock;
    return stores.catalog->insert_product(product).value();
  }

  std::int64_t place_order(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity,
                           const std::string& key) {
    store::NewOrder order{user_id, key, {{product_id, quantity, 1000}}, 1000 * quantity, {}};
    return stores.orders->create_order(order).value().order.id;
  }

  metrics::Registry registry;
  ManualClock clock;
  store::EmbeddedStores stores;
  Shop shop;
  std::int64_t category_id = 0;
  int products = 0;
};

}  // namespace crest::storefront
