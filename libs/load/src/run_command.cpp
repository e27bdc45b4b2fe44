#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "crest/load/run_command.hpp"

#include "crest/load/coordinator.hpp"
#include "crest/load/metrics_endpoint.hpp"
#include "crest/load/outputs.hpp"
#include "crest/load/process_run.hpp"

namespace crest::load {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signals{0};
std::atomic<int> g_first_signal{0};

extern "C" void on_signal(int signal) {
  int none = 0;
  g_first_signal.compare_exchange_strong(none, signal);
  g_stop.store(true);
  if (g_signals.fetch_add(1) >= 1) {
    std::_Exit(130);  // a second Ctrl-C: leave at once
  }
}

std::uint64_t own_max_rss_kib() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<std::uint64_t>(ru.ru_maxrss);
}

// "--shard I/N" (a child of crest run --processes).
bool parse_shard(const std::string& text, int& index, int& count) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) {
    return false;
  }
  try {
    std::size_t used = 0;
    index = std::stoi(text.substr(0, slash), &used);
    if (used != slash) {
      return false;
    }
    count = std::stoi(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) {
      return false;
    }
  } catch (const std::exception&) {
    return false;
  }
  return index >= 0 && count > index;
}

// Creates (or truncates) an output file before anything is sent, so a bad path fails the run
// up front instead of losing its results at the end.
bool check_writable(const std::string& path, std::string& error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

std::uint64_t random_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

// The flags of this run that every process of it (--processes children, --coordinator workers)
// must be given to run the same plan the same way. One list for both, so none is forgotten.
struct ForwardedFlags {
  std::uint64_t seed = 0;
  int vus = 0;
  double rate = -1;
  std::string duration;
  std::string target;
  std::int64_t iterations = 0;
  const std::vector<std::string>* vars = nullptr;
  std::string http_debug;
  int http_debug_iterations = 1;
};

std::vector<std::string> forwarded_args(const ForwardedFlags& f) {
  std::vector<std::string> args = {"--seed", std::to_string(f.seed)};
  for (const auto& [flag, value] :
       {std::pair<const char*, std::string>{"--vus", f.vus > 0 ? std::to_string(f.vus) : ""},
        {"--rate", f.rate >= 0 ? fmt::format("{}", f.rate) : ""},
        {"--duration", f.duration},
        {"--target", f.target},
        {"--iterations", f.iterations > 0 ? std::to_string(f.iterations) : ""}}) {
    if (!value.empty()) {
      args.insert(args.end(), {flag, value});
    }
  }
  if (!f.http_debug.empty()) {
    args.push_back("--http-debug=" + f.http_debug);
    args.insert(args.end(), {"--http-debug-iterations", std::to_string(f.http_debug_iterations)});
  }
  if (f.vars != nullptr) {
    for (const auto& kv : *f.vars) {
      args.insert(args.end(), {"-e", kv});
    }
  }
  return args;
}

}  // namespace

int run_command(int argc, char** argv) {
  CLI::App app{"crest run: run a load plan (docs/load.md)", "crest run"};
  std::string plan_path;
  PlanOverrides overrides;
  int vus = 0;
  double rate = -1;
  std::string duration;
  std::string target;
  int threads = 0;
  std::vector<std::string> vars;
  std::vector<std::string> outs;
  std::string metrics_addr;
  bool quiet = false;
  int processes = 0;
  std::string shard;
  int report_fd = -1;
  std::uint64_t seed = 0;
  std::string metrics_linger = "5s";
  std::int64_t iterations = 0;
  std::string http_debug;
  int http_debug_iterations = 1;
  app.add_option("plan", plan_path, "plan file (YAML)")->required();
  app.add_option("--iterations", iterations,
                 "iterations (per-vu-iterations: per VU; shared-iterations, and constant-vus "
                 "which becomes it: in total)");
  app.add_flag("--http-debug{headers}", http_debug,
               "print the requests and responses of the first iterations to stderr "
               "(--http-debug=full: with bodies)");
  app.add_option("--http-debug-iterations", http_debug_iterations,
                 "how many iterations --http-debug prints (default 1)");
  app.add_option("--vus", vus, "virtual users (max VUs for arrival-rate plans)");
  app.add_option("--rate", rate, "arrival rate per time unit (constant-arrival-rate)");
  app.add_option("--duration", duration, "run duration, as 30s or 2m");
  app.add_option("--target", target, "base URL, overriding target.base_url");
  app.add_option("--threads", threads, "event loops (default: one per core)");
  app.add_option("-e,--env", vars, "variable KEY=VALUE, visible as {{ KEY }}");
  app.add_option("--out", outs, "json=FILE, csv=FILE, jtl=FILE or html=FILE (repeatable)");
  app.add_option("--metrics-addr", metrics_addr,
                 "serve Prometheus /metrics on HOST:PORT during the run");
  app.add_flag("-q,--quiet", quiet, "no progress line (on a terminal, or every 10 s otherwise)");
  app.add_option("--seed", seed,
                 "seed of every random function (uuid(), randint(), ...): reproduces a run");
  app.add_option("--metrics-linger", metrics_linger,
                 "keep serving the final /metrics this long after the run (default 5s)");
  app.add_option("--processes", processes,
                 "split the run over N processes (past the per-process descriptor limit)");
  // A child of --processes: run shard I of N and report to the pipe FD (not for people).
  app.add_option("--shard", shard)->group("");
  app.add_option("--report-fd", report_fd)->group("");
  // A run spread over machines (crest worker): coordinator.hpp.
  std::string coordinator;
  int workers = 0;
  std::string token;
  bool tolerate_lost_workers = false;
  std::string wait_workers = "5m";
  app.add_option("--coordinator", coordinator,
                 "coordinate a run over --workers N crest workers, listening on HOST:PORT");
  app.add_option("--workers", workers, "with --coordinator: how many workers run the plan");
  app.add_option("--token", token, "with --coordinator: the workers' shared token ($CREST_TOKEN)");
  app.add_flag("--tolerate-lost-workers", tolerate_lost_workers,
               "with --coordinator: a lost worker marks the result partial instead of failing");
  app.add_option("--wait-workers", wait_workers,
                 "with --coordinator: how long to wait for every worker (default 5m)");
  g_stop.store(false);
  g_signals.store(0);
  g_first_signal.store(0);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (vus > 0) {
    overrides.vus = vus;
  }
  if (app.count("--iterations") > 0) {
    if (iterations < 1) {
      std::cerr << "crest run: --iterations expects a count >= 1, got " << iterations << "\n";
      return 2;
    }
    overrides.iterations = iterations;
  }
  if (rate >= 0) {
    overrides.rate = rate;
  }
  if (!duration.empty()) {
    auto d = parse_duration(duration);
    if (!d.ok()) {
      std::cerr << "crest run: --duration: " << d.error().message << "\n";
      return 2;
    }
    overrides.duration = *d;
  }
  if (!target.empty()) {
    overrides.target = target;
  }
  if (threads > 0) {
    overrides.threads = threads;
  }
  if (app.count("--processes") > 0 && (processes < 1 || processes > 1024)) {
    std::cerr << "crest run: --processes expects 1 to 1024, got " << processes << "\n";
    return 2;
  }
  if (processes > 0) {
    overrides.processes = processes;
  }
  int shard_index = 0;
  int shard_count = 1;
  if (!shard.empty() && (!parse_shard(shard, shard_index, shard_count) || report_fd < 0)) {
    std::cerr << "crest run: --shard I/N and --report-fd FD go together (they are for crest run "
                 "--processes)\n";
    return 2;
  }
  for (const auto& kv : vars) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "crest run: -e expects KEY=VALUE, got '" << kv << "'\n";
      return 2;
    }
    overrides.vars.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  std::string json_path;
  std::string csv_path;
  std::string html_path;
  RunOptions options;
  for (const auto& o : outs) {
    const auto eq = o.find('=');
    const auto kind = o.substr(0, eq);
    const auto path = eq == std::string::npos ? "" : o.substr(eq + 1);
    if (path.empty() || (kind != "json" && kind != "csv" && kind != "jtl" && kind != "html")) {
      std::cerr << "crest run: --out expects json=FILE, csv=FILE, jtl=FILE or html=FILE, got '" << o
                << "'\n";
      return 2;
    }
    (kind == "json"   ? json_path
     : kind == "csv"  ? csv_path
     : kind == "html" ? html_path
                      : options.jtl_path) = path;
  }
  auto plan = load_plan(plan_path, overrides);
  if (!plan.ok()) {
    std::cerr << "crest run: " << plan.error().message << "\n";
    return 2;
  }
  options.seed = app.count("--seed") > 0 ? seed : random_seed();
  const auto forwarded = forwarded_args(ForwardedFlags{
      options.seed, vus, rate, duration, target, app.count("--iterations") > 0 ? iterations : 0,
      &vars, http_debug, http_debug_iterations});
  CoordinatorOptions coordinated;
  if (!coordinator.empty()) {
    if (token.empty() && std::getenv("CREST_TOKEN") != nullptr) {
      token = std::getenv("CREST_TOKEN");
    }
    auto wait = parse_duration(wait_workers);
    std::string wrong = workers < 1 || workers > 4096 ? "--workers N (1 to 4096) is required"
                        : token.size() < 16 ? "a token of 16 characters or more is required "
                                              "(--token or CREST_TOKEN)"
                        : processes > 0 || plan->load.processes > 1
                            ? "--processes does not combine with it (each worker is one process)"
                        : !options.jtl_path.empty()
                            ? "--out jtl does not combine with it (the rows stay on the workers)"
                        : !wait.ok() ? "--wait-workers: " + wait.error().message
                                     : "";
    if (!wrong.empty()) {
      std::cerr << "crest run: --coordinator: " << wrong << "\n";
      return 2;
    }
    coordinated.listen = coordinator;
    coordinated.workers = workers;
    coordinated.token = token;
    coordinated.tolerate_lost_workers = tolerate_lost_workers;
    coordinated.wait_for_workers_s = std::chrono::duration<double>(*wait).count();
    coordinated.plan_path = plan_path;
    coordinated.threads = threads > 0 ? threads : plan->load.threads;
    coordinated.run_args = forwarded;
    coordinated.log = [](const std::string& line) {
      std::fprintf(stderr, "crest run: %s\n", line.c_str());
    };
  }
  if (!http_debug.empty()) {
    if (http_debug != "headers" && http_debug != "full") {
      std::cerr << "crest run: --http-debug takes no value or =full, got '" << http_debug << "'\n";
      return 2;
    }
    options.http_debug = http_debug == "full" ? HttpDebug::full : HttpDebug::headers;
    options.http_debug_iterations = std::max(1, http_debug_iterations);
  }
  auto linger = parse_duration(metrics_linger);
  if (!linger.ok()) {
    std::cerr << "crest run: --metrics-linger: " << linger.error().message << "\n";
    return 2;
  }
  if (!shard.empty()) {
    options.threads = threads;
    options.shard_index = shard_index;
    options.shard_count = shard_count;
    return run_shard(*plan, options, report_fd);
  }
  // More processes than virtual users would leave some with nothing to do.
  const int process_count =
      std::min(std::max(1, plan->load.processes), std::max(1, plan->peak_vus()));
  for (const auto* path : {&json_path, &csv_path, &options.jtl_path, &html_path}) {
    std::string error;
    if (!path->empty() && !check_writable(*path, error)) {
      std::cerr << "crest run: " << error << " (nothing was sent)\n";
      return 1;
    }
  }
  MetricsEndpoint endpoint;
  if (!metrics_addr.empty()) {
    auto started = endpoint.start(metrics_addr);
    if (!started.ok()) {
      std::cerr << "crest run: " << started.error().message << "\n";
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  options.stop = &g_stop;
  const bool tty = !quiet && ::isatty(STDERR_FILENO) == 1;
  const bool periodic = !quiet && !tty;  // a CI log: one line every 10 s, not a redrawn line
  double next_periodic_s = 10;
  const bool abortable = std::any_of(plan->thresholds.begin(), plan->thresholds.end(),
                                     [](const Threshold& t) { return t.abort_on_fail; });
  const Plan& p = *plan;
  std::string abort_reason;
  options.on_tick = [&](const Progress& progress, bool final) {
    if (!metrics_addr.empty()) {
      endpoint.update(format_prometheus(p, *progress.totals, final ? 0 : progress.active_vus));
    }
    if (tty) {
      std::fprintf(stderr, "\r%s%s", format_progress(progress, progress.totals->dropped).c_str(),
                   final ? "\n" : "");
      std::fflush(stderr);
    } else if (periodic && !final && progress.elapsed_s >= next_periodic_s) {
      std::fprintf(stderr, "%s\n", format_progress(progress, progress.totals->dropped).c_str());
      std::fflush(stderr);
      next_periodic_s += 10;
    }
  };
  if (abortable) {
    options.should_abort = [&](const MetricSet& totals, double elapsed) {
      for (const auto& r : evaluate_thresholds(p, totals, elapsed)) {
        const double delay_s = std::chrono::duration<double>(r.threshold->delay_abort_eval).count();
        if (!r.passed && r.threshold->abort_on_fail && elapsed >= delay_s) {
          abort_reason = r.threshold->source + ": " + r.condition->text + " (" + r.shown + ")";
          return true;
        }
      }
      return false;
    };
  }
  RunResult result;
  if (!coordinator.empty()) {
    coordinated.on_tick = options.on_tick;
    coordinated.stop = options.stop;
    coordinated.should_abort = options.should_abort;
    result = run_coordinator(p, coordinated);
  } else if (process_count > 1) {
    ProcessRunOptions po;
    po.processes = process_count;
    // Every process gets the run's seed; each draws its VUs' streams from their global indexes.
    po.child_args = {"run", plan_path, "-q"};
    po.child_args.insert(po.child_args.end(), forwarded.begin(), forwarded.end());
    if (threads > 0 || p.load.threads <= 0) {
      // Unless told otherwise, the processes share the cores rather than each taking all of them.
      const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      const int per_process = threads > 0 ? threads : std::max(1, cores / process_count);
      po.child_args.insert(po.child_args.end(), {"--threads", std::to_string(per_process)});
    }
    po.jtl_path = options.jtl_path;
    po.on_tick = options.on_tick;
    po.stop = options.stop;
    po.should_abort = options.should_abort;
    result = run_processes(p, po);
  } else {
    result = run_plan(p, options);
  }
  result.max_rss_kib += own_max_rss_kib();
  if (!result.error.empty()) {
    std::cerr << "crest run: " << result.error << "\n";
    return 1;
  }
  result.seed = options.seed;
  if (const int signal = g_first_signal.load(); signal != 0) {
    result.stop_reason = "interrupted";
    result.stop_detail = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal";
  } else if (!abort_reason.empty()) {
    result.stop_reason = "abort_on_fail";
    result.stop_detail = abort_reason;
  }
  const auto thresholds = evaluate_thresholds(p, result.totals, result.elapsed_s);
  std::cout << format_summary(p, result, thresholds);
  if (!abort_reason.empty()) {
    std::cout << "  aborted: threshold breached: " << abort_reason << "\n";
  }
  if (!json_path.empty() && !write_file(json_path, format_json(p, result, thresholds))) {
    std::cerr << "crest run: cannot write " << json_path << "\n";
    return 1;
  }
  if (!csv_path.empty() && !write_file(csv_path, format_csv(p, result))) {
    std::cerr << "crest run: cannot write " << csv_path << "\n";
    return 1;
  }
  if (!html_path.empty()) {
    const auto page = format_html(p, result, thresholds);
    if (page.empty() || !write_file(html_path, page)) {
      std::cerr << "crest run: cannot write " << html_path << "\n";
      return 1;
    }
  }
  if (!metrics_addr.empty() && linger->count() > 0) {
    // The last scrape must not be lost: serve the final values a little longer (a second
    // Ctrl-C still leaves at once).
    const auto until = std::chrono::steady_clock::now() + *linger;
    while (std::chrono::steady_clock::now() < until && g_signals.load() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  endpoint.stop();
  if (result.stop_reason == "interrupted") {
    return kExitInterrupted;
  }
  const bool breached = std::any_of(thresholds.begin(), thresholds.end(),
                                    [](const ThresholdResult& r) { return !r.passed; });
  return breached || !abort_reason.empty() ? 99 : 0;
}

}  // namespace crest::load
