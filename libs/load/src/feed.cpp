#include "feed.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace crest::load {

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool any = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
      if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
      }
      row.clear();
      field.clear();
      any = false;
    } else {
      field.push_back(c);
      any = true;
    }
  }
  if (any || !field.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<CsvTable> read_csv_feed(const std::string& path) {
  const auto invalid = [](std::string message) {
    return Error{ErrorKind::invalid_argument, std::move(message)};
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return invalid("cannot read CSV file '" + path + "': " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto rows = parse_csv(text.str());
  if (rows.size() < 2) {
    return invalid("CSV file '" + path + "' needs a header row and at least one data row");
  }
  CsvTable table;
  table.columns = rows.front();
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != table.columns.size()) {
      return invalid("CSV file '" + path + "' row " + std::to_string(r + 1) + " has " +
                     std::to_string(rows[r].size()) + " fields, expected " +
                     std::to_string(table.columns.size()));
    }
    table.rows.push_back(std::move(rows[r]));
  }
  return table;
}

FeedDealer::FeedDealer(const Plan& plan) : plan_(plan) {
  for (std::size_t f = 0; f < plan.feeds.size(); ++f) {
    next_.push_back(std::make_unique<std::atomic<std::uint64_t>>(0));
  }
}

std::uint64_t FeedDealer::next_row(std::size_t feed) {
  return next_[feed]->fetch_add(1) * static_cast<std::uint64_t>(shards_) +
         static_cast<std::uint64_t>(shard_);
}

bool FeedDealer::take_rows(std::vector<std::string>& vars, std::vector<int>& unique_rows,
                           Rng& rng) {
  for (std::size_t f = 0; f < plan_.feeds.size(); ++f) {
    const auto& feed = plan_.feeds[f];
    const auto rows = feed.rows.size();
    std::size_t row = 0;
    switch (feed.mode) {
      case Feed::Mode::sequential:
        row = static_cast<std::size_t>(next_row(f) % rows);
        break;
      case Feed::Mode::random:
        row = std::uniform_int_distribution<std::size_t>(0, rows - 1)(rng);
        break;
      case Feed::Mode::unique:
        if (unique_rows[f] < 0) {
          const auto n = next_row(f);
          if (n >= rows && !feed.recycle) {
            return false;
          }
          unique_rows[f] = static_cast<int>(n % rows);
        }
        row = static_cast<std::size_t>(unique_rows[f]);
        break;
    }
    for (std::size_t c = 0; c < feed.columns.size(); ++c) {
      vars[static_cast<std::size_t>(feed.slots[c])].assign(feed.rows[row][c]);
    }
  }
  return true;
}

}  // namespace crest::load
