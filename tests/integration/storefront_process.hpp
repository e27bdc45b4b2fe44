#pragma once
// Runs the storefront binary as a child process on a free loopback port, and stops it by pid.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace crest::testing {

class StorefrontProcess {
 public:
  explicit StorefrontProcess(std::vector<std::string> args) {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("crest-it-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    std::filesystem::create_directories(dir_);
    const auto port_file = (dir_ / "port").string();
    log_path_ = (dir_ / "storefront.log").string();
    args.insert(args.begin(), CREST_STOREFRONT_BINARY);
    args.push_back("--port");
    args.push_back("0");
    args.push_back("--port-file");
    args.push_back(port_file);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log_path_.c_str(), "w", stdout);
      std::freopen(log_path_.c_str(), "a", stderr);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(port_file);
      if (in >> port_ && port_ > 0) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("storefront exited during start-up; log: " + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("storefront did not start within 30 s; log: " + log());
  }

  ~StorefrontProcess() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  StorefrontProcess(const StorefrontProcess&) = delete;
  StorefrontProcess& operator=(const StorefrontProcess&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string dir() const { return dir_.string(); }

  // Sends `signal` and waits up to `timeout` for the exit status; -1 if it had to be killed.
  int stop(int signal = SIGTERM, std::chrono::seconds timeout = std::chrono::seconds(15)) {
    if (pid_ <= 0) return exit_status_;
    ::kill(pid_, signal);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        exit_status_ = -1;
        return exit_status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_status_;
  }

  std::string log() const {
    std::ifstream in(log_path_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::filesystem::path dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int exit_status_ = -1;
};

}  // namespace crest::testing
