#pragma once
// The local platform behind `crest up`: every server of the storefront's architecture started as a
// child process on 127.0.0.1 (MariaDB primary and replicas, Redis, dynalite, the SQS server,
// HAProxy, Prometheus and its exporters, the storefront's services), each in its own cgroup with
// its limits, supervised like a kubelet would (restarts with backoff, counted), with instances
// added and removed at run time through HAProxy's runtime API. Its state is written to
// <run dir>/state.json for `crest status` and `crest down`.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crest/autoscale/hpa_manifest.hpp"
#include "crest/core/error.hpp"
#include "crest/stack/cgroup.hpp"
#include "crest/stack/child_process.hpp"
#include "crest/stack/haproxy.hpp"
#include "crest/stack/mariadb_cluster.hpp"
#include "crest/stack/stack_profile.hpp"

namespace crest::stack {

struct PlatformOptions {
  std::filesystem::path run_dir;
  StackProfile profile;
  std::string repo_root;          // node_modules/, scripts/, deploy/
  std::string storefront_binary;  // the storefront program
  std::function<void(const std::string& component, const std::string& message)> progress;
  // The overlay's manifests (read_autoscaler_manifests, usually still being read while the
  // servers start): their Deployments' requests and limits fill what the profile leaves unset
  // before the first instance starts. Not valid(): the profile's values alone.
  std::shared_future<Result<autoscale::HpaManifests>> workload_manifests;
};

enum class InstancePhase { pending, starting, ready, draining, stopping, backoff, stopped };
const char* to_string(InstancePhase phase);

// One instance of a storefront service, as the autoscaler and `crest status` see it.
struct InstanceView {
  std::string service;
  std::string name;  // the pod name: "catalog-3"
  pid_t pid = -1;
  std::uint16_t port = 0;
  InstancePhase phase = InstancePhase::pending;
  bool ready = false;  // serving (in HAProxy and answering /readyz)
  double cpu_request = 0;
  int restarts = 0;
  std::string node;
  std::chrono::steady_clock::time_point started;
};

// A scale-down or scale-up request's bounds, changed at run time by `crest scale`.
struct ScaleOverride {
  std::optional<int> min;
  std::optional<int> max;
  std::optional<int> replicas;  // a fixed count; also switches the autoscaler off for the service
  bool autoscaling_off = false;
};

class LocalPlatform {
 public:
  // Starts everything and waits until every part is ready; progress goes to options.progress.
  static Result<std::unique_ptr<LocalPlatform>> start(PlatformOptions options);
  ~LocalPlatform();
  LocalPlatform(const LocalPlatform&) = delete;
  LocalPlatform& operator=(const LocalPlatform&) = delete;

  // One supervision pass (call every ~200 ms from the thread that started the platform, since
  // children die with the thread that spawned them): restarts crashed processes with backoff,
  // moves starting instances to serving, finishes drains, writes the state and metrics files.
  void tick();
  // Stops everything it started, instances first, gracefully then forcibly.
  void shutdown();

  // The scale target: the service's instances, and the number wanted. Scaling out starts
  // instances (serving once /readyz answers and their HAProxy slot is on); scaling in takes the
  // newest out of HAProxy, waits for its in-flight requests, then SIGTERM.
  std::vector<InstanceView> instances(const std::string& service) const;
  int desired(const std::string& service) const;
  Result<void> scale(const std::string& service, int replicas, const std::string& reason);
  // Bounds for the autoscaler after `crest scale` (the profile's, overridden).
  int min_replicas(const std::string& service) const;
  int max_replicas(const std::string& service) const;
  bool autoscaled(const std::string& service) const;
  // The `crest scale` override of a service (empty when none).
  ScaleOverride override_for(const std::string& service) const;
  // Prometheus text published next to the cAdvisor-named series (the autoscaler's gauges).
  void set_extra_metrics(std::string text) { extra_metrics_ = std::move(text); }

  const StackProfile& profile() const { return options_.profile; }
  const std::filesystem::path& run_dir() const { return options_.run_dir; }
  std::string prometheus_url() const;
  std::string shop_url() const;
  // Appends one JSON object to <run dir>/events.jsonl (autoscaler decisions, pod and node
  // transitions), with "ts" added.
  void event(nlohmann::json fields);
  bool cgroups_enabled() const { return cgroups_.available(); }
  const std::string& cgroups_reason() const { return cgroups_.reason(); }

 private:
  struct Process;
  struct Node;
  explicit LocalPlatform(PlatformOptions options);
  Result<void> start_all();
  Result<void> launch_databases();
  Result<void> finish_databases();
  Result<void> start_support_servers();
  Result<void> create_queues();
  Result<void> launch_seed();
  Result<void> finish_seed();
  Result<void> start_haproxy();
  Result<void> start_monitoring();
  Result<void> start_storefront();
  Process& add_process(std::string component, std::string name, ProcessSpec spec,
                       CgroupLimits limits, std::uint16_t port);
  Process& add_instance(const std::string& service);
  Result<void> launch(Process& p);
  // Waits until every one of `starting` is ready (serving it as it is), or names the first that
  // exited or was not ready in time.
  Result<void> await_ready(const std::vector<Process*>& starting, std::chrono::seconds timeout);
  bool probe_ready(Process& p);
  void on_exit(Process& p, int status);
  void serve(Process& p);
  void unserve(Process& p);
  void place_pending();
  void manage_nodes();
  void apply_overrides();
  void write_state();
  void write_metrics();
  void write_scrape_targets();
  void progress(const std::string& component, const std::string& message) const;

  PlatformOptions options_;
  CgroupTree cgroups_;
  std::unique_ptr<MariaDbCluster> mariadb_;
  std::vector<std::unique_ptr<Process>> processes_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<std::string, int> next_index_;
  std::map<std::string, ScaleOverride> overrides_;
  // scale.json's "node-pool": {"provision_delay_ms": N} (crest chaos node-provision-slow).
  std::optional<std::chrono::milliseconds> node_provision_delay_override_;
  std::string extra_metrics_;
  std::optional<HaproxyRuntime> haproxy_;
  std::uint16_t haproxy_port_ = 0;
  std::uint16_t prometheus_port_ = 0;
  std::string storefront_config_;
  std::string queue_url_, dead_letter_url_;
  std::uint16_t sqs_port_ = 0;
  std::chrono::steady_clock::time_point last_write_{};
  std::string last_targets_;
  std::chrono::system_clock::time_point started_wall_;
  std::chrono::milliseconds startup_time_{0};
  // Seconds each start-up step took (from its launch until ready), for the progress output.
  std::vector<std::pair<std::string, double>> startup_timings_;
  std::chrono::steady_clock::time_point startup_began_, databases_began_, seed_began_;
  std::optional<ChildProcess> seeding_;
  bool startup_done_ = false;
  bool stopping_ = false;
};

// ---- the run directory, for `crest status` and `crest down` (other processes) ----

// Holds <run dir>/lock (flock) for the life of the supervisor: a second `crest up` on the same
// directory fails to take it. An error names the directory and the pid holding it.
class RunDirLock {
 public:
  static Result<RunDirLock> acquire(const std::filesystem::path& run_dir);
  RunDirLock(RunDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  RunDirLock& operator=(RunDirLock&&) = delete;
  ~RunDirLock();

 private:
  explicit RunDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// state.json, or an error saying no stack runs there.
Result<nlohmann::json> read_state(const std::filesystem::path& run_dir);
// The start time of a process (field 22 of /proc/PID/stat), to tell it from a later process that
// reused its pid; nullopt if it is gone.
std::optional<std::uint64_t> process_start_ticks(pid_t pid);
// True if `pid` is alive and is the process that started at `start_ticks`.
bool same_process_alive(pid_t pid, std::uint64_t start_ticks);
// A busy-port check before starting a server on a chosen port: an error naming the port and key.
Result<void> check_port_free(std::uint16_t port, const std::string& what);
// A server program looked up on the PATH, or an error naming the Debian package to install.
Result<std::string> require_program(const std::string& program);

}  // namespace crest::stack
