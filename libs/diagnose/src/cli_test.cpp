// `crest diagnose` and `crest db top` as a user runs them: the real binary, its exit codes, its
// output, and its error messages for bad input.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace crest::diagnose {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// build/<preset>/libs/diagnose/crest_diagnose_test -> build/<preset>/apps/crest/crest
fs::path crest_binary() {
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path() / "apps" /
         "crest" / "crest";
}

struct Run {
  int exit_code = -1;
  std::string out;
};

Run run(const std::string& args) {
  const auto command = crest_binary().string() + " " + args + " 2>&1";
  Run r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return r;
  }
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    r.out.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

const fs::path kFixtures = CREST_DIAGNOSE_FIXTURES;

TEST(CrestDiagnoseCli, NamesTheCauseAsJsonAndMarkdown) {
  ASSERT_TRUE(fs::exists(crest_binary())) << crest_binary();
  const auto dir = kFixtures / "missing-index";
  const auto markdown =
      fs::temp_directory_path() / ("crest_diagnose_cli_" + std::to_string(::getpid()) + ".md");
  const auto r = run("diagnose --json --load-run " + (dir / "load-run.json").string() +
                     " --digests " + (dir / "digests.jsonl").string() +
                     " --slow-log primary=" + (dir / "slow-primary.log").string() + " --logs " +
                     (dir / "logs.jsonl").string() + " --markdown " + markdown.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["causes"][0]["component"], "db:primary");
  EXPECT_EQ(j["causes"][0]["mechanism"], "missing_index");
  std::ifstream md(markdown);
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("## Diagnosis"));
  EXPECT_THAT(text, HasSubstr("| 1 | primary DB load"));
  fs::remove(markdown);

  const auto plain =
      run("diagnose --prometheus-file " + (kFixtures / "redis-down" / "prometheus.json").string() +
          " --load-run " + (kFixtures / "redis-down" / "load-run.json").string());
  ASSERT_EQ(plain.exit_code, 0) << plain.out;
  EXPECT_THAT(plain.out, HasSubstr(" 1. cache unavailable"));
}

TEST(CrestDiagnoseCli, BadInputIsAnErrorNamingFileAndLine) {
  const auto bad = fs::temp_directory_path() /
                   ("crest_diagnose_cli_bad_" + std::to_string(::getpid()) + ".jsonl");
  std::ofstream(bad)
      << "{\"ts\":\"2026-11-30T08:00:00Z\",\"level\":\"info\"}\n{\"ts\":\"later\"}\n";
  const auto r = run("diagnose --logs " + bad.string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr(bad.string() + ":2: field 'ts' is not an RFC 3339 time"));
  fs::remove(bad);
  EXPECT_EQ(run("diagnose").exit_code, 2);
  EXPECT_EQ(run("diagnose --onset yesterday --logs x").exit_code, 2);
  EXPECT_EQ(run("db").exit_code, 2);
}

TEST(CrestDbTopCli, ReplaysSavedSnapshots) {
  const auto r =
      run("db top --top 2 --snapshots " + (kFixtures / "missing-index" / "digests.jsonl").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("top SQL by load"));
  EXPECT_THAT(r.out, HasSubstr("no index"));
  EXPECT_THAT(r.out, HasSubstr("LIKE ?"));
  const auto j =
      run("db top --json --snapshots " + (kFixtures / "missing-index" / "digests.jsonl").string());
  ASSERT_EQ(j.exit_code, 0) << j.out;
  EXPECT_EQ(nlohmann::json::parse(j.out)["servers"][0]["top_sql"][0]["index_used"], false);
}

}  // namespace
}  // namespace crest::diagnose
