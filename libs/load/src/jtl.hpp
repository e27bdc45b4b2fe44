#pragma once
// JTL output (--out jtl=FILE): one JMeter 5 CSV row per sample. Each event loop formats rows into
// its own buffer and hands a full buffer to the shared file (one lock per 64 KiB, not per row).
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
};
void append_jtl_row(std::string& rows, const JtlRow& row);

class JtlFile {
 public:
  JtlFile() = default;
  ~JtlFile();
  JtlFile(const JtlFile&) = delete;
  JtlFile& operator=(const JtlFile&) = delete;
  // Creates the file and writes the header row.
  Result<void> open(const std::string& path);
  bool is_open() const { return file_ != nullptr; }
  // Appends the rows and empties the buffer.
  void write(std::string& rows);
  static constexpr std::size_t kFlushBytes = 64 * 1024;

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

}  // namespace crest::load
