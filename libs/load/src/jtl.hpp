#pragma once
// JTL output (--out jtl=FILE): one JMeter 5 CSV row per sample. Each event loop formats rows into
// its own buffer and hands a full buffer to the shared file (one lock per 64 KiB, not per row).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include "crest/core/error.hpp"
#include "crest/load/plan.hpp"
#include "sample.hpp"

namespace crest::load {

struct JtlRow {
  const Plan& plan;
  const Journey& journey;
  const Step& step;
  const Sample& sample;
  std::uint64_t vu_number;   // 1-based
  std::string_view reason;   // the response's reason phrase
  std::string_view request;  // the rendered request (its first line gives the URL)
  int active_vus;
  // threadName's group, as JMeter's "Thread Group 1-3": the scenario's name when the plan has
  // several (a translated .jmx: its thread group's), else the journey's.
  std::string_view thread_group = {};
};
void append_jtl_row(std::string& rows, const JtlRow& row);

// A transaction's row, as JMeter's Transaction Controller writes it ("generate parent sample"
// off): after its samplers, with the sums of their elapsed, latency, connect and bytes.
struct JtlTransaction {
  std::chrono::system_clock::time_point start;
  std::chrono::steady_clock::duration elapsed{};
  std::chrono::steady_clock::duration latency{};
  std::chrono::steady_clock::duration connect{};
  std::uint64_t received = 0;
  std::uint64_t sent = 0;
  int samples = 0;
  int failures = 0;
  void add(const Sample& sample);
};
// `span` is the transaction's wall duration: IdleTime is the part outside its samplers.
void append_jtl_transaction_row(std::string& rows, std::string_view name,
                                const JtlTransaction& transaction, const Journey& journey,
                                std::uint64_t vu_number, int active_vus,
                                std::chrono::steady_clock::duration span,
                                std::string_view thread_group = {});

class JtlFile {
 public:
  JtlFile() = default;
  ~JtlFile();
  JtlFile(const JtlFile&) = delete;
  JtlFile& operator=(const JtlFile&) = delete;
  // Creates the file and writes the header row, or (append) adds to what an earlier part of the
  // run (its setup) wrote.
  Result<void> open(const std::string& path, bool append = false);
  bool is_open() const { return file_ != nullptr; }
  // Appends the rows and empties the buffer.
  void write(std::string& rows);
  static constexpr std::size_t kFlushBytes = 64 * 1024;

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

}  // namespace crest::load
