// The YAML plan: variables, data, journeys, the load model (or scenarios) of the thread groups.
#include "jmx_translator_parts.hpp"

namespace crest::jmeter::detail {

std::string Translator::emit() {
  YAML::Node plan;
  YAML::Node target;
  target["base_url"] = target_.value_or("http://127.0.0.1");
  const auto ct = to_number(connect_timeout_);
  const auto rt = to_number(response_timeout_);
  if ((ct && *ct > 0) || (rt && *rt > 0)) {
    YAML::Node timeouts;
    if (ct && *ct > 0) {
      timeouts["connect"] = ms_text(*ct);
    }
    if (rt && *rt > 0) {
      timeouts["request"] = ms_text(*rt);
    }
    target["timeouts"] = timeouts;
  }
  target["cookies"] = cookies_;
  plan["target"] = target;
  if (!variables_.empty() || !vars_.properties.empty()) {
    YAML::Node v(YAML::NodeType::Map);
    for (const auto& [k, val] : variables_) {
      v[k] = val;
    }
    for (const auto& [k, def] : vars_.properties) {
      if (!v[k].IsDefined() || v[k].IsNull()) {
        v[k] = def;
      }
    }
    plan["variables"] = v;
  }
  if (!feeds_.empty()) {
    YAML::Node data;
    for (const auto& f : feeds_) {
      YAML::Node spec;
      spec["file"] = f.file;
      spec["mode"] = "sequential";
      data[f.name] = spec;
    }
    plan["data"] = data;
  }
  YAML::Node journeys(YAML::NodeType::Sequence);
  for (const auto& tg : groups_) {
    YAML::Node j;
    j["name"] = tg.name;
    j["steps"] = tg.steps;
    journeys.push_back(j);
  }
  if (setup_steps_.size() > 0) {
    plan["setup"]["steps"] = setup_steps_;
  }
  plan["journeys"] = journeys;
  if (teardown_steps_.size() > 0) {
    plan["teardown"]["steps"] = teardown_steps_;
  }
  add_load(plan);
  YAML::Emitter out;
  out.SetIndent(2);
  out << plan;
  std::string header = "# Translated by crest convert from " + fs::path(file_).filename().string() +
                       " (docs/jmeter.md).\n";
  return header + out.c_str() + "\n";
}

// A thread group's executor (docs/load.md, executors): an arrival rate when a throughput
// timer sets one, VUs for the scheduler's duration, or per-VU iterations for a loop count.
// `delay_as_start` (scenarios) turns the delay into start_time instead of a stage at 0 VUs.
YAML::Node Translator::executor_for(const ThreadGroupModel& tg, bool delay_as_start) {
  YAML::Node load;
  const auto duration_text = [&](double seconds) { return ms_text(seconds * 1000); };
  if (tg.throughput_per_minute) {
    const double duration = tg.duration_s.value_or(60);
    if (!tg.duration_s) {
      warn(tg.path,
           "an arrival rate needs a duration and the thread group has no scheduler "
           "duration: 60s used (--duration overrides)");
    }
    load["executor"] = "constant-arrival-rate";
    // Samples per minute to iterations per minute: crest's arrivals are iterations.
    load["rate"] = std::round(*tg.throughput_per_minute / std::max(1, tg.samplers) * 1000) / 1000;
    load["time_unit"] = "1m";
    load["duration"] = duration_text(duration);
    load["pre_allocated_vus"] = tg.threads;
    load["max_vus"] = tg.threads;
    if (tg.ramp_s > 0) {
      warn(tg.path, "ramp-up does not apply to an arrival rate; ignored");
    }
  } else if (!tg.duration_s && tg.loops > 0) {
    // JMeter's loop count: each thread runs that many iterations.
    load["executor"] = "per-vu-iterations";
    load["vus"] = tg.threads;
    load["iterations"] = tg.loops;
    if (tg.ramp_s > 0) {
      warn(tg.path, "ramp-up with a loop count: crest starts every VU at once");
    }
  } else {
    double duration = tg.duration_s.value_or(60);
    if (!tg.duration_s) {
      warn(tg.path,
           "loops forever without a scheduler duration: crest runs for a duration; "
           "60s used (--duration overrides)");
    }
    const double delay = delay_as_start ? 0 : tg.delay_s;
    if (tg.ramp_s <= 0 && delay <= 0) {
      load["executor"] = "constant-vus";
      load["vus"] = tg.threads;
      load["duration"] = duration_text(duration);
    } else {
      load["executor"] = "ramping-vus";
      load["start_vus"] = 0;
      YAML::Node stages(YAML::NodeType::Sequence);
      auto stage = [&](double seconds, long long target) {
        YAML::Node st;
        st["duration"] = duration_text(seconds);
        st["target"] = target;
        st.SetStyle(YAML::EmitterStyle::Flow);
        stages.push_back(st);
      };
      if (delay > 0) {
        stage(delay, 0);
      }
      if (tg.ramp_s > 0) {
        stage(std::min(tg.ramp_s, duration), tg.threads);
      }
      if (duration > tg.ramp_s) {
        stage(duration - tg.ramp_s, tg.threads);
      }
      load["stages"] = stages;
    }
  }
  if (delay_as_start && tg.delay_s > 0) {
    load["start_time"] = duration_text(tg.delay_s);
  }
  return load;
}

// One thread group: `load:`. Several run at once in JMeter: one scenario each, running its
// own journey.
void Translator::add_load(YAML::Node& plan) {
  if (groups_.size() == 1) {
    plan["load"] = executor_for(groups_.front(), false);
    return;
  }
  YAML::Node scenarios;
  std::set<std::string> names;
  for (const auto& tg : groups_) {
    auto name = feed_safe_name(tg.name);
    for (int n = 2; names.count(name) > 0; ++n) {
      name = feed_safe_name(tg.name) + std::to_string(n);
    }
    names.insert(name);
    auto scenario = executor_for(tg, true);
    YAML::Node journeys(YAML::NodeType::Sequence);
    journeys.push_back(tg.name);
    journeys.SetStyle(YAML::EmitterStyle::Flow);
    scenario["journeys"] = journeys;
    scenarios[name] = scenario;
  }
  plan["scenarios"] = scenarios;
}

}  // namespace crest::jmeter::detail
