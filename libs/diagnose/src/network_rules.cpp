// The network rule: time added between the load balancer and a service, seen as the balancer's
// response time for the service's backend rising while the service's own time does not.
#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "diagnosis_rules.hpp"

namespace crest::diagnose::detail {

namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// The median of a series before `onset`, and in [onset, end]; nullopt without samples in both.
struct BeforeAndDuring {
  double before = 0;
  double during = 0;
};
std::optional<BeforeAndDuring> before_and_during(const Series& s, double onset, double end) {
  std::vector<double> before, during;
  for (std::size_t i = 0; i < s.t.size(); ++i) {
    if (s.t[i] < onset) {
      before.push_back(s.v[i]);
    } else if (s.t[i] <= end) {
      during.push_back(s.v[i]);
    }
  }
  if (before.empty() || during.empty()) return std::nullopt;
  return BeforeAndDuring{median_of(std::move(before)), median_of(std::move(during))};
}

std::string ms(double seconds) {
  const double v = seconds * 1000;
  return v >= 10 ? fmt::format("{:.0f} ms", v) : fmt::format("{:.1f} ms", v);
}

}  // namespace

void Rules::network() {
  for (const auto* s : top({Signal::lb_added_latency}, [](auto& x) { return x.increased; })) {
    const std::string& service = s->kind.component;
    const double added = s->peak - s->normal_centre;
    if (added < 0.003) {
      continue;  // a few milliseconds: rounding of the balancer's average (whole ms)
    }
    Cause c{fmt::format("network between the load balancer and {}: +{} per request seen at the "
                        "balancer",
                        service, ms(added)),
            service,
            "network_latency",
            confidence(0.75, s),
            "look at the path between the balancer and the instances (hosts, network, a sidecar "
            "or proxy on it, connection reuse); compare the balancer's time per server to find "
            "the instances affected, and move traffic off them",
            {series_evidence(*s)}};
    for (const auto& series : d_.series) {
      if (series.name == "haproxy_backend_response_time_average_seconds" &&
          series.label("proxy") == service) {
        if (auto lb = before_and_during(series, d_.window.onset, d_.window.end)) {
          c.evidence.push_back({"series",
                                fmt::format("{}: {} before, {} during", series.display_name(),
                                            ms(lb->before), ms(lb->during)),
                                s->peak_t, 0});
        }
      }
    }
    for (const auto& series : d_.series) {
      if (series.name != kOwnMeanSeries || series.label("service") != service) continue;
      auto own = before_and_during(series, d_.window.onset, d_.window.end);
      if (!own) continue;
      const double rise = own->during - own->before;
      if (rise > added / 2) {
        c.confidence =
            std::min(c.confidence, 0.3);  // the service slowed too: not the network alone
        c.title += fmt::format(", though {}'s own time rose too ({} -> {})", service,
                               ms(own->before), ms(own->during));
      } else {
        c.title += fmt::format(", {}'s own handling unchanged ({} -> {})", service, ms(own->before),
                               ms(own->during));
      }
      c.evidence.push_back({"series",
                            fmt::format("{}: {} before, {} during (the service's own time per "
                                        "request)",
                                        series.display_name(), ms(own->before), ms(own->during)),
                            s->peak_t, 0});
    }
    add(std::move(c));
  }
}

}  // namespace crest::diagnose::detail
