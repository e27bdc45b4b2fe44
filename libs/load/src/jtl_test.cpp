// The transaction row of the JTL: JMeter's Transaction Controller semantics (docs/jmeter.md).
#include <gtest/gtest.h>

#include "jtl.hpp"

namespace crest::load {
namespace {

Sample sample_of(int service_ms, int ttfb_ms, int connect_ms, FailureKind failure) {
  Sample s;
  s.wall_start =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'800'000'000'000));
  s.service = std::chrono::milliseconds(service_ms);
  s.ttfb = std::chrono::milliseconds(ttfb_ms);
  s.connect = std::chrono::milliseconds(connect_ms);
  s.got_response = failure == FailureKind::none || failure == FailureKind::check_failed;
  s.failure = failure;
  s.received = 100;
  s.sent = 40;
  return s;
}

TEST(JtlTransaction, SumsItsSamplersAsJMeterDoes) {
  Journey journey;
  journey.name = "Shoppers";
  JtlTransaction t;
  t.add(sample_of(12, 10, 3, FailureKind::none));
  auto second = sample_of(8, 5, 0, FailureKind::none);
  second.wall_start += std::chrono::milliseconds(500);
  t.add(second);
  std::string rows;
  append_jtl_transaction_row(rows, "sign in", t, journey, 3, 4, std::chrono::milliseconds(520));
  // Start of the first sample, elapsed = 12 + 8, "200", the message JMeter writes, no dataType,
  // sums of bytes, URL null, Latency 15, IdleTime 520 - 20, Connect 3.
  EXPECT_EQ(
      rows,
      "1800000000000,20,sign in,200,\"Number of samples in transaction : 2, number of failing "
      "samples : 0\",Shoppers 1-3,,true,,200,80,4,4,null,15,500,3\n");

  JtlTransaction failed;
  failed.add(sample_of(5, 5, 0, FailureKind::none));
  failed.add(sample_of(7, 0, 7, FailureKind::connect_refused));
  rows.clear();
  append_jtl_transaction_row(rows, "buy", failed, journey, 1, 1, std::chrono::milliseconds(12));
  EXPECT_EQ(rows,
            "1800000000000,12,buy,,\"Number of samples in transaction : 2, number of failing "
            "samples : 1\",Shoppers 1-1,,false,,200,80,1,1,null,5,0,7\n");
}

}  // namespace
}  // namespace crest::load
