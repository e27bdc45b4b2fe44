#pragma once
// The domain rules of a diagnosis: they read the top of the ranking (never the chaos log) and turn
// it into named causes with evidence, a confidence and a remedy. One class, its rules grouped by
// what they look at: compute and scaling (diagnosis_rules.cpp), data stores (data_rules.cpp),
// queues and dependencies (dependency_rules.cpp).
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crest/diagnose/diagnosis.hpp"

namespace crest::diagnose::detail {

std::string num(double v);
std::string clock_of(double t);
Evidence series_evidence(const ScoredSeries& s);
bool is_slo(const ScoredSeries& s);

class Rules {
 public:
  Rules(Diagnosis& d, const Inputs& in, const DiagnoseOptions& options);
  void run();

 private:
  // The top series matching, in rank order.
  std::vector<const ScoredSeries*> top(std::initializer_list<Signal> signals,
                                       std::function<bool(const ScoredSeries&)> extra = {}) const;
  // Any scored series (not only the top) of `signal` for `component`.
  const ScoredSeries* any(Signal signal, const std::string& component,
                          std::function<bool(const ScoredSeries&)> extra = {}) const;
  std::size_t rank(const ScoredSeries* s) const;
  double confidence(double base, const ScoredSeries* main) const;
  bool has_cause(const std::string& component, const std::string& mechanism = "") const;
  // A scaling event that bears on the window: from 30 s before its onset (a decision acts some
  // seconds later) to `after` seconds past its end.
  bool near_window(double t, double after = 0) const;
  void add_logs(Cause& c, const std::string& service) const;
  void add(Cause c);
  void scaling();
  bool at_max(const std::string& service, std::string& note);
  void cpu();
  void memory_and_restarts();
  void database();
  void replicas();
  void cache();
  void queues();
  void dynamodb();
  void downstream();
  void pool_wait();
  void network();  // network_rules.cpp

  // Scaling: at max replicas, or a scale-up that came long after the onset.
  struct ScaleFacts {
    std::optional<double> max;
    bool at_max = false;
    bool disabled = false;  // a decision in the window with its scaling off (ScalingDisabled)
    std::optional<double> decided_after_s;  // first scale-up decision after the onset
    std::optional<double> ready_after_s;    // current reached that decision's desired count
    bool never_caught_up = false;
    std::vector<Evidence> events;
  };
  std::map<std::string, ScaleFacts> scale_;

  Diagnosis& d_;
  const Inputs& in_;
  std::vector<const ScoredSeries*> top_;
};

}  // namespace crest::diagnose::detail
