#pragma once
// `crest worker --coordinator HOST:PORT`: one worker of a coordinated run (coordinator.hpp).

namespace crest::load {

// Connects (retrying until --connect-timeout), proves it holds the token, receives its shard,
// runs it as a `crest run --shard` process at the shared start time and relays that process's
// reports; the coordinator's stop and abort reach it as SIGTERM and SIGUSR1. Exit 0 when the
// shard ran, 1 when it could not (refused, coordinator lost, run failed), 2 on usage errors,
// 105 when interrupted before the run started.
int worker_command(int argc, char** argv);

}  // namespace crest::load
