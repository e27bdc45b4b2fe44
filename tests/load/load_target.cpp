// crest_load_target: the test target as a program, for benchmarks and manual runs.
//   crest_load_target [--port N] [--threads N] [--mode normal|reset|silent]
//                     [--stall-every-ms N --stall-for-ms N] [--duration-s N]
// Prints "port N" once listening; exits after --duration-s (default 600) or on SIGTERM/SIGINT.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "load_target.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) {
  g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  crest::testing::LoadTarget::Options o;
  int duration_s = 600;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--port") {
      o.port = static_cast<unsigned short>(std::stoi(v));
    } else if (k == "--threads") {
      o.threads = std::stoi(v);
    } else if (k == "--mode") {
      o.mode = v == "reset"    ? crest::testing::LoadTarget::Mode::reset
               : v == "silent" ? crest::testing::LoadTarget::Mode::silent
                               : crest::testing::LoadTarget::Mode::normal;
    } else if (k == "--stall-every-ms") {
      o.stall_every = std::chrono::milliseconds(std::stoi(v));
    } else if (k == "--stall-for-ms") {
      o.stall_for = std::chrono::milliseconds(std::stoi(v));
    } else if (k == "--duration-s") {
      duration_s = std::stoi(v);
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  crest::testing::LoadTarget target(o);
  std::printf("port %u\n", target.port());
  std::fflush(stdout);
  for (int i = 0; i < duration_s * 10 && g_stop == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  target.stop();
  return 0;
}
