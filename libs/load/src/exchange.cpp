// One request and its response over a VU's Connection: connect when needed, send, read and parse,
// retry once on a keep-alive connection the server had closed. The hot path: no exceptions, no
// per-request allocation once a VU's buffers have grown.
#include <cerrno>

#include "engine_state.hpp"
#include "request_writer.hpp"

namespace crest::load {
namespace {

FailureKind classify(int err, bool timed_out) {
  if (timed_out) {
    return FailureKind::timeout;
  }
  if (err == ECONNREFUSED) {
    return FailureKind::connect_refused;
  }
  if (err == kTlsFailure) {
    return FailureKind::tls;
  }
  return FailureKind::reset;
}

}  // namespace

void Engine::arm(VirtualUser& vu, Connection& connection, TimePoint now,
                 SteadyClock::duration timeout) {
  vu.deadline = now + timeout;
  vu.deadline_connection = &connection;
}

void Engine::disarm(VirtualUser& vu) {
  vu.deadline = kNoDeadline;
  vu.deadline_connection = nullptr;
}

io::Task<void> Engine::connect(EventLoop& loop, VirtualUser& vu, Connection& connection, int origin,
                               Sample& sample) {
  const auto& endpoint = (*endpoints)[static_cast<std::size_t>(origin)];
  const int source_address =
      source_addresses > 1 && endpoint.loopback_v4
          ? static_cast<int>(1 + vu.index % static_cast<std::uint64_t>(source_addresses))
          : 0;
  const auto started = SteadyClock::now();
  vu.timed_out = false;
  arm(vu, connection, started, plan.connect_timeout);
  const ConnectFailure failure = co_await connection.connect(loop.io, endpoint, source_address);
  disarm(vu);
  switch (failure) {
    case ConnectFailure::none:
      sample.connect += SteadyClock::now() - started;
      sample.connected = true;
      break;
    case ConnectFailure::no_socket:
      sample.failure = FailureKind::connect_error;
      break;
    case ConnectFailure::refused:
    case ConnectFailure::failed:
      sample.failure = vu.timed_out                         ? FailureKind::timeout
                       : failure == ConnectFailure::refused ? FailureKind::connect_refused
                                                            : FailureKind::connect_error;
      break;
    case ConnectFailure::tls:
      sample.failure = vu.timed_out ? FailureKind::timeout : FailureKind::tls;
      break;
  }
}

io::Task<void> Engine::exchange(EventLoop& loop, VirtualUser& vu, const Step& step,
                                Sample& sample) {
  const RenderContext context{vu.vars, vu.rng, vu.index + 1, vu.iteration};
  std::string_view bad_header;
  const bool sendable = write_request(plan, step, context, plan.cookies ? &vu.jar : nullptr,
                                      vu.request, vu.body, &bad_header);
  if (jtl.is_open()) {
    sample.wall_start = std::chrono::system_clock::now();
  }
  if (!sendable) {
    sample.failure = FailureKind::invalid_request;
    sample.message = "a header value contains CR or LF (not sent)";
    note_once(step, FailureKind::invalid_request, [&] {
      return "step '" + step.name + "': the value of header '" + std::string(bad_header) +
             "' contains CR or LF; the request was not sent (failed sample invalid_request)";
    });
    co_return;
  }
  const auto start_t = SteadyClock::now();
  auto& connection = *vu.connections[static_cast<std::size_t>(step.origin)];
  const bool head = step.method == "HEAD";
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = connection.is_open();
    if (!reused) {
      co_await connect(loop, vu, connection, step.origin, sample);
      if (sample.failure != FailureKind::none || vu.share->aborted) {
        sample.service = SteadyClock::now() - start_t;
        co_return;
      }
    }
    vu.timed_out = false;
    arm(vu, connection, reused ? start_t : SteadyClock::now(),
        step.timeout.count() > 0 ? step.timeout : plan.request_timeout);
    // The request almost always goes out in one non-blocking write: no coroutine frame for it.
    // Partial writes take the general path.
    int err = 0;
    const long written = connection.write_some(vu.request);
    if (written < 0 && written != Connection::kWouldBlock) {
      err = static_cast<int>(-written);
    } else {
      const auto done = written > 0 ? static_cast<std::size_t>(written) : 0;
      if (done < vu.request.size()) {
        err = co_await connection.write_rest(loop.io, std::string_view(vu.request).substr(done));
      }
    }
    if (err != 0) {
      disarm(vu);
      connection.close(loop.io);
      if (reused && attempt == 0 && !vu.timed_out && !vu.share->aborted) {
        continue;  // a keep-alive connection the server had closed: reconnect once
      }
      sample.failure = classify(err, vu.timed_out);
      sample.service = SteadyClock::now() - start_t;
      co_return;
    }
    sample.sent = vu.request.size();
    vu.response.clear();
    vu.parser.reset(head);
    bool got_any = false;
    bool retry = false;
    TimePoint read_at{};  // when the last bytes arrived: one clock read per read
    for (;;) {
      const auto space = vu.response.space();
      if (space.empty()) {
        connection.close(loop.io);
        sample.failure = FailureKind::protocol;
        sample.message = "response larger than 64 MiB";
        break;
      }
      long n = connection.read_some(space);
      if (n == Connection::kWouldBlock) {
        n = -(co_await connection.wait(loop.io));  // 0 once ready, -ECANCELED
        if (n == 0) {
          continue;
        }
      }
      if (n == 0) {  // the end of the stream
        if (got_any && vu.parser.finish_on_eof(vu.response) == ResponseParser::Status::done) {
          connection.close(loop.io);
          break;
        }
        connection.close(loop.io);
        if (!got_any && reused && attempt == 0 && !vu.share->aborted) {
          retry = true;
          break;
        }
        sample.failure = FailureKind::reset;
        break;
      }
      if (n < 0) {
        const bool was_reset = n == -ECONNRESET;
        connection.close(loop.io);
        if (!got_any && reused && attempt == 0 && was_reset && !vu.timed_out &&
            !vu.share->aborted) {
          retry = true;
          break;
        }
        sample.failure = classify(static_cast<int>(-n), vu.timed_out);
        break;
      }
      vu.response.commit(static_cast<std::size_t>(n));
      read_at = SteadyClock::now();
      if (!got_any) {
        got_any = true;
        sample.ttfb = read_at - start_t;
      }
      const auto status = vu.parser.parse(vu.response);
      if (status == ResponseParser::Status::done) {
        if (!vu.parser.keep_alive()) {
          connection.close(loop.io);
        }
        break;
      }
      if (status == ResponseParser::Status::error) {
        connection.close(loop.io);
        sample.failure = FailureKind::protocol;
        sample.message = vu.parser.error();
        break;
      }
    }
    disarm(vu);
    if (retry) {
      continue;
    }
    sample.received = vu.response.size();
    sample.service = (sample.failure == FailureKind::none ? read_at : SteadyClock::now()) - start_t;
    if (sample.failure == FailureKind::none) {
      sample.got_response = true;
      sample.status = vu.parser.status();
    }
    co_return;
  }
  sample.service = SteadyClock::now() - start_t;
  if (sample.failure == FailureKind::none) {
    sample.failure = FailureKind::reset;
  }
}

}  // namespace crest::load
