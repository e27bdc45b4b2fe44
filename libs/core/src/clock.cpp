#include "crest/core/clock.hpp"

namespace crest {

Clock& Clock::system() {
  static SystemClock clock;
  return clock;
}

}  // namespace crest
