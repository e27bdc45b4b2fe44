#include "demo_session.hpp"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "crest/demo/prometheus_capture.hpp"
#include "crest/stack/stack_profile.hpp"

namespace crest::demo {

using nlohmann::json;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string tail_lines(const std::string& text, int lines) {
  auto pos = text.size();
  for (int i = 0; i <= lines && pos != std::string::npos && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

Error interrupted() {
  return Error{ErrorKind::unavailable, "interrupted"};
}

namespace {

// The test users the peak plan logs in as (examples/demo/users.csv: the stack's seed is
// deterministic, so these are the first 200 it creates).
constexpr int kSeededUsers = 200;

}  // namespace

Result<RunningStack> start_stack(DemoContext& ctx, const std::string& profile,
                                 const fs::path& dir) {
  fs::create_directories(dir);
  const auto log = dir.parent_path() / (profile + "-up.log");
  ctx.say(fmt::format("{}: crest up --profile {} --dir {}", profile, profile, dir.string()));
  std::vector<std::string> args = {
      "up",    "--foreground", "--profile", profile,
      "--dir", dir.string(),   "--set",     fmt::format("seed.users={}", kSeededUsers)};
  // The fault proxy in front of dynalite, for the DynamoDB faults, where the stack has it.
  const auto schema = stack::stack_profile_schema();
  if (std::any_of(schema.begin(), schema.end(),
                  [](const ConfigOption& o) { return o.key == "chaos.proxy"; })) {
    args.insert(args.end(), {"--set", "chaos.proxy=true"});
  }
  auto spec = ctx.crest(args, log);
  spec.env["CREST_PAYMENT_FAILURE_RATE"] = fmt::format("{}", ctx.options().payment_failure_rate);
  auto child = stack::ChildProcess::spawn(spec);
  if (!child.ok()) return child.error();
  RunningStack running;
  running.profile = profile;
  running.dir = dir;
  running.supervisor.emplace(std::move(*child));
  const auto deadline = Clock::now() + std::chrono::seconds(240);
  for (;;) {
    const auto text = read_text(log);
    if (auto ready = text.find("\nREADY in "); ready != std::string::npos) {
      const auto end = text.find('\n', ready + 1);
      ctx.say(fmt::format("{}: {}", profile, text.substr(ready + 1, end - ready - 1)));
      break;
    }
    if (text.find("\nFAILED") != std::string::npos || !running.supervisor->running()) {
      running.supervisor->stop(std::chrono::seconds(30));
      return Error{ErrorKind::unavailable,
                   fmt::format("crest up --profile {} failed; the end of {}:\n{}", profile,
                               log.string(), tail_lines(text, 15))};
    }
    if (ctx.stopping()) {
      running.stop(ctx);
      return interrupted();
    }
    if (Clock::now() > deadline) {
      running.stop(ctx);
      return Error{ErrorKind::timeout,
                   fmt::format("crest up --profile {} was not ready in 240 s (see {})", profile,
                               log.string())};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto state = json::parse(read_text(dir / "state.json"), nullptr, false);
  if (state.is_discarded()) {
    running.stop(ctx);
    return Error{ErrorKind::internal, (dir / "state.json").string() + ": not JSON"};
  }
  running.shop_url = state.value("shop_url", "");
  running.prometheus_url = state.value("prometheus_url", "");
  for (const auto& component : state.value("components", json::array())) {
    for (const auto& instance : component.value("instances", json::array())) {
      if (instance.value("name", "") == "mariadb-primary") {
        running.primary.port = instance.value("port", std::uint16_t{0});
      }
    }
  }
  if (running.shop_url.empty() || running.prometheus_url.empty() || running.primary.port == 0) {
    running.stop(ctx);
    return Error{ErrorKind::internal, (dir / "state.json").string() +
                                          ": no shop_url, prometheus_url or mariadb-primary port"};
  }
  return running;
}

// `crest run PLAN --target URL --out json=OUT -q [extra]`: the load JSON, read back.
Result<LoadOutcome> run_load(DemoContext& ctx, const RunningStack& stack, const fs::path& plan,
                             const fs::path& out, std::vector<std::string> extra,
                             double expected_s) {
  std::vector<std::string> args = {"run",   plan.string(),          "--target", stack.shop_url,
                                   "--out", "json=" + out.string(), "-q"};
  args.insert(args.end(), extra.begin(), extra.end());
  fs::path log = out;
  log.replace_extension(".log");
  auto status = ctx.run(args, log, std::chrono::seconds(static_cast<long>(expected_s * 2 + 60)));
  if (!status.ok()) return status.error();
  if (*status != 0 && *status != 99) {  // 99: thresholds breached, which the verdict judges
    return Error{ErrorKind::internal,
                 fmt::format("crest run exited {}; the end of {}:\n{}", *status, log.string(),
                             tail_lines(read_text(log), 15))};
  }
  return LoadOutcome::read(out.string());
}

// The stack's event log holds the autoscaler's decisions and the pod and node events among
// others of its own (stack, scale, pod_signal); the diagnosis and the report read the first
// three kinds only, so they get a copy with just those.
fs::path autoscaler_log(const fs::path& events, const fs::path& out) {
  std::ifstream in(events);
  std::ofstream copy(out);
  std::string line;
  while (std::getline(in, line)) {
    const auto event = json::parse(line, nullptr, false);
    if (event.is_discarded() || !event.is_object()) continue;
    const auto kind = event.value("kind", "");
    if ((kind == "decision" || kind == "pod" || kind == "node") &&
        !event.value("service", "").empty() && event.contains("ts")) {
      copy << line << "\n";
    }
  }
  return out;
}

// `crest diagnose` over a window; the JSON is written to `out`; its headline returned.
std::string diagnose(DemoContext& ctx, const RunningStack& stack, double from, double to,
                     const fs::path& out, const fs::path& load_run) {
  // Its --from/--to bound every input, so the whole load run and event log can be given: the
  // other faults' onsets and scale events stay out of this one's evidence.
  const fs::path events =
      autoscaler_log(stack.dir / "events.jsonl", out.parent_path() / "autoscaler.jsonl");
  std::vector<std::string> args = {"-c",
                                   "exec \"$0\" \"$@\" 2>>'" + out.string() + ".log'",
                                   ctx.options().crest_binary,
                                   "diagnose",
                                   "--prometheus",
                                   stack.prometheus_url,
                                   "--from",
                                   fmt::format("{:.3f}", from),
                                   "--to",
                                   fmt::format("{:.3f}", to),
                                   "--autoscaler-log",
                                   events.string(),
                                   "--load-run",
                                   load_run.string(),
                                   "--json"};
  stack::ProcessSpec spec;
  spec.program = "/bin/sh";
  spec.args = args;
  spec.log_path = out.string();
  auto child = stack::ChildProcess::spawn(spec);
  if (!child.ok()) return "diagnosis failed: " + child.error().message;
  auto status = ctx.wait(*child, std::chrono::seconds(120));
  if (!status.ok()) return "diagnosis failed: " + status.error().message;
  const auto doc = json::parse(read_text(out), nullptr, false);
  if (*status != 0 || doc.is_discarded()) {
    return fmt::format("diagnosis failed (exit {}; see {}.log)", *status, out.string());
  }
  if (doc.value("no_rule_fits", false) || doc.value("causes", json::array()).empty()) {
    const auto top = doc.value("top_evidence", json::array());
    return top.empty() ? "no anomaly found"
                       : "no rule fits; top evidence: " +
                             top[0].value("text", top[0].value("series", std::string("?")));
  }
  const auto& cause = doc["causes"][0];
  return fmt::format("{} [{}]", cause.value("title", "?"), cause.value("component", "?"));
}

void capture(DemoContext& ctx, const RunningStack& stack, double from, double to,
             const fs::path& out) {
  auto captured = capture_prometheus(stack.prometheus_url, stack_capture_queries(), from, to, 1);
  if (!captured.ok()) {
    ctx.say(
        fmt::format("{}: Prometheus capture failed: {}", stack.profile, captured.error().message));
    return;
  }
  std::ofstream(out) << captured->dump() << "\n";
  ctx.say(fmt::format("{}: saved {} Prometheus series groups for {:.0f} s to {}", stack.profile,
                      (*captured)["queries"].size(), to - from, out.string()));
}

double platform_cpu_seconds(DemoContext& ctx, const RunningStack& stack, double from_unix,
                            double elapsed_s) {
  const double to = from_unix + elapsed_s;
  // The last scrape of the window lands up to one scrape interval (1 s) after it.
  if (const double wait = to + 1.5 - unix_now(); wait > 0 && !ctx.pause(wait)) return -1;
  CaptureQuery q;
  q.id = "cpu";
  q.expr = fmt::format(
      "sum(increase(container_cpu_usage_seconds_total{{namespace=\"crest\","
      "container!~\"prometheus|exporter\"}}[{:.0f}s]))",
      std::max(2.0, std::round(elapsed_s)));
  auto captured = capture_prometheus(stack.prometheus_url, {q}, to, to, 1);
  if (!captured.ok()) return -1;
  try {
    const auto& result = (*captured)["queries"]["cpu"]["data"]["data"]["result"];
    if (result.empty() || result[0]["values"].empty()) return -1;
    return std::stod(result[0]["values"].back()[1].get<std::string>());
  } catch (const std::exception&) {
    return -1;
  }
}

// Waits until no order is pending (the worker catches up after the load), at most `limit`.
Result<std::vector<StoredOrder>> settled_orders(DemoContext& ctx, const RunningStack& stack,
                                                double limit_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(limit_s);
  for (;;) {
    auto orders = read_orders(stack.primary, stack.dir.string());
    if (!orders.ok()) return orders.error();
    if (count_by_status(*orders).pending == 0 || Clock::now() > deadline) return orders;
    if (!ctx.pause(1)) return interrupted();
  }
}

void add_checkouts(AcceptedCheckouts& accepted, const LoadOutcome& run, const std::string& name) {
  const auto* ids = run.recorded("checkout", "order_id");
  accepted.add(run.step_2xx("checkout"), ids == nullptr ? nullptr : &ids->values,
               ids == nullptr ? 0 : ids->not_kept, name);
}

}  // namespace crest::demo
