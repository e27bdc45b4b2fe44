// The plan's load model: `load:` or `scenarios:` (each scenario its executor, journeys, start time,
// tags and env), thresholds (checked against what the plan has), and the command line's
// overrides. Part of PlanParser (plan_parser.hpp); plan.cpp parses the rest.
#include <algorithm>
#include <cmath>
#include <set>

#include "plan_parser.hpp"

namespace crest::load {
const char* to_string(Executor e) {
  switch (e) {
    case Executor::constant_vus:
      return "constant-vus";
    case Executor::ramping_vus:
      return "ramping-vus";
    case Executor::constant_arrival_rate:
      return "constant-arrival-rate";
    case Executor::ramping_arrival_rate:
      return "ramping-arrival-rate";
    case Executor::per_vu_iterations:
      return "per-vu-iterations";
    case Executor::shared_iterations:
      return "shared-iterations";
  }
  return "?";
}

Duration LoadSpec::total_duration() const {
  if (executor == Executor::ramping_vus || executor == Executor::ramping_arrival_rate) {
    Duration total{};
    for (const auto& s : stages) {
      total += s.duration;
    }
    return total;
  }
  return duration;
}

int LoadSpec::peak_vus() const {
  switch (executor) {
    case Executor::constant_vus:
    case Executor::per_vu_iterations:
      return vus;
    case Executor::shared_iterations:
      return static_cast<int>(std::min<std::int64_t>(vus, std::max<std::int64_t>(1, iterations)));
    case Executor::ramping_vus: {
      double peak = start_vus;
      for (const auto& s : stages) {
        peak = std::max(peak, s.target);
      }
      return static_cast<int>(std::ceil(peak));
    }
    case Executor::constant_arrival_rate:
    case Executor::ramping_arrival_rate:
      return max_vus;
  }
  return vus;
}

std::vector<Stage> PlanParser::parse_stages(const YAML::Node& node) {
  if (!node.IsSequence() || node.size() == 0) {
    fail(node, "expected stages to be a non-empty list of {duration, target}");
  }
  std::vector<Stage> stages;
  for (const auto& s : node) {
    expect_map(s, "a stage", {"duration", "target"});
    if (!s["duration"] || !s["target"]) {
      fail(s, "a stage needs 'duration' and 'target'");
    }
    stages.push_back(
        Stage{duration(s["duration"], "stage duration"), number(s["target"], "stage target")});
  }
  return stages;
}

LoadSpec PlanParser::parse_load_spec(const YAML::Node& node, const std::string& what,
                                     bool scenario) {
  std::set<std::string> keys = {
      "executor", "vus",           "duration",   "start_vus",         "stages",
      "rate",     "time_unit",     "start_rate", "pre_allocated_vus", "max_vus",
      "pacing",   "graceful_stop", "iterations", "max_duration"};
  if (scenario) {
    keys.insert({"journeys", "start_time", "tags", "env"});
  } else {
    keys.insert({"threads", "source_addresses", "processes"});
  }
  if (!node.IsMap()) {
    fail(node, "expected " + what + " to be a mapping");
  }
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    if (scenario && (key == "threads" || key == "source_addresses" || key == "processes")) {
      fail(kv.first, "'" + key + "' in " + what + " is run-wide, not per scenario (use --" +
                         (key == "source_addresses" ? std::string("threads") : key) +
                         " on the command line)");
    }
  }
  expect_map(node, what, keys);
  LoadSpec l;
  const std::string executor =
      node["executor"] ? scalar(node["executor"], what + ".executor") : "constant-vus";
  std::set<std::string> allowed = {
      "executor",  "pacing",   "graceful_stop", "threads", "source_addresses",
      "processes", "journeys", "start_time",    "tags",    "env"};
  if (executor == "constant-vus") {
    l.executor = Executor::constant_vus;
    allowed.insert({"vus", "duration"});
  } else if (executor == "ramping-vus") {
    l.executor = Executor::ramping_vus;
    allowed.insert({"start_vus", "stages"});
  } else if (executor == "constant-arrival-rate") {
    l.executor = Executor::constant_arrival_rate;
    allowed.insert({"rate", "time_unit", "duration", "pre_allocated_vus", "max_vus"});
  } else if (executor == "ramping-arrival-rate") {
    l.executor = Executor::ramping_arrival_rate;
    allowed.insert({"start_rate", "time_unit", "stages", "pre_allocated_vus", "max_vus"});
  } else if (executor == "per-vu-iterations") {
    l.executor = Executor::per_vu_iterations;
    allowed.insert({"vus", "iterations", "max_duration"});
  } else if (executor == "shared-iterations") {
    l.executor = Executor::shared_iterations;
    allowed.insert({"vus", "iterations", "max_duration"});
  } else {
    fail(node["executor"], what + ": unknown executor '" + executor +
                               "' (expected constant-vus, ramping-vus, constant-arrival-rate, "
                               "ramping-arrival-rate, per-vu-iterations or shared-iterations)");
  }
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    if (allowed.count(key) == 0) {
      fail(kv.first, what + ": key '" + key + "' does not apply to executor " + executor);
    }
  }
  auto require = [&](const char* key) {
    if (!node[key]) {
      fail(node, what + ": missing '" + key + "' for executor " + executor);
    }
    return node[key];
  };
  const auto field = [&](const char* key) { return what + "." + key; };
  switch (l.executor) {
    case Executor::constant_vus:
      l.vus = integer(require("vus"), field("vus"), 1);
      l.duration = duration(require("duration"), field("duration"));
      break;
    case Executor::ramping_vus:
      l.start_vus = node["start_vus"] ? integer(node["start_vus"], field("start_vus")) : 0;
      l.stages = parse_stages(require("stages"));
      break;
    case Executor::constant_arrival_rate:
      l.rate = number(require("rate"), field("rate"));
      l.duration = duration(require("duration"), field("duration"));
      break;
    case Executor::ramping_arrival_rate:
      l.start_rate = node["start_rate"] ? number(node["start_rate"], field("start_rate")) : 0;
      l.stages = parse_stages(require("stages"));
      break;
    case Executor::per_vu_iterations:
    case Executor::shared_iterations:
      l.vus = node["vus"] ? integer(node["vus"], field("vus"), 1) : 1;
      l.iterations = node["iterations"] ? integer(node["iterations"], field("iterations"), 1) : 1;
      l.duration = node["max_duration"] ? duration(node["max_duration"], field("max_duration"))
                                        : std::chrono::minutes(10);
      break;
  }
  if (l.is_open_model()) {
    if (node["time_unit"]) {
      l.time_unit = duration(node["time_unit"], field("time_unit"));
      if (l.time_unit.count() <= 0) {
        fail(node["time_unit"], "expected " + field("time_unit") + " > 0");
      }
    }
    l.max_vus = integer(require("max_vus"), field("max_vus"), 1);
    l.pre_allocated_vus = node["pre_allocated_vus"]
                              ? integer(node["pre_allocated_vus"], field("pre_allocated_vus"))
                              : std::min(l.max_vus, 10);
    if (l.pre_allocated_vus > l.max_vus) {
      fail(node["pre_allocated_vus"], what + ": pre_allocated_vus must not exceed max_vus");
    }
  }
  if (node["pacing"]) {
    if (l.is_open_model()) {
      fail(node["pacing"],
           what + ": pacing applies to closed models (not to arrival-rate executors)");
    }
    l.pacing = duration(node["pacing"], field("pacing"));
  }
  if (node["graceful_stop"]) {
    l.graceful_stop = duration(node["graceful_stop"], field("graceful_stop"));
  }
  if (node["threads"]) {
    l.threads = integer(node["threads"], field("threads"));
  }
  if (node["source_addresses"]) {
    l.source_addresses = integer(node["source_addresses"], field("source_addresses"));
  }
  if (node["processes"]) {
    l.processes = integer(node["processes"], field("processes"), 1);
  }
  return l;
}

void PlanParser::parse_load(const YAML::Node& node) {
  plan_.load = parse_load_spec(node, "load", false);
  Scenario scenario;
  scenario.name = "default";
  scenario.load = plan_.load;
  plan_.scenarios.push_back(std::move(scenario));
}

void PlanParser::parse_scenarios(const YAML::Node& node) {
  if (!node.IsMap() || node.size() == 0) {
    fail(node, "expected scenarios to be a non-empty mapping of name: {executor, ...}");
  }
  for (const auto& kv : node) {
    const auto name = kv.first.as<std::string>();
    const std::string what = "scenarios." + name;
    if (name.empty() || name.find_first_of("{}:,") != std::string::npos) {
      fail(kv.first, "scenario name '" + name + "' may not be empty or hold { } : or ,");
    }
    Scenario scenario;
    scenario.name = name;
    const auto& spec = kv.second;
    scenario.load = parse_load_spec(spec, what, true);
    if (spec["start_time"]) {
      scenario.start_time = duration(spec["start_time"], what + ".start_time");
    }
    if (const auto j = spec["journeys"]) {
      const auto find = [&](const YAML::Node& at, const std::string& journey) {
        for (std::size_t i = 0; i < plan_.journeys.size(); ++i) {
          if (plan_.journeys[i].name == journey && static_cast<int>(i) != plan_.setup &&
              static_cast<int>(i) != plan_.teardown) {
            return i;
          }
        }
        fail(at, what + ".journeys: no journey is named '" + journey + "'");
      };
      if (j.IsSequence() && j.size() > 0) {
        for (const auto& item : j) {
          const auto index = find(item, scalar(item, what + ".journeys item"));
          scenario.journeys.emplace_back(index, plan_.journeys[index].weight);
        }
      } else if (j.IsMap() && j.size() > 0) {
        for (const auto& item : j) {
          const auto index = find(item.first, item.first.as<std::string>());
          scenario.journeys.emplace_back(
              index, number(item.second, what + ".journeys." + item.first.as<std::string>()));
        }
      } else {
        fail(j, "expected " + what +
                    ".journeys to be a list of journey names or a mapping of name: weight");
      }
      double total = 0;
      for (const auto& [index, weight] : scenario.journeys) {
        total += weight;
      }
      if (total <= 0) {
        fail(j, what + ".journeys: the weights add up to 0, so no journey can be picked");
      }
    }
    if (const auto t = spec["tags"]) {
      if (!t.IsMap()) {
        fail(t, "expected " + what + ".tags to be a mapping of name: value");
      }
      for (const auto& tag : t) {
        const auto key = tag.first.as<std::string>();
        if (key == "scenario" || key == "step" || key == "journey" || key == "group") {
          fail(tag.first, what + ".tags: '" + key + "' is a built-in tag");
        }
        scenario.tags.emplace_back(key, scalar(tag.second, what + ".tags." + key));
      }
    }
    if (const auto e = spec["env"]) {
      if (!e.IsMap()) {
        fail(e, "expected " + what + ".env to be a mapping of NAME: value");
      }
      for (const auto& var : e) {
        const auto key = var.first.as<std::string>();
        const auto value = scalar(var.second, what + ".env." + key);
        // A name no template reads is harmless: nothing renders it.
        if (const int slot = plan_.vars.find("env." + key); slot >= 0) {
          scenario.env.emplace_back(slot, value);
        }
      }
    }
    plan_.scenarios.push_back(std::move(scenario));
  }
  plan_.load = plan_.scenarios.front().load;
}

// Every scenario's journeys (all weighted ones by default) and the first VU index of each.
void PlanParser::finish_scenarios(const YAML::Node& root) {
  std::uint64_t first_vu = 0;
  for (auto& scenario : plan_.scenarios) {
    if (scenario.journeys.empty()) {
      for (std::size_t j = 0; j < plan_.journeys.size(); ++j) {
        if (plan_.journeys[j].weight > 0) {
          scenario.journeys.emplace_back(j, plan_.journeys[j].weight);
        }
      }
      if (scenario.journeys.empty()) {
        fail(root["journeys"],
             "every journey has weight 0: scenario '" + scenario.name + "' has nothing to run");
      }
    }
    scenario.first_vu = first_vu;
    first_vu += static_cast<std::uint64_t>(scenario.load.peak_vus());
  }
}

void PlanParser::parse_thresholds(const YAML::Node& node) {
  if (!node.IsMap()) {
    fail(node, "expected thresholds to be a mapping of metric: [conditions]");
  }
  for (const auto& kv : node) {
    auto t = parse_threshold_key(kv.first.as<std::string>());
    if (!t.ok()) {
      fail(kv.first, t.error().message);
    }
    YAML::Node conds = kv.second;
    if (kv.second.IsMap()) {
      expect_map(kv.second, "threshold", {"conditions", "abort_on_fail", "delay_abort_eval"});
      conds.reset(kv.second["conditions"]);  // reset: operator= would write into kv.second
      if (!conds) {
        fail(kv.second, "missing 'conditions' in threshold");
      }
      if (kv.second["abort_on_fail"]) {
        t->abort_on_fail = boolean(kv.second["abort_on_fail"], "abort_on_fail");
      }
      if (kv.second["delay_abort_eval"]) {
        t->delay_abort_eval = duration(kv.second["delay_abort_eval"], "delay_abort_eval");
        if (!t->abort_on_fail) {
          fail(kv.second["delay_abort_eval"], "delay_abort_eval needs abort_on_fail: true");
        }
      }
    }
    auto add = [&](const YAML::Node& c) {
      auto cond = parse_threshold_condition(scalar(c, "threshold condition"));
      if (!cond.ok()) {
        fail(c, cond.error().message);
      }
      if (const auto mismatch = condition_mismatch(*t, *cond); !mismatch.empty()) {
        fail(c, mismatch);
      }
      t->conditions.push_back(std::move(cond.value()));
    };
    if (conds.IsSequence()) {
      for (const auto& c : conds) {
        add(c);
      }
    } else {
      add(conds);
    }
    if (t->tag_key == "step" && std::find(plan_.step_names.begin(), plan_.step_names.end(),
                                          t->tag_value) == plan_.step_names.end()) {
      fail(kv.first, "threshold names step '" + t->tag_value + "', which no journey has");
    }
    if (t->tag_key == "journey" &&
        std::none_of(plan_.journeys.begin(), plan_.journeys.end(),
                     [&](const Journey& j) { return j.name == t->tag_value; })) {
      fail(kv.first,
           "threshold names journey '" + t->tag_value + "', which the plan does not have");
    }
    if (t->tag_key == "group" &&
        std::none_of(plan_.groups.begin(), plan_.groups.end(),
                     [&](const Group& g) { return g.name == t->tag_value; })) {
      fail(kv.first, "threshold names group '" + t->tag_value + "', which the plan does not have");
    }
    if (t->tag_key == "scenario" && plan_.scenario_index(t->tag_value) < 0) {
      fail(kv.first,
           "threshold names scenario '" + t->tag_value + "', which the plan does not have");
    }
    if (t->tag_key != "step" && t->tag_key != "journey" && t->tag_key != "group" &&
        t->tag_key != "scenario" && !t->tag_key.empty()) {
      const auto has_tag = [&](const std::vector<std::pair<std::string, std::string>>& tags) {
        return std::any_of(tags.begin(), tags.end(), [&](const auto& tag) {
          return tag.first == t->tag_key && tag.second == t->tag_value;
        });
      };
      const bool step_tag =
          std::any_of(plan_.journeys.begin(), plan_.journeys.end(), [&](const Journey& j) {
            return std::any_of(j.steps.begin(), j.steps.end(),
                               [&](const Step& s) { return has_tag(s.tags); });
          });
      const bool scenario_tag = std::any_of(plan_.scenarios.begin(), plan_.scenarios.end(),
                                            [&](const Scenario& sc) { return has_tag(sc.tags); });
      if (step_tag && scenario_tag) {
        fail(kv.first, "threshold tag " + t->tag_key + ":" + t->tag_value +
                           " is set both by steps and by scenarios: give them different tags");
      }
      if (!step_tag && !scenario_tag) {
        fail(kv.first, "threshold names tag " + t->tag_key + ":" + t->tag_value +
                           ", which no step or scenario sets (steps and scenarios set tags with "
                           "tags: {" +
                           t->tag_key + ": " + t->tag_value + "})");
      }
      if (step_tag && (t->metric == ThresholdMetric::iteration_duration ||
                       t->metric == ThresholdMetric::iterations ||
                       t->metric == ThresholdMetric::dropped_iterations)) {
        fail(kv.first, "threshold tag '" + t->tag_key + "' is a step tag: " + to_string(t->metric) +
                           " is not measured per step");
      }
      t->scenario_tag = scenario_tag;
    }
    plan_.thresholds.push_back(std::move(t.value()));
  }
}

void PlanParser::apply_overrides(const YAML::Node& root) {
  if (root["scenarios"]) {
    // Each scenario sets its own VUs, rate and iterations; --duration shortens every scenario
    // that has a duration.
    for (const auto& [given, flag] : {std::pair{overrides_.vus.has_value(), "--vus"},
                                      {overrides_.rate.has_value(), "--rate"},
                                      {overrides_.iterations.has_value(), "--iterations"}}) {
      if (given) {
        throw Failure{invalid(std::string(flag) +
                              " does not apply to a plan with scenarios: (each scenario sets "
                              "its own; --duration applies to each)")};
      }
    }
    if (overrides_.duration) {
      for (auto& scenario : plan_.scenarios) {
        if (scenario.load.executor != Executor::ramping_vus &&
            scenario.load.executor != Executor::ramping_arrival_rate) {
          scenario.load.duration = *overrides_.duration;
        }
      }
    }
    if (overrides_.threads) {
      plan_.load.threads = *overrides_.threads;
    }
    if (overrides_.processes) {
      plan_.load.processes = *overrides_.processes;
    }
  } else {
    apply_load_overrides();
    plan_.scenarios.front().load = plan_.load;
  }
  finish_scenarios(root);
  // A unique feed with on_exhausted: error must have a row for every virtual user.
  for (const auto& feed : plan_.feeds) {
    if (feed.mode == Feed::Mode::unique && !feed.recycle &&
        static_cast<std::size_t>(plan_.peak_vus()) > feed.rows.size()) {
      fail(root["data"][feed.name],
           "data '" + feed.name + "' is unique with " + std::to_string(feed.rows.size()) +
               " rows, but the load uses up to " + std::to_string(plan_.peak_vus()) +
               " virtual users (add rows, lower the VUs, or set on_exhausted: recycle)");
    }
  }
}

void PlanParser::apply_load_overrides() {
  auto& l = plan_.load;
  if (overrides_.vus) {
    l.vus = *overrides_.vus;
    if (l.is_open_model()) {
      l.max_vus = *overrides_.vus;
      l.pre_allocated_vus = std::min(l.pre_allocated_vus, l.max_vus);
    } else if (l.executor == Executor::ramping_vus) {
      throw Failure{invalid("--vus does not apply to ramping-vus (its stages set the VUs)")};
    }
  }
  if (overrides_.iterations) {
    // As k6: --iterations turns a constant-vus load into shared-iterations.
    if (l.executor == Executor::constant_vus) {
      l.executor = Executor::shared_iterations;
      if (!overrides_.duration) {
        l.duration = std::chrono::minutes(10);
      }
    }
    if (!l.is_iteration_based()) {
      throw Failure{invalid(std::string("--iterations does not apply to ") + to_string(l.executor) +
                            " (use constant-vus, per-vu-iterations or shared-iterations)")};
    }
    l.iterations = *overrides_.iterations;
  }
  if (overrides_.rate) {
    if (l.executor != Executor::constant_arrival_rate) {
      throw Failure{invalid("--rate applies to constant-arrival-rate plans only")};
    }
    l.rate = *overrides_.rate;
  }
  if (overrides_.duration) {
    if (l.executor == Executor::ramping_vus || l.executor == Executor::ramping_arrival_rate) {
      throw Failure{
          invalid("--duration does not apply to ramping executors (their stages set it)")};
    }
    l.duration = *overrides_.duration;
  }
  if (overrides_.threads) {
    l.threads = *overrides_.threads;
  }
  if (overrides_.processes) {
    l.processes = *overrides_.processes;
  }
}

int Plan::peak_vus() const {
  int peak = 0;
  for (const auto& scenario : scenarios) {
    peak += scenario.load.peak_vus();
  }
  return scenarios.empty() ? load.peak_vus() : peak;
}

Duration Plan::total_duration() const {
  Duration total{};
  for (const auto& scenario : scenarios) {
    total = std::max(total, scenario.end());
  }
  return scenarios.empty() ? load.total_duration() : total;
}

int Plan::scenario_index(std::string_view name) const {
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    if (scenarios[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace crest::load
