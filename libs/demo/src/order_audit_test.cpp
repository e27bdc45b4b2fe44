#include "crest/demo/order_audit.hpp"

#include <gtest/gtest.h>

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
            "load saw accepted: checkouts it gave up on at its timeout, which the shop still "
            "took)");
}

}  // namespace
}  // namespace crest::demo
