#include "crest/demo/order_audit.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <utility>
#include <vector>

namespace crest::demo {
namespace {

TEST(OrderAudit, ParsesTheClientsBatchOutput) {
  auto counts = parse_order_counts("confirmed\t120\nfailed\t3\npending\t2\nodd\t1\n");
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(counts->confirmed, 120u);
  EXPECT_EQ(counts->failed, 3u);
  EXPECT_EQ(counts->pending, 2u);
  EXPECT_EQ(counts->other, 1u);
  EXPECT_EQ(counts->total(), 126u);
  EXPECT_EQ(parse_order_counts("")->total(), 0u);
}

TEST(OrderAudit, RefusesALineWithoutACount) {
  auto counts = parse_order_counts("confirmed\t12\nERROR 1045 (28000): Access denied\n");
  ASSERT_FALSE(counts.ok());
  EXPECT_NE(counts.error().message.find("line 2"), std::string::npos);
  EXPECT_FALSE(parse_order_counts("confirmed\t12x\n").ok());
}

TEST(OrderAudit, AnAcceptedOrderNotFinishedIsLost) {
  OrderAudit audit;
  audit.accepted = 100;
  audit.stored.confirmed = 97;
  audit.stored.failed = 3;
  EXPECT_EQ(audit.lost(), 0u);
  EXPECT_TRUE(audit.ok());
  audit.stored.failed = 1;
  audit.stored.pending = 2;
  EXPECT_EQ(audit.lost(), 2u);
  EXPECT_FALSE(audit.ok());
  // More stored than the client saw accepted (a timed-out 2xx): nothing lost, but none pending.
  audit.stored = {0, 105, 2, 0};
  EXPECT_EQ(audit.lost(), 0u);
  EXPECT_TRUE(audit.ok());
}

// The verdict's cell says why the database can hold more orders than the load saw accepted.
TEST(OrderAudit, DescribesTheOrdersAndAnySurplus) {
  OrderAudit audit;
  audit.accepted = 100;
  audit.stored = {0, 97, 3, 0};
  EXPECT_EQ(audit.describe(), "0 lost: 100 accepted, 97 confirmed + 3 failed, 0 pending");
  audit.stored = {1, 105, 2, 0};
  EXPECT_EQ(audit.describe(),
            "0 lost: 100 accepted, 105 confirmed + 2 failed, 1 pending (8 more stored than the "
            "load saw accepted: checkouts whose answer it never saw, in flight when a run "
            "stopped or past its timeout, which can hide as many lost)");
}

TEST(StoredOrders, ParsesIdsAndStatuses) {
  auto orders = parse_stored_orders("1\tconfirmed\n2\tfailed\n\n17\tpending\n40\tshipped\n");
  ASSERT_TRUE(orders.ok()) << orders.error().message;
  ASSERT_EQ(orders->size(), 4u);
  EXPECT_EQ((*orders)[2].id, "17");
  EXPECT_EQ((*orders)[2].status, "pending");
  const auto counts = count_by_status(*orders);
  EXPECT_EQ(counts.confirmed, 1u);
  EXPECT_EQ(counts.failed, 1u);
  EXPECT_EQ(counts.pending, 1u);
  EXPECT_EQ(counts.other, 1u);
  EXPECT_TRUE(parse_stored_orders("")->empty());
}

TEST(StoredOrders, AMalformedLineIsAnErrorNamingIt) {
  for (const auto* text : {"1\tconfirmed\nERROR 1045 (28000): Access denied\n", "1\tconfirmed\n2\n",
                           "1\tconfirmed\n\tpending\n", "1\tconfirmed\n2x\tpending\n",
                           "1\tconfirmed\n2\t\n", "1\tconfirmed\n2\tpending\textra\n"}) {
    auto orders = parse_stored_orders(text);
    ASSERT_FALSE(orders.ok()) << text;
    EXPECT_NE(orders.error().message.find("orders, line 2: want 'id<TAB>status'"),
              std::string::npos)
        << orders.error().message;
  }
  const std::string long_line = "9\tconfirmed\n" + std::string(300, 'x') + "\n";
  auto orders = parse_stored_orders(long_line);
  ASSERT_FALSE(orders.ok());
  EXPECT_LT(orders.error().message.size(), 160u);  // the line is quoted, cut short
}

std::vector<StoredOrder> stored(std::initializer_list<std::pair<int, const char*>> rows) {
  std::vector<StoredOrder> out;
  for (const auto& [id, status] : rows) out.push_back({std::to_string(id), status});
  return out;
}

AcceptedCheckouts accepted_ids(std::vector<std::string> ids) {
  AcceptedCheckouts a;
  a.add(ids.size(), &ids, 0, "peak.json");
  return a;
}

TEST(OrderAuditByIds, AnAcceptedIdNotInTheDatabaseIsLostAndNamed) {
  const auto audit = audit_orders(accepted_ids({"1", "2", "3", "4", "5"}),
                                  stored({{1, "confirmed"}, {2, "failed"}, {4, "confirmed"}}));
  EXPECT_TRUE(audit.by_ids);
  EXPECT_EQ(audit.accepted, 5u);
  EXPECT_EQ(audit.missing, 2u);
  EXPECT_EQ(audit.missing_ids, (std::vector<std::string>{"3", "5"}));
  EXPECT_EQ(audit.lost(), 2u);
  EXPECT_FALSE(audit.ok());
  EXPECT_EQ(audit.describe(),
            "2 lost: 5 accepted (by order id), 2 confirmed + 1 failed, 0 pending; 2 not in the "
            "database: 3, 5");
}

// The count comparison would say 0 lost here: 5 accepted, 5 stored and finished. One of the
// stored is a checkout the load timed out on; one accepted order is really missing.
TEST(OrderAuditByIds, ATimedOutButStoredOrderDoesNotHideALostOne) {
  const auto audit = audit_orders(
      accepted_ids({"1", "2", "3", "4", "5"}),
      stored(
          {{1, "confirmed"}, {2, "confirmed"}, {3, "confirmed"}, {4, "failed"}, {9, "confirmed"}}));
  EXPECT_EQ(audit.stored.finished(), 5u);
  EXPECT_EQ(audit.lost(), 1u);
  EXPECT_EQ(audit.missing_ids, std::vector<std::string>{"5"});
  EXPECT_EQ(audit.not_seen_accepted, 1u);
  EXPECT_EQ(audit.accepted_stored.confirmed, 3u);
  EXPECT_EQ(audit.accepted_stored.failed, 1u);
  EXPECT_EQ(audit.describe(),
            "1 lost: 5 accepted (by order id), 3 confirmed + 1 failed, 0 pending; 1 not in the "
            "database: 5; 1 more stored that the load never saw accepted (checkouts whose answer "
            "it never saw: in flight when a run stopped, or past its timeout)");
  // And a timed-out order alone is no loss.
  const auto fine = audit_orders(accepted_ids({"1", "2"}),
                                 stored({{1, "confirmed"}, {2, "failed"}, {3, "confirmed"}}));
  EXPECT_EQ(fine.lost(), 0u);
  EXPECT_TRUE(fine.ok());
  EXPECT_EQ(fine.not_seen_accepted, 1u);
}

TEST(OrderAuditByIds, PendingAcceptedOrdersAreLostAndOnlyFiveIdsAreNamed) {
  std::vector<std::string> ids;
  for (int i = 1; i <= 9; ++i) ids.push_back(std::to_string(i));
  ids.push_back("1");  // an id seen twice counts once
  const auto audit = audit_orders(accepted_ids(ids), stored({{1, "pending"}, {2, "confirmed"}}));
  EXPECT_EQ(audit.accepted_ids, 9u);
  EXPECT_EQ(audit.missing, 7u);
  EXPECT_EQ(audit.accepted_stored.pending, 1u);
  EXPECT_EQ(audit.lost(), 8u);
  EXPECT_EQ(audit.missing_ids.size(), 5u);
  EXPECT_NE(audit.describe().find("7 not in the database: 3, 4, 5, 6, 7, ..."), std::string::npos)
      << audit.describe();
}

// A run without recorded ids: the count comparison, and the text says so and why.
TEST(OrderAuditByIds, FallsBackToCountsWhenARunRecordedNoIds) {
  AcceptedCheckouts accepted;
  const std::vector<std::string> ids = {"1", "2"};
  accepted.add(2, &ids, 0, "peak.json");
  accepted.add(3, nullptr, 0, "step-01-40.json");
  accepted.add(0, nullptr, 0, "step-02-64.json");  // no checkout: nothing to miss
  EXPECT_FALSE(accepted.has_ids());
  EXPECT_EQ(accepted.count, 5u);
  const auto audit = audit_orders(
      accepted, stored({{1, "confirmed"}, {2, "confirmed"}, {3, "confirmed"}, {4, "failed"}}));
  EXPECT_FALSE(audit.by_ids);
  EXPECT_EQ(audit.lost(), 1u);  // 5 accepted - 3 confirmed - 1 failed
  EXPECT_EQ(audit.describe(),
            "1 lost: 5 accepted, 3 confirmed + 1 failed, 0 pending (compared by count, not by "
            "order id: step-01-40.json: no recorded order ids (an older output, or a plan "
            "without record: true on the checkout's order_id capture))");
  // So does a run whose ids reached the recording limit.
  AcceptedCheckouts capped;
  capped.add(2, &ids, 4, "faults-load.json");
  const auto partial = audit_orders(capped, stored({{1, "confirmed"}}));
  EXPECT_FALSE(partial.by_ids);
  EXPECT_NE(partial.fallback_reason.find("faults-load.json: 4 order ids past the load engine's "
                                         "recording limit were not kept"),
            std::string::npos);
}

}  // namespace
}  // namespace crest::demo
