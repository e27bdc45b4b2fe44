#pragma once
// `crest run PLAN [flags]`: ties plan, engine (or processes) and outputs together.

namespace crest::load {

// Exit 0 on success, 2 on plan or usage errors (nothing sent), 99 when a threshold is breached,
// 105 when interrupted (SIGINT, SIGTERM; k6's code for an external abort), 1 when the run could
// not start.
inline constexpr int kExitInterrupted = 105;
int run_command(int argc, char** argv);

}  // namespace crest::load
