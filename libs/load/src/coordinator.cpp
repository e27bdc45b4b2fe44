#include "crest/load/coordinator.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "coordinator_socket.hpp"
#include "crest/load/wire.hpp"
#include "shard_merger.hpp"

namespace crest::load {
namespace {

using Clock = std::chrono::steady_clock;

std::optional<std::string> read_whole(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) {
    return std::nullopt;
  }
  return s.str();
}

// One connection, from accept to the end of the run.
struct Worker {
  int fd = -1;
  std::string peer;
  std::string name;  // from its hello
  std::string nonce;
  int cores = 0;
  bool joined = false;
  int shard = -1;
  bool done = false;  // sent its result, or was given up
  std::string inbox;
  Clock::time_point since;
  Clock::time_point last_heard;

  std::string label() const {
    return name.empty() ? "from " + peer : fmt::format("'{}' ({})", name, peer);
  }
  void close() {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
};

// Reads what is waiting; false once the peer has closed (or the connection failed).
bool read_some(Worker& w) {
  char buf[1 << 16];
  for (;;) {
    const auto got = ::recv(w.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (got > 0) {
      w.inbox.append(buf, static_cast<std::size_t>(got));
      w.last_heard = Clock::now();
      continue;
    }
    if (got < 0 && errno == EINTR) {
      continue;
    }
    return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

std::string seconds(double s) {
  return fmt::format("{:g}s", s);
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> plan_data_files(
    const std::string& plan_path) {
  std::vector<std::pair<std::string, std::string>> files;
  YAML::Node root;
  try {
    root = YAML::LoadFile(plan_path);
  } catch (const YAML::Exception& e) {
    return Error{ErrorKind::invalid_argument, fmt::format("{}: {}", plan_path, e.what())};
  }
  const auto data = root.IsMap() ? root["data"] : YAML::Node();
  if (!data || !data.IsMap()) {
    return files;
  }
  const auto dir = std::filesystem::path(plan_path).parent_path();
  for (const auto& feed : data) {
    const auto file = feed.second.IsMap() ? feed.second["file"] : YAML::Node();
    if (!file || !file.IsScalar()) {
      continue;  // the plan parser has already said what is wrong with it
    }
    const auto written = file.as<std::string>();
    const auto where = fmt::format("{}:{}: data.{}.file", plan_path, file.Mark().line + 1,
                                   feed.first.as<std::string>());
    if (std::filesystem::path(written).is_absolute()) {
      return Error{ErrorKind::invalid_argument,
                   fmt::format("{}: a coordinated run ships data files to its workers, so the "
                               "path must be relative to the plan (got {})",
                               where, written)};
    }
    auto contents = read_whole(dir / written);
    if (!contents) {
      return Error{ErrorKind::invalid_argument,
                   fmt::format("{}: cannot read {}", where, (dir / written).string())};
    }
    files.emplace_back(written, std::move(*contents));
  }
  return files;
}

RunResult run_coordinator(const Plan& plan, const CoordinatorOptions& o) {
  const int n = std::max(1, o.workers);
  RunResult result;
  result.workers = n;
  auto say = [&](const std::string& line) {
    if (o.log) {
      o.log(line);
    }
  };
  const auto plan_text = read_whole(o.plan_path);
  if (!plan_text) {
    result.error = "cannot read " + o.plan_path;
    return result;
  }
  auto files = plan_data_files(o.plan_path);
  if (!files.ok()) {
    result.error = files.error().message;
    return result;
  }
  auto at = crest::parse_host_port(o.listen, kListenAddress);
  if (!at.ok()) {
    result.error = "--coordinator: " + at.error().message;
    return result;
  }
  auto listener = listen_tcp(*at);
  if (!listener.ok()) {
    result.error = listener.error().message;
    return result;
  }
  const int listen_fd = listener->fd;
  say(fmt::format("coordinator listening on {}: waiting up to {} for {} worker(s)", listener->bound,
                  seconds(o.wait_for_workers_s), n));

  std::vector<std::unique_ptr<Worker>> conns;
  auto refuse = [&](Worker& w, const std::string& reason) {
    ControlFrame f;
    f.kind = ControlFrame::Kind::refuse;
    f.reason = reason;
    send_all(w.fd, encode_control_frame(f), 1.0);
    say(fmt::format("refused a worker {}: {}", w.label(), reason));
    w.close();
  };
  auto joined_count = [&] {
    return std::count_if(conns.begin(), conns.end(),
                         [](const auto& w) { return w->joined && w->fd >= 0; });
  };
  auto poll_all = [&](int timeout_ms) {
    std::vector<pollfd> pfds;
    pfds.push_back(pollfd{listen_fd, POLLIN, 0});
    for (const auto& w : conns) {
      pfds.push_back(pollfd{w->fd, static_cast<short>(w->fd >= 0 ? POLLIN : 0), 0});
    }
    ::poll(pfds.data(), pfds.size(), timeout_ms);
  };
  auto prune = [&] { std::erase_if(conns, [](const auto& w) { return w->fd < 0 && !w->joined; }); };

  // Gathering: admit workers that prove they hold the token, until N have joined.
  const auto deadline = Clock::now() + std::chrono::duration<double>(o.wait_for_workers_s);
  while (result.error.empty() && joined_count() < n) {
    if (o.stop != nullptr && o.stop->load()) {
      result.error = "interrupted while waiting for workers";
      break;
    }
    poll_all(100);
    const auto now = Clock::now();
    std::string peer;
    for (int fd = -1; (fd = accept_tcp(listen_fd, &peer)) >= 0;) {
      auto& w = *conns.emplace_back(std::make_unique<Worker>());
      w.fd = fd;
      w.peer = peer;
      w.nonce = random_hex(16);
      w.since = now;
      ControlFrame challenge;
      challenge.kind = ControlFrame::Kind::challenge;
      challenge.nonce = w.nonce;
      if (!send_all(fd, encode_control_frame(challenge), 1.0)) {
        w.close();
      }
    }
    for (auto& wp : conns) {
      auto& w = *wp;
      if (w.fd < 0) {
        continue;
      }
      const bool open = read_some(w);
      if (w.joined) {
        if (!open || !w.inbox.empty()) {
          say(fmt::format("worker {} left before the run started", w.label()));
          w.close();
          w.joined = false;
        }
        continue;
      }
      std::string_view view(w.inbox);
      ControlFrame hello;
      const auto status = decode_control_frame(view, hello);
      if (status == FrameStatus::malformed ||
          (status == FrameStatus::complete && hello.kind != ControlFrame::Kind::hello)) {
        refuse(w, "not a crest worker (its first message is not a hello)");
        continue;
      }
      if (status == FrameStatus::incomplete) {
        if (!open) {
          w.close();
        } else if (now - w.since > std::chrono::duration<double>(o.hello_timeout_s)) {
          refuse(w, "no hello within " + seconds(o.hello_timeout_s));
        }
        continue;
      }
      w.inbox.erase(0, w.inbox.size() - view.size());
      w.name = hello.worker;
      if (!same_mac(hello.mac, worker_mac(o.token, w.nonce, hello.worker))) {
        refuse(w, "wrong token");
        continue;
      }
      const bool twice = std::any_of(conns.begin(), conns.end(), [&](const auto& other) {
        return other.get() != &w && other->joined && other->fd >= 0 && other->name == w.name;
      });
      if (twice) {
        refuse(w, fmt::format("a worker named '{}' is already connected", w.name));
        continue;
      }
      w.joined = true;
      w.cores = hello.cores;
      w.last_heard = now;
      say(fmt::format("worker {} joined ({}/{})", w.label(), joined_count(), n));
    }
    prune();
    if (joined_count() < n && Clock::now() > deadline) {
      std::string names;
      for (const auto& w : conns) {
        if (w->joined && w->fd >= 0) {
          names += (names.empty() ? " (joined: " : ", ") + w->name;
        }
      }
      result.error = fmt::format("{} of {} worker(s) joined within {}{}{}", joined_count(), n,
                                 seconds(o.wait_for_workers_s), names, names.empty() ? "" : ")");
    }
  }
  std::erase_if(conns, [](const auto& w) { return w->fd < 0; });
  if (!result.error.empty()) {
    for (auto& w : conns) {
      refuse(*w, "the run did not start: " + result.error);
    }
    ::close(listen_fd);
    return result;
  }
  std::vector<Worker*> workers;
  for (auto& w : conns) {
    if (w->joined) {
      workers.push_back(w.get());
    } else {
      refuse(*w, fmt::format("the run has its {} worker(s)", n));
    }
  }

  // Hand-off: every worker its shard, one start time for all.
  int threads = o.threads;
  if (threads <= 0) {
    threads = (*std::min_element(workers.begin(), workers.end(), [](auto* a, auto* b) {
                return a->cores < b->cores;
              }))->cores;
  }
  ControlFrame shard;
  shard.kind = ControlFrame::Kind::shard;
  shard.shard_count = n;
  shard.plan_name = std::filesystem::path(o.plan_path).filename().string();
  shard.plan_text = *plan_text;
  shard.args = o.run_args;
  shard.args.insert(shard.args.end(), {"--threads", std::to_string(threads)});
  shard.files = std::move(*files);
  shard.start_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() +
                        static_cast<std::int64_t>(o.start_delay_s * 1000);
  result.start_unix_ms = shard.start_unix_ms;
  std::string failure;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    auto& w = *workers[i];
    w.shard = static_cast<int>(i);
    shard.shard_index = w.shard;
    if (!send_all(w.fd, encode_control_frame(shard), 30.0)) {
      failure = fmt::format("cannot send worker {} its shard", w.label());
      break;
    }
    w.last_heard = Clock::now();
  }
  say(fmt::format("started {} worker(s), {} event loop(s) each", n, threads));

  // The run: merge the workers' reports second by second.
  ShardMerger merger(plan, n, o.on_tick, o.should_abort);
  auto broadcast = [&](ControlFrame::Kind kind) {
    ControlFrame f;
    f.kind = kind;
    const auto bytes = encode_control_frame(f);
    for (auto* w : workers) {
      if (w->fd >= 0 && !w->done) {
        send_all(w->fd, bytes, 1.0);
      }
    }
  };
  auto describe = [&](const Worker& w) {
    return fmt::format("worker {} (shard {}/{})", w.label(), w.shard, n);
  };
  auto lose = [&](Worker& w, const std::string& why) {
    w.close();
    w.done = true;
    const auto what = describe(w) + ": " + why;
    if (o.tolerate_lost_workers) {
      result.lost_workers.push_back(what);
      merger.give_up(w.shard);
      say("lost " + what + "; the run goes on without it (the result is partial)");
    } else if (failure.empty()) {
      failure = what;
    }
  };
  bool stop_sent = false;
  while (failure.empty() &&
         !std::all_of(workers.begin(), workers.end(), [](auto* w) { return w->done; })) {
    if (o.stop != nullptr && o.stop->load() && !stop_sent) {
      stop_sent = true;
      broadcast(ControlFrame::Kind::stop);
    }
    poll_all(100);
    std::string peer;
    for (int fd = -1; (fd = accept_tcp(listen_fd, &peer)) >= 0;) {
      Worker late;
      late.fd = fd;
      late.peer = peer;
      refuse(late, fmt::format("the run has started with its {} worker(s)", n));
    }
    const auto now = Clock::now();
    for (auto* wp : workers) {
      auto& w = *wp;
      if (w.done) {
        continue;
      }
      const bool open = read_some(w);
      if (auto wrong = merger.take_frames(w.shard, w.inbox); !wrong.empty()) {
        lose(w, wrong);
      } else if (const auto& r = merger.result(w.shard)) {
        w.done = true;
        w.close();
        if (!r->error.empty() && failure.empty()) {
          failure = describe(w) + ": " + r->error;
        }
      }
      if (w.done) {
        continue;
      }
      if (!open) {
        lose(w, "was lost: its connection closed before its result");
      } else if (now - w.last_heard > std::chrono::duration<double>(o.silence_timeout_s)) {
        lose(w, "was lost: sent nothing for " + seconds(o.silence_timeout_s));
      }
    }
    if (!failure.empty()) {
      break;
    }
    bool abort_now = false;
    int bad = -1;
    if (auto wrong = merger.emit_ready(&abort_now, &bad); !wrong.empty()) {
      failure = describe(*workers[static_cast<std::size_t>(bad)]) + ": " + wrong;
      break;
    }
    if (abort_now) {
      broadcast(ControlFrame::Kind::abort);
    }
  }
  if (!failure.empty()) {
    broadcast(ControlFrame::Kind::abort);  // nobody runs on for a run that has failed
  }
  for (auto* w : workers) {
    w->close();
  }
  ::close(listen_fd);
  if (failure.empty() && static_cast<int>(result.lost_workers.size()) == n) {
    failure = "every worker was lost";
  }
  if (!failure.empty()) {
    result.error = failure;
    return result;
  }
  merger.finish(result);
  return result;
}

}  // namespace crest::load
