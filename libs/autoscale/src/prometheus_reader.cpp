#include "crest/autoscale/prometheus_reader.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "crest/http/client.hpp"

namespace crest::autoscale {
namespace {

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string promql_string(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

std::string regex_escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (std::string_view(".^$*+?()[]{}|\\").find(c) != std::string_view::npos) {
      out += '\\';
    }
    out += c;
  }
  return out;
}

// The series name a seriesQuery selects: the text before '{' (or all of it).
std::string series_of(const std::string& series_query) {
  std::string name = series_query.substr(0, series_query.find('{'));
  while (!name.empty() && name.back() == ' ') {
    name.pop_back();
  }
  return name;
}

}  // namespace

Result<std::vector<AdapterRule>> parse_adapter_rules(std::string_view yaml,
                                                     const std::string& source) {
  std::vector<AdapterRule> out;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    const YAML::Node rules = root["rules"];
    if (!rules) {
      return Error{ErrorKind::invalid_argument, source + ": no 'rules' section"};
    }
    for (const char* section : {"custom", "external"}) {
      const YAML::Node list = rules[section];
      for (std::size_t i = 0; list && i < list.size(); ++i) {
        const YAML::Node rule = list[i];
        const std::string where = source + ":" + std::to_string(rule.Mark().line + 1) + ": rules." +
                                  section + "[" + std::to_string(i) + "]";
        if (!rule["seriesQuery"] || !rule["metricsQuery"]) {
          return Error{ErrorKind::invalid_argument,
                       where + ": seriesQuery and metricsQuery are required"};
        }
        AdapterRule r;
        r.series = series_of(rule["seriesQuery"].as<std::string>());
        r.metrics_query = rule["metricsQuery"].as<std::string>();
        r.external = std::string_view(section) == "external";
        r.name = r.series;
        if (const YAML::Node name = rule["name"]) {
          if (name["as"]) {
            r.name = name["as"].as<std::string>();
          }
          if (name["matches"]) {
            const std::regex matches(name["matches"].as<std::string>());
            if (!std::regex_search(r.series, matches)) {
              return Error{ErrorKind::invalid_argument,
                           where + ".name.matches: does not match series '" + r.series + "'"};
            }
          }
        }
        out.push_back(std::move(r));
      }
    }
  } catch (const YAML::Exception& e) {
    return Error{ErrorKind::invalid_argument,
                 source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
  } catch (const std::regex_error& e) {
    return Error{ErrorKind::invalid_argument, source + ": invalid name.matches: " + e.what()};
  }
  return out;
}

Result<std::vector<AdapterRule>> read_adapter_rules(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Error{ErrorKind::not_found, "cannot read Prometheus Adapter values '" + path + "'"};
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_adapter_rules(text.str(), path);
}

PrometheusMetricsReader::PrometheusMetricsReader(std::vector<AdapterRule> rules,
                                                 PrometheusReaderOptions options)
    : rules_(std::move(rules)), options_(std::move(options)) {
  http::ClientOptions client;
  client.connect_timeout = options_.timeout;
  client.request_timeout = options_.timeout;
  client_ = std::make_unique<http::HttpClient>(options_.host, options_.port, client);
}

PrometheusMetricsReader::~PrometheusMetricsReader() = default;

namespace {

std::string fill(std::string query, const std::string& series, const std::string& matchers,
                 const std::string& group_by, const std::optional<std::string>& window) {
  query = replace_all(std::move(query), "<<.Series>>", series);
  query = replace_all(std::move(query), "<<.LabelMatchers>>", matchers);
  query = replace_all(std::move(query), "<<.GroupBy>>", group_by);
  if (window) {
    static const std::regex range(R"(\[[0-9]+[smhd]\])");
    query = std::regex_replace(query, range, "[" + *window + "]");
  }
  return query;
}

}  // namespace

Result<std::string> PrometheusMetricsReader::instance_query(
    const std::vector<std::string>& instances, const MetricQuery& metric) const {
  std::string matchers;
  for (const auto& [label, value] : options_.matchers) {
    matchers += label + "=" + promql_string(value) + ",";
  }
  std::string names;
  for (const auto& instance : instances) {
    names += (names.empty() ? "" : "|") + regex_escape(instance);
  }
  matchers += options_.pod_label + "=~" + promql_string(names);
  if (metric.type == MetricSourceType::resource) {
    if (metric.name == "cpu") {
      return fill(options_.cpu_query, "", matchers, options_.pod_label, options_.rate_window);
    }
    if (metric.name == "memory") {
      return fill(options_.memory_query, "", matchers, options_.pod_label, options_.rate_window);
    }
    return Error{ErrorKind::invalid_argument, "resource '" + metric.name + "' is not supported"};
  }
  for (const auto& rule : rules_) {
    if (!rule.external && rule.name == metric.name) {
      return fill(rule.metrics_query, rule.series, matchers, options_.pod_label,
                  options_.rate_window);
    }
  }
  return Error{ErrorKind::not_found,
               "no Prometheus Adapter custom rule serves pods metric '" + metric.name + "'"};
}

Result<std::string> PrometheusMetricsReader::external_query(const MetricQuery& metric) const {
  for (const auto& rule : rules_) {
    if (rule.external && rule.name == metric.name) {
      std::map<std::string, std::string> labels = options_.matchers;
      for (const auto& [label, value] : metric.selector) {
        labels[label] = value;
      }
      std::string matchers;
      for (const auto& [label, value] : labels) {
        matchers += (matchers.empty() ? "" : ",") + label + "=" + promql_string(value);
      }
      return fill(rule.metrics_query, rule.series, matchers, "", options_.rate_window);
    }
  }
  return Error{ErrorKind::not_found,
               "no Prometheus Adapter external rule serves metric '" + metric.name + "'"};
}

Result<std::vector<PrometheusMetricsReader::Sample>> PrometheusMetricsReader::run(
    const std::string& promql) {
  http::ClientRequest request;
  request.target = "/api/v1/query?query=" + http::url_encode(promql);
  Result<http::Response> response = Error{};
  {
    std::lock_guard lock(mutex_);
    response = client_->send(request);
  }
  if (!response) {
    return Error{response.error().kind, "Prometheus at " + options_.host + ":" +
                                            std::to_string(options_.port) + ": " +
                                            response.error().message};
  }
  const auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return Error{ErrorKind::unavailable, "Prometheus answered " + std::to_string(response->status) +
                                             " with a body that is not JSON"};
  }
  if (body.value("status", "") != "success") {
    return Error{ErrorKind::unavailable, "Prometheus query failed (" +
                                             body.value("errorType", "?") +
                                             "): " + body.value("error", "") + " in: " + promql};
  }
  try {
    return samples_of(body.at("data"));
  } catch (const nlohmann::json::exception& e) {
    return Error{ErrorKind::unavailable, std::string("unexpected Prometheus answer: ") + e.what()};
  }
}

std::vector<PrometheusMetricsReader::Sample> PrometheusMetricsReader::samples_of(
    const nlohmann::json& data) {
  std::vector<Sample> out;
  if (data.value("resultType", "") == "scalar") {
    out.push_back({{}, std::strtod(data.at("result").at(1).get<std::string>().c_str(), nullptr)});
    return out;
  }
  for (const auto& item : data.at("result")) {
    Sample sample;
    for (const auto& [label, value] : item.at("metric").items()) {
      sample.labels[label] = value.get<std::string>();
    }
    sample.value = std::strtod(item.at("value").at(1).get<std::string>().c_str(), nullptr);
    out.push_back(std::move(sample));
  }
  return out;
}

Result<InstanceValues> PrometheusMetricsReader::instance_values(
    const std::string& /*workload*/, const std::vector<std::string>& instances,
    const MetricQuery& metric) {
  if (instances.empty()) {
    return InstanceValues{};
  }
  auto query = instance_query(instances, metric);
  if (!query) {
    return query.error();
  }
  auto samples = run(*query);
  if (!samples) {
    return samples.error();
  }
  InstanceValues out;
  for (const auto& sample : *samples) {
    auto it = sample.labels.find(options_.pod_label);
    // NaN: a quantile over no requests; no value, as the adapter would report none.
    if (it != sample.labels.end() && std::isfinite(sample.value)) {
      out[it->second] = sample.value;
    }
  }
  return out;
}

Result<double> PrometheusMetricsReader::external_value(const MetricQuery& metric) {
  auto query = external_query(metric);
  if (!query) {
    return query.error();
  }
  auto samples = run(*query);
  if (!samples) {
    return samples.error();
  }
  double total = 0;
  int counted = 0;
  for (const auto& sample : *samples) {
    if (std::isfinite(sample.value)) {
      total += sample.value;
      ++counted;
    }
  }
  if (counted == 0) {
    return Error{ErrorKind::unavailable,
                 "no series for external metric '" + metric.name + "' (query: " + *query + ")"};
  }
  return total;
}

}  // namespace crest::autoscale
