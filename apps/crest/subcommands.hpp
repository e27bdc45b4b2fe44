#pragma once
// One function per subcommand; argv[0] is the subcommand's name.
namespace crest::cli {
int run(int argc, char** argv);
int diagnose(int argc, char** argv);
int db(int argc, char** argv);  // crest db top
int report(int argc, char** argv);
int convert(int argc, char** argv);
int profile(int argc, char** argv);
int up(int argc, char** argv);
int down(int argc, char** argv);
int status(int argc, char** argv);
int scale(int argc, char** argv);
int demo(int argc, char** argv);    // crest demo (libs/demo)
int chaos(int argc, char** argv);   // crest chaos list|run|stop|status|scenario
int worker(int argc, char** argv);  // crest worker: a shard of crest run --coordinator
}  // namespace crest::cli
