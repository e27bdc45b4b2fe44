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
    if (s->peak - s->normal_centre < 0.003) {
      continue;  // a few milliseconds: the balancer's average is rounded to whole ones
    }
    std::optional<BeforeAndDuring> at_balancer, own;
    for (const auto& series : d_.series) {
      if (series.label("service") != service) continue;
      if (series.name == kLbRequestSeries) {
        at_balancer = before_and_during(series, d_.window.onset, d_.window.end);
      } else if (series.name == kOwnMeanSeries) {
        own = before_and_during(series, d_.window.onset, d_.window.end);
      }
    }
    // Per request, as the balancer sees it beyond the service's own time.
    const double added =
        at_balancer && own ? at_balancer->during - own->during : s->peak - s->normal_centre;
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
    if (at_balancer) {
      c.evidence.push_back(
          {"series",
           fmt::format("{}{{service=\"{}\"}}: {} before, {} during (per request, recovered "
                       "from haproxy_backend_response_time_average_seconds)",
                       kLbRequestSeries, service, ms(at_balancer->before), ms(at_balancer->during)),
           s->peak_t, 0});
    }
    if (own) {
      if (own->during - own->before > added / 2) {
        c.confidence =
            std::min(c.confidence, 0.3);  // the service slowed too: not the network alone
        c.title += fmt::format(", though {}'s own time rose too ({} -> {})", service,
                               ms(own->before), ms(own->during));
      } else {
        c.title += fmt::format(", {}'s own handling unchanged ({} -> {})", service, ms(own->before),
                               ms(own->during));
      }
      c.evidence.push_back({"series",
                            fmt::format("{}{{service=\"{}\"}}: {} before, {} during (the "
                                        "service's own time per request)",
                                        kOwnMeanSeries, service, ms(own->before), ms(own->during)),
                            s->peak_t, 0});
    }
    add(std::move(c));
  }
}

}  // namespace crest::diagnose::detail
