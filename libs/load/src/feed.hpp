#pragma once
// Data feeds: reading a CSV feed for the plan, and dealing its rows to virtual users during the
// run (sequential and unique rows are dealt round-robin across the run's processes, so each row
// goes to one of them).
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/load/plan.hpp"

namespace crest::load {

// Splits one CSV record set (RFC 4180 quoting).
std::vector<std::vector<std::string>> parse_csv(const std::string& text);

struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};
// A header row and at least one data row, every row as wide as the header. The error names the
// path (and the row); the caller adds where in the plan the file was named.
Result<CsvTable> read_csv_feed(const std::string& path);

class FeedDealer {
 public:
  explicit FeedDealer(const Plan& plan);
  // This process's place among the run's processes (crest run --processes).
  void set_shard(int shard, int shards) {
    shard_ = shard;
    shards_ = shards;
  }
  // Assigns this iteration's row of every feed to the VU's variables. False when a unique feed
  // without recycling has run out for this VU.
  bool take_rows(std::vector<std::string>& vars, std::vector<int>& unique_rows, Rng& rng);

 private:
  std::uint64_t next_row(std::size_t feed);

  const Plan& plan_;
  std::vector<std::unique_ptr<std::atomic<std::uint64_t>>> next_;  // per feed
  int shard_ = 0;
  int shards_ = 1;
};

}  // namespace crest::load
