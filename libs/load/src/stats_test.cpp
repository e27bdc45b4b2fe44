// merge_recorded: the values of `record: true` captures from several event loops or processes.
#include "crest/load/stats.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace crest::load {
namespace {

using Values = std::vector<std::string>;

TEST(RecordedValues, MergeAddsEntriesByStepAndCaptureWithinTheLimit) {
  std::vector<RecordedValues> into;
  merge_recorded(into, {{"checkout", "order_id", {"1", "2"}, 0}, {"login", "token", {"t"}, 0}}, 4);
  merge_recorded(into, {{"login", "token", {}, 0}, {"checkout", "order_id", {"3", "4", "5"}, 2}},
                 4);
  ASSERT_EQ(into.size(), 2u);
  EXPECT_EQ(into[0].step, "checkout");
  EXPECT_EQ(into[0].values, (Values{"1", "2", "3", "4"}));
  EXPECT_EQ(into[0].not_kept, 3u);  // "5", and the two the other side had not kept
  EXPECT_EQ(into[1].values, Values{"t"});
  EXPECT_EQ(into[1].not_kept, 0u);
  // A capture of the same name on another step is another list.
  merge_recorded(into, {{"other", "order_id", {"9"}, 0}}, 4);
  ASSERT_EQ(into.size(), 3u);
  EXPECT_EQ(into[2].values, Values{"9"});
}

TEST(RecordedValues, NotesNameOnlyTheListsThatReachedTheLimit) {
  const std::vector<RecordedValues> recorded = {{"checkout", "order_id", {"1", "2"}, 5},
                                                {"login", "token", {"t"}, 0}};
  const auto notes = recorded_notes(recorded, 2);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0],
            "step 'checkout': capture 'order_id' recorded 2 values, then reached its limit of 2: 5 "
            "more were not kept (the list in the JSON output is incomplete)");
  EXPECT_TRUE(recorded_notes({}, 2).empty());
}

}  // namespace
}  // namespace crest::load
