#include "crest/autoscale/response_time.hpp"

#include <map>
#include <nlohmann/json.hpp>

#include "crest/core/rfc3339.hpp"

namespace crest::autoscale {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

milliseconds ScaleUpResponse::breach_to_decision() const {
  return duration_cast<milliseconds>(decision - breach);
}
std::optional<milliseconds> ScaleUpResponse::decision_to_serving() const {
  if (!serving) {
    return std::nullopt;
  }
  return duration_cast<milliseconds>(*serving - decision);
}
std::optional<milliseconds> ScaleUpResponse::breach_to_serving() const {
  if (!serving) {
    return std::nullopt;
  }
  return duration_cast<milliseconds>(*serving - breach);
}

std::optional<Clock::WallTime> parse_rfc3339(const std::string& text) {
  // The event logs are written in UTC with a time ("...T09:00:00.123Z"); core's parser also takes
  // offsets and bare dates, which no event log holds.
  if (text.size() < 20 || text[10] != 'T' || text.back() != 'Z') return std::nullopt;
  const auto seconds = crest::parse_rfc3339(text);
  if (!seconds) return std::nullopt;
  const auto millis =
      std::chrono::round<std::chrono::milliseconds>(std::chrono::duration<double>(*seconds));
  return Clock::WallTime(std::chrono::duration_cast<Clock::WallTime::duration>(millis));
}

namespace {

struct Episode {
  std::optional<ScaleUpResponse> response;  // set once the decision happened
  std::optional<Clock::WallTime> breach;
  int awaiting = 0;  // serving events still expected
};

}  // namespace

Result<std::vector<ScaleUpResponse>> autoscaling_response_times(std::istream& log,
                                                                const std::string& source) {
  std::vector<ScaleUpResponse> done;
  std::map<std::string, Episode> open;
  auto close = [&](const std::string& service) {
    auto it = open.find(service);
    if (it != open.end() && it->second.response) {
      done.push_back(*it->second.response);
    }
    if (it != open.end()) {
      open.erase(it);
    }
  };
  std::string line;
  int number = 0;
  while (std::getline(log, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    const std::string where = source + ":" + std::to_string(number) + ": ";
    const auto event = nlohmann::json::parse(line, nullptr, false);
    if (event.is_discarded() || !event.is_object()) {
      return Error{ErrorKind::invalid_argument, where + "not a JSON object"};
    }
    // Node and stack events have no service (the local stack writes {"kind":"node",...}).
    if (!event.contains("ts") || !event["ts"].is_string() || !event.contains("kind")) {
      return Error{ErrorKind::invalid_argument, where + "needs ts and kind"};
    }
    const auto ts = parse_rfc3339(event["ts"].get<std::string>());
    if (!ts) {
      return Error{ErrorKind::invalid_argument,
                   where + "ts '" + event["ts"].get<std::string>() + "' is not RFC 3339 UTC"};
    }
    const std::string kind = event.value("kind", "");
    const std::string service = event.value("service", "");
    if (kind == "decision") {
      bool breached = false;
      for (const auto& m : event.value("metrics", nlohmann::json::array())) {
        if (m.contains("value") && m["value"].is_number() && m.contains("target") &&
            m["value"].get<double>() > m["target"].get<double>()) {
          breached = true;
        }
      }
      const int current = event.value("current", 0);
      const int desired = event.value("desired", 0);
      Episode& episode = open[service];
      if (!breached && desired <= current) {
        if (!episode.response || episode.awaiting == 0) {
          close(service);
        }
        continue;
      }
      if (!episode.breach) {
        episode.breach = *ts;
      }
      if (desired > current) {
        if (!episode.response) {
          episode.response =
              ScaleUpResponse{service, *episode.breach, *ts, std::nullopt, current, desired, false};
        } else {
          episode.response->to_replicas = desired;
          episode.response->serving.reset();
        }
        episode.awaiting += desired - current;
      }
    } else if (kind == "pod") {
      auto it = open.find(service);
      if (it != open.end() && it->second.response && it->second.awaiting > 0 &&
          event.value("transition", "") == "serving") {
        if (--it->second.awaiting == 0) {
          it->second.response->serving = *ts;
        }
      }
    } else if (kind == "node" && event.value("transition", "") == "requested") {
      for (auto& [name, episode] : open) {
        if (episode.response && episode.awaiting > 0) {
          episode.response->node_provisioned = true;
        }
      }
    }
  }
  for (auto& [name, episode] : open) {
    if (episode.response) {
      done.push_back(*episode.response);
    }
  }
  return done;
}

}  // namespace crest::autoscale
