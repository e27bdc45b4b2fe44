#include "crest/autoscale/hpa_manifest.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace crest::autoscale {
namespace {

// Thrown inside the parser only, turned into an Error at the boundary.
struct ManifestError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class DocumentReader {
 public:
  DocumentReader(std::string source, std::string object, std::vector<std::string>& warnings)
      : source_(std::move(source)), object_(std::move(object)), warnings_(warnings) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& path,
                         const std::string& message) const {
    throw ManifestError(where(node) + path + ": " + message);
  }
  void warn(const YAML::Node& node, const std::string& path, const std::string& message) const {
    warnings_.push_back(where(node) + path + ": " + message);
  }
  // Warns about every key of a map not in known.
  void check_keys(const YAML::Node& node, const std::string& path,
                  std::initializer_list<const char*> known) const {
    if (!node.IsMap()) {
      fail(node, path, "expected a mapping");
    }
    for (const auto& entry : node) {
      const auto key = entry.first.as<std::string>();
      bool found = false;
      for (const char* k : known) {
        found = found || key == k;
      }
      if (!found) {
        warn(entry.first, path + "." + key, "not supported by the local autoscaler, ignored");
      }
    }
  }
  std::string string(const YAML::Node& parent, const char* key, const std::string& path) const {
    const YAML::Node node = parent[key];
    if (!node || !node.IsScalar()) {
      fail(parent, path + "." + key, "missing or not a string");
    }
    return node.Scalar();
  }
  int integer(const YAML::Node& parent, const char* key, const std::string& path) const {
    const YAML::Node node = parent[key];
    if (!node || !node.IsScalar()) {
      fail(parent, path + "." + key, "missing or not an integer");
    }
    try {
      return node.as<int>();
    } catch (const YAML::Exception&) {
      fail(node, path + "." + key, "'" + node.Scalar() + "' is not an integer");
    }
  }
  double quantity(const YAML::Node& parent, const char* key, const std::string& path) const {
    const YAML::Node node = parent[key];
    if (!node || !node.IsScalar()) {
      fail(parent, path + "." + key, "missing or not a quantity");
    }
    auto value = parse_quantity(node.Scalar());
    if (!value) {
      fail(node, path + "." + key, value.error().message);
    }
    return *value;
  }

 private:
  std::string where(const YAML::Node& node) const {
    const int line = node.Mark().line;
    return source_ + (line >= 0 ? ":" + std::to_string(line + 1) : "") + ": " + object_ + ": ";
  }
  std::string source_;
  std::string object_;
  std::vector<std::string>& warnings_;
};

ScalingRules read_rules(const DocumentReader& r, const YAML::Node& node, const std::string& path,
                        ScalingRules rules) {
  r.check_keys(node, path, {"stabilizationWindowSeconds", "selectPolicy", "policies"});
  if (node["stabilizationWindowSeconds"]) {
    rules.stabilization_window_seconds = r.integer(node, "stabilizationWindowSeconds", path);
    if (rules.stabilization_window_seconds < 0 || rules.stabilization_window_seconds > 3600) {
      r.fail(node, path + ".stabilizationWindowSeconds", "must be between 0 and 3600");
    }
  }
  if (node["selectPolicy"]) {
    const std::string select = r.string(node, "selectPolicy", path);
    if (select == "Max") {
      rules.select_policy = SelectPolicy::max;
    } else if (select == "Min") {
      rules.select_policy = SelectPolicy::min;
    } else if (select == "Disabled") {
      rules.select_policy = SelectPolicy::disabled;
    } else {
      r.fail(node["selectPolicy"], path + ".selectPolicy",
             "'" + select + "' is not Max, Min or Disabled");
    }
  }
  if (node["policies"]) {
    rules.policies.clear();
    const YAML::Node policies = node["policies"];
    for (std::size_t i = 0; i < policies.size(); ++i) {
      const std::string p = path + ".policies[" + std::to_string(i) + "]";
      const YAML::Node policy = policies[i];
      r.check_keys(policy, p, {"type", "value", "periodSeconds"});
      ScalingPolicy out;
      const std::string type = r.string(policy, "type", p);
      if (type == "Pods") {
        out.type = ScalingPolicyType::pods;
      } else if (type == "Percent") {
        out.type = ScalingPolicyType::percent;
      } else {
        r.fail(policy["type"], p + ".type", "'" + type + "' is not Pods or Percent");
      }
      out.value = r.integer(policy, "value", p);
      out.period_seconds = r.integer(policy, "periodSeconds", p);
      if (out.value <= 0) {
        r.fail(policy["value"], p + ".value", "must be above 0");
      }
      if (out.period_seconds <= 0 || out.period_seconds > 1800) {
        r.fail(policy["periodSeconds"], p + ".periodSeconds", "must be between 1 and 1800");
      }
      rules.policies.push_back(out);
    }
  }
  return rules;
}

void read_target(const DocumentReader& r, const YAML::Node& target, const std::string& path,
                 MetricSpec& metric) {
  r.check_keys(target, path, {"type", "averageUtilization", "averageValue", "value"});
  const std::string type = r.string(target, "type", path);
  if (type == "Utilization") {
    if (metric.type != MetricSourceType::resource) {
      r.fail(target, path + ".type", "Utilization applies to Resource metrics only");
    }
    metric.target_type = MetricTargetType::utilization;
    metric.target = r.integer(target, "averageUtilization", path);
  } else if (type == "AverageValue") {
    metric.target_type = MetricTargetType::average_value;
    metric.target = r.quantity(target, "averageValue", path);
  } else if (type == "Value") {
    if (metric.type != MetricSourceType::external) {
      r.fail(target, path + ".type", "Value applies to External (and Object) metrics only");
    }
    metric.target_type = MetricTargetType::value;
    metric.target = r.quantity(target, "value", path);
  } else {
    r.fail(target["type"], path + ".type",
           "'" + type + "' is not Utilization, AverageValue or Value");
  }
  if (metric.target <= 0) {
    r.fail(target, path, "the target must be above 0");
  }
}

void read_selector(const DocumentReader& r, const YAML::Node& selector, const std::string& path,
                   MetricSpec& metric) {
  r.check_keys(selector, path, {"matchLabels"});
  if (const YAML::Node labels = selector["matchLabels"]) {
    for (const auto& entry : labels) {
      metric.selector[entry.first.as<std::string>()] = entry.second.as<std::string>();
    }
  }
}

std::optional<MetricSpec> read_metric(const DocumentReader& r, const YAML::Node& node,
                                      const std::string& path) {
  const std::string type = r.string(node, "type", path);
  MetricSpec metric;
  if (type == "Resource") {
    r.check_keys(node, path, {"type", "resource"});
    const YAML::Node resource = node["resource"];
    const std::string p = path + ".resource";
    if (!resource) {
      r.fail(node, p, "missing");
    }
    r.check_keys(resource, p, {"name", "target"});
    metric.type = MetricSourceType::resource;
    metric.name = r.string(resource, "name", p);
    if (metric.name != "cpu" && metric.name != "memory") {
      r.warn(resource, p + ".name", "resource '" + metric.name + "' not supported, metric ignored");
      return std::nullopt;
    }
    read_target(r, resource["target"], p + ".target", metric);
    return metric;
  }
  if (type == "Pods" || type == "External") {
    const bool pods = type == "Pods";
    const char* key = pods ? "pods" : "external";
    r.check_keys(node, path, {"type", key});
    const YAML::Node body = node[key];
    const std::string p = path + "." + key;
    if (!body) {
      r.fail(node, p, "missing");
    }
    r.check_keys(body, p, {"metric", "target"});
    metric.type = pods ? MetricSourceType::pods : MetricSourceType::external;
    const YAML::Node id = body["metric"];
    if (!id) {
      r.fail(body, p + ".metric", "missing");
    }
    r.check_keys(id, p + ".metric", {"name", "selector"});
    metric.name = r.string(id, "name", p + ".metric");
    if (id["selector"]) {
      read_selector(r, id["selector"], p + ".metric.selector", metric);
    }
    read_target(r, body["target"], p + ".target", metric);
    return metric;
  }
  r.warn(node, path + ".type", "metric type '" + type + "' not supported, metric ignored");
  return std::nullopt;
}

HpaSpec read_hpa(const YAML::Node& doc, const std::string& source,
                 std::vector<std::string>& warnings) {
  const YAML::Node metadata = doc["metadata"];
  std::string name = metadata && metadata["name"] ? metadata["name"].Scalar() : "";
  DocumentReader r(source, "HorizontalPodAutoscaler '" + name + "'", warnings);
  if (name.empty()) {
    r.fail(doc, "metadata.name", "missing");
  }
  const std::string api = r.string(doc, "apiVersion", "");
  if (api != "autoscaling/v2") {
    r.fail(doc["apiVersion"], "apiVersion", "'" + api + "' is not autoscaling/v2");
  }
  r.check_keys(doc, "", {"apiVersion", "kind", "metadata", "spec", "status"});
  const YAML::Node spec = doc["spec"];
  if (!spec) {
    r.fail(doc, "spec", "missing");
  }
  r.check_keys(spec, "spec",
               {"scaleTargetRef", "minReplicas", "maxReplicas", "metrics", "behavior"});
  HpaSpec out;
  out.name = name;
  const YAML::Node ref = spec["scaleTargetRef"];
  if (!ref) {
    r.fail(spec, "spec.scaleTargetRef", "missing");
  }
  r.check_keys(ref, "spec.scaleTargetRef", {"apiVersion", "kind", "name"});
  out.target_name = r.string(ref, "name", "spec.scaleTargetRef");
  if (ref["kind"] && ref["kind"].Scalar() != "Deployment") {
    r.warn(ref["kind"], "spec.scaleTargetRef.kind",
           "'" + ref["kind"].Scalar() + "' is scaled as a Deployment locally");
  }
  out.min_replicas = spec["minReplicas"] ? r.integer(spec, "minReplicas", "spec") : 1;
  out.max_replicas = r.integer(spec, "maxReplicas", "spec");
  if (out.min_replicas < 1) {
    r.fail(spec["minReplicas"], "spec.minReplicas", "must be at least 1 (0 is not supported)");
  }
  if (out.max_replicas < out.min_replicas) {
    r.fail(spec["maxReplicas"], "spec.maxReplicas", "is below spec.minReplicas");
  }
  if (const YAML::Node metrics = spec["metrics"]) {
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      if (auto metric = read_metric(r, metrics[i], "spec.metrics[" + std::to_string(i) + "]")) {
        out.metrics.push_back(std::move(*metric));
      }
    }
    if (out.metrics.empty()) {
      r.fail(metrics, "spec.metrics", "no metric the local autoscaler supports");
    }
  } else {
    out.metrics.push_back(
        {MetricSourceType::resource, "cpu", {}, MetricTargetType::utilization, 80});
  }
  if (const YAML::Node behavior = spec["behavior"]) {
    r.check_keys(behavior, "spec.behavior", {"scaleUp", "scaleDown"});
    if (behavior["scaleUp"]) {
      out.scale_up = read_rules(r, behavior["scaleUp"], "spec.behavior.scaleUp", out.scale_up);
    }
    if (behavior["scaleDown"]) {
      out.scale_down =
          read_rules(r, behavior["scaleDown"], "spec.behavior.scaleDown", out.scale_down);
    }
  }
  return out;
}

void read_deployment(const YAML::Node& doc, const std::string& source,
                     std::vector<std::string>& warnings, HpaManifests& out) {
  const YAML::Node metadata = doc["metadata"];
  if (!metadata || !metadata["name"]) {
    return;
  }
  const std::string name = metadata["name"].Scalar();
  DocumentReader r(source, "Deployment '" + name + "'", warnings);
  WorkloadResources resources;
  const YAML::Node spec = doc["spec"];
  if (spec && spec["replicas"]) {
    resources.replicas = r.integer(spec, "replicas", "spec");
  }
  const YAML::Node containers = spec && spec["template"] && spec["template"]["spec"]
                                    ? spec["template"]["spec"]["containers"]
                                    : YAML::Node();
  for (std::size_t i = 0; containers && i < containers.size(); ++i) {
    const std::string p = "spec.template.spec.containers[" + std::to_string(i) + "].resources";
    const YAML::Node res = containers[i]["resources"];
    if (!res) {
      continue;
    }
    if (const YAML::Node requests = res["requests"]) {
      resources.cpu_request_cores +=
          requests["cpu"] ? r.quantity(requests, "cpu", p + ".requests") : 0;
      resources.memory_request_bytes +=
          requests["memory"] ? r.quantity(requests, "memory", p + ".requests") : 0;
    }
    if (const YAML::Node limits = res["limits"]) {
      resources.cpu_limit_cores += limits["cpu"] ? r.quantity(limits, "cpu", p + ".limits") : 0;
      resources.memory_limit_bytes +=
          limits["memory"] ? r.quantity(limits, "memory", p + ".limits") : 0;
    }
  }
  out.workloads[name] = resources;
}

}  // namespace

Result<double> parse_quantity(std::string_view text) {
  const std::string s(text);
  const auto bad = [&] {
    return Error{ErrorKind::invalid_argument, "'" + s + "' is not a Kubernetes quantity"};
  };
  if (s.empty()) {
    return bad();
  }
  std::size_t used = 0;
  double number = 0;
  try {
    number = std::stod(s, &used);
  } catch (const std::exception&) {
    return bad();
  }
  std::string suffix = s.substr(used);
  // "1e3" was consumed by stod; an "E" alone is the exa suffix and stod would have failed on it.
  static const std::array<std::pair<const char*, double>, 14> suffixes = {{
      {"", 1.0},
      {"m", 1e-3},
      {"k", 1e3},
      {"M", 1e6},
      {"G", 1e9},
      {"T", 1e12},
      {"P", 1e15},
      {"E", 1e18},
      {"Ki", 1024.0},
      {"Mi", 1024.0 * 1024},
      {"Gi", 1024.0 * 1024 * 1024},
      {"Ti", 1024.0 * 1024 * 1024 * 1024},
      {"Pi", 1024.0 * 1024 * 1024 * 1024 * 1024},
      {"Ei", 1024.0 * 1024 * 1024 * 1024 * 1024 * 1024},
  }};
  for (const auto& [name, factor] : suffixes) {
    if (suffix == name) {
      if (!std::isfinite(number) || number < 0) {
        return bad();
      }
      return number * factor;
    }
  }
  return bad();
}

Result<HpaManifests> parse_hpa_manifests(std::string_view yaml, const std::string& source) {
  HpaManifests out;
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Error{ErrorKind::invalid_argument,
                 source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg};
  }
  try {
    for (const auto& doc : documents) {
      if (!doc.IsMap() || !doc["kind"]) {
        continue;
      }
      const std::string kind = doc["kind"].Scalar();
      if (kind == "HorizontalPodAutoscaler") {
        out.hpas.push_back(read_hpa(doc, source, out.warnings));
      } else if (kind == "Deployment") {
        read_deployment(doc, source, out.warnings, out);
      }
    }
  } catch (const ManifestError& e) {
    return Error{ErrorKind::invalid_argument, e.what()};
  } catch (const YAML::Exception& e) {
    return Error{ErrorKind::invalid_argument,
                 source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
  }
  return out;
}

namespace {

std::string read_all(int fd) {
  std::string out;
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      out.append(buffer.data(), static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fd);
  return out;
}

}  // namespace

Result<HpaManifests> read_kustomize_overlay(const std::string& overlay_dir) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe(out_pipe) != 0) {
    return Error{ErrorKind::internal, std::string("pipe: ") + std::strerror(errno)};
  }
  if (pipe(err_pipe) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Error{ErrorKind::internal, std::string("pipe: ") + std::strerror(errno)};
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
    posix_spawn_file_actions_addclose(&actions, fd);
  }
  std::string program = "kubectl";
  std::string verb = "kustomize";
  std::string dir = overlay_dir;
  char* argv[] = {program.data(), verb.data(), dir.data(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, "kubectl", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return Error{ErrorKind::unavailable, "cannot run kubectl (install kubectl 1.21 or later): " +
                                             std::string(std::strerror(rc))};
  }
  // kubectl writes its error only when it has given up on stdout, so reading one after the
  // other cannot block on a full pipe in practice; its messages are short.
  const std::string output = read_all(out_pipe[0]);
  std::string errors = read_all(err_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) {
      errors.pop_back();
    }
    return Error{ErrorKind::invalid_argument,
                 "kubectl kustomize " + overlay_dir + " failed: " + errors};
  }
  return parse_hpa_manifests(output, "kubectl kustomize " + overlay_dir);
}

}  // namespace crest::autoscale
