// The esgw-server container image (deploy/Dockerfile), checked without a container engine. The
// image is FROM scratch and holds only what scripts/runtime-rootfs.sh writes, so this suite runs
// that script on the built esgw-server and checks
//  - the tree: the binary, its ELF interpreter and every library ldd lists, byte for byte; the
//    CA bundle libcurl is built to read; the esgw user; a writable /tmp; and that every file the
//    server maps while it serves on the host is in the tree (dlopen is invisible to ldd);
//  - deploy/Dockerfile and .dockerignore: the runtime stage copies exactly the script's output,
//    USER, ENTRYPOINT, CMD against EXPOSE and against the binary's flags, labels, layer order,
//    and a build context that keeps build trees out and every source in;
//  - as root: esgw-server run from inside the tree as a container runtime would run it (chroot,
//    uid 10001, an empty environment and, where the kernel allows, PID 1 of its own PID namespace
//    with /proc), in front of a dev cluster: health, Search over http and https, /metrics, and a
//    clean exit 0 on SIGTERM.
#include <elf.h>
#include <fnmatch.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "pool/status_macros.h"
#include "tests/devcluster/blocking_http_client.h"
#include "tests/devcluster/json.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/prom_text.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"
#include "tests/support/wait.h"

// <resolv.h>, which httplib.h includes, defines p_type as a macro; here it is <elf.h>'s field.
#undef p_type

namespace esgw {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::WaitFor;

// Where the image runs the server, and as whom: what deploy/Dockerfile and the script promise.
constexpr char kImageBinary[] = "/usr/local/bin/esgw-server";
constexpr int kImageUid = 10001;
constexpr int kImageGid = 10001;
// A name only the image's /etc/hosts knows (.invalid never resolves in DNS), so a Search that
// reaches it proves name lookups work inside the image.
constexpr char kEsHostName[] = "es-seed.invalid";

std::string SourcePath(absl::string_view relative) {
  return absl::StrCat(ESGW_SOURCE_DIR, "/", relative);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status WriteFile(const std::string& path, const std::string& text,
                       std::ios::openmode mode = std::ios::trunc) {
  std::ofstream out(path, std::ios::binary | mode);
  out << text;
  out.close();
  return out ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot write ", path));
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs argv to its end (at most `timeout`). DEADLINE_EXCEEDED with the output when it hangs.
absl::StatusOr<CommandResult> RunCommand(std::vector<std::string> argv,
                                         std::vector<std::pair<std::string, std::string>> env = {},
                                         absl::Duration timeout = absl::Seconds(60)) {
  ESGW_ASSIGN_OR_RETURN(std::unique_ptr<testing::Subprocess> process,
                        testing::Subprocess::Start(std::move(argv), std::move(env)));
  absl::StatusOr<int> code = process->Wait(timeout);
  if (!code.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat(code.status().message(), "; its output so far:\n", process->Log()));
  }
  return CommandResult{*code, process->Log()};
}

// A system program by name: PATH, then the sbin directories a test runner's PATH may lack.
std::string FindSystemProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::vector<std::string> dirs = absl::StrSplit(path != nullptr ? path : "", ':');
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) dirs.push_back(dir);
  for (const std::string& dir : dirs) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// ---- the script's tree ----

struct Rootfs {
  std::string dir;              // the tree; Host("/etc/passwd") is its /etc/passwd
  std::set<std::string> files;  // what the script printed: absolute paths inside the image
  std::string output;           // everything the script printed

  std::string Host(absl::string_view image_path) const { return absl::StrCat(dir, image_path); }
};

// Runs scripts/runtime-rootfs.sh on the built esgw-server into a new <temp>/rootfs, as the
// Dockerfile's build stage does. The script is run as a program, so a lost executable bit fails
// here as it would in `docker build`.
absl::StatusOr<Rootfs> MakeRootfs() {
  ESGW_ASSIGN_OR_RETURN(std::string parent, testing::MakeTempDir("esgw-image"));
  Rootfs rootfs;
  rootfs.dir = parent + "/rootfs";
  ESGW_ASSIGN_OR_RETURN(CommandResult run,
                        RunCommand({SourcePath("scripts/runtime-rootfs.sh"),
                                    testing::BinDir() + "/esgw-server", rootfs.dir}));
  rootfs.output = run.output;
  if (run.exit_code != 0) {
    fs::remove_all(parent);
    return absl::InternalError(
        absl::StrCat("scripts/runtime-rootfs.sh exited with ", run.exit_code, ":\n", run.output));
  }
  // Diagnostics start with "runtime-rootfs:"; the list is the lines that are absolute paths.
  for (absl::string_view line : absl::StrSplit(run.output, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "/")) rootfs.files.emplace(line);
  }
  return rootfs;
}

struct LddResult {
  std::vector<std::string> libraries;  // resolved paths, as the loader would open them
  std::string interpreter;
};

// The test's own reading of `ldd binary`, independent of the script's. NOT_FOUND naming every
// library the loader cannot find.
absl::StatusOr<LddResult> Ldd(const std::string& binary) {
  ESGW_ASSIGN_OR_RETURN(CommandResult run, RunCommand({"ldd", binary}));
  if (run.exit_code != 0) return absl::InternalError(absl::StrCat("ldd failed: ", run.output));
  LddResult result;
  std::vector<std::string> missing;
  for (absl::string_view line : absl::StrSplit(run.output, '\n', absl::SkipEmpty())) {
    line = absl::StripAsciiWhitespace(line);
    const size_t arrow = line.find(" => ");
    if (absl::StrContains(line, "not found")) {
      missing.emplace_back(line);
    } else if (arrow != absl::string_view::npos) {
      absl::string_view target = line.substr(arrow + 4);
      target = target.substr(0, target.find(" ("));
      if (absl::StartsWith(target, "/")) result.libraries.emplace_back(target);
    } else if (absl::StartsWith(line, "/")) {
      result.interpreter = std::string(line.substr(0, line.find(" (")));
    }
  }
  if (!missing.empty()) {
    return absl::NotFoundError(absl::StrCat("ldd: ", absl::StrJoin(missing, "; ")));
  }
  return result;
}

// The PT_INTERP of a 64-bit ELF file: the loader the kernel starts, read from the file itself.
absl::StatusOr<std::string> ElfInterpreter(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header{};
  if (!in.read(reinterpret_cast<char*>(&header), sizeof(header)) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a 64-bit ELF file"));
  }
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr program{};
    in.seekg(static_cast<std::streamoff>(header.e_phoff + i * header.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&program), sizeof(program))) break;
    if (program.p_type != PT_INTERP) continue;
    std::string interpreter(program.p_filesz, '\0');
    in.seekg(static_cast<std::streamoff>(program.p_offset));
    if (!in.read(interpreter.data(), static_cast<std::streamsize>(interpreter.size()))) break;
    return std::string(interpreter.c_str());  // drops the terminating NUL
  }
  return absl::NotFoundError(absl::StrCat(path, " has no PT_INTERP (statically linked?)"));
}

// Success when the two files hold the same bytes.
::testing::AssertionResult SameContent(const std::string& host_path, const std::string& copy) {
  absl::StatusOr<std::string> a = ReadFile(host_path);
  absl::StatusOr<std::string> b = ReadFile(copy);
  if (!a.ok() || !b.ok()) {
    return ::testing::AssertionFailure() << (a.ok() ? b.status() : a.status());
  }
  if (*a != *b) {
    return ::testing::AssertionFailure() << copy << " differs from " << host_path << " ("
                                         << b->size() << " bytes, not " << a->size() << ")";
  }
  return ::testing::AssertionSuccess();
}

// ---- deploy/Dockerfile, read simply ----

// Splits like a shell: whitespace separates words except inside quotes, which are removed.
std::vector<std::string> ShellWords(absl::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (const char c : text) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

struct Instruction {
  std::string keyword;  // upper case
  std::string args;     // the rest, continuation lines joined
  int line = 0;         // where it starts
};

struct Stage {
  std::string from;      // the base image with ${ARG} defaults substituted
  std::string raw_from;  // as written
  std::string name;      // "AS <name>", or empty
  int line = 0;
  std::vector<Instruction> instructions;

  std::vector<const Instruction*> All(absl::string_view keyword) const {
    std::vector<const Instruction*> found;
    for (const Instruction& i : instructions) {
      if (i.keyword == keyword) found.push_back(&i);
    }
    return found;
  }
};

struct Dockerfile {
  std::map<std::string, std::string> global_args;  // ARGs before the first FROM: name -> default
  std::vector<Stage> stages;
};

// Replaces ${NAME} and $NAME by the values in `args`.
std::string Substitute(absl::string_view text, const std::map<std::string, std::string>& args) {
  std::string out(text);
  for (const auto& [name, value] : args) {
    out = absl::StrReplaceAll(out, {{absl::StrCat("${", name, "}"), value}});
    out = absl::StrReplaceAll(out, {{absl::StrCat("$", name), value}});
  }
  return out;
}

absl::StatusOr<Dockerfile> ParseDockerfile(const std::string& text) {
  std::vector<Instruction> instructions;
  std::string pending;
  int pending_line = 0;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    const absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    // Comment lines are dropped, also inside a continued instruction (as Docker does).
    if (trimmed.empty() || absl::StartsWith(trimmed, "#")) continue;
    if (pending.empty()) pending_line = number;
    absl::string_view body = absl::StripTrailingAsciiWhitespace(line);
    const bool continued = absl::ConsumeSuffix(&body, "\\");
    absl::StrAppend(&pending, pending.empty() ? "" : " ", absl::StripAsciiWhitespace(body));
    if (continued) continue;
    const size_t space = pending.find_first_of(" \t");
    instructions.push_back(
        Instruction{.keyword = absl::AsciiStrToUpper(pending.substr(0, space)),
                    .args = space == std::string::npos
                                ? ""
                                : std::string(absl::StripAsciiWhitespace(pending.substr(space))),
                    .line = pending_line});
    pending.clear();
  }
  if (!pending.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", pending_line, ": the file ends inside a continued instruction"));
  }

  Dockerfile file;
  for (Instruction& instruction : instructions) {
    if (instruction.keyword == "FROM") {
      const std::vector<std::string> words = ShellWords(instruction.args);
      Stage stage;
      stage.raw_from = words.empty() ? "" : words[0];
      stage.line = instruction.line;
      stage.from = Substitute(stage.raw_from, file.global_args);
      if (words.size() == 3 && absl::AsciiStrToUpper(words[1]) == "AS") {
        stage.name = absl::AsciiStrToLower(words[2]);
      } else if (words.size() != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", instruction.line, ": FROM <image> [AS <name>] expected"));
      }
      file.stages.push_back(std::move(stage));
    } else if (file.stages.empty()) {
      if (instruction.keyword != "ARG") {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", instruction.line, ": only ARG may come before the first FROM"));
      }
      std::vector<std::string> parts = absl::StrSplit(instruction.args, absl::MaxSplits('=', 1));
      file.global_args[parts[0]] = parts.size() > 1 ? parts[1] : "";
    } else {
      file.stages.back().instructions.push_back(std::move(instruction));
    }
  }
  return file;
}

// Where a word sits among a stage's RUN instructions: the instruction's index in the stage (-1:
// in none), the word's index, and that instruction's words.
struct RunWord {
  int instruction = -1;
  int word = -1;
  std::vector<std::string> words;
};

// The first word of the stage's RUN instructions that `match(words, index)` accepts.
RunWord FindInRuns(const Stage& stage,
                   const std::function<bool(const std::vector<std::string>&, int)>& match) {
  for (int i = 0; i < static_cast<int>(stage.instructions.size()); ++i) {
    if (stage.instructions[i].keyword != "RUN") continue;
    std::vector<std::string> words = ShellWords(stage.instructions[i].args);
    for (int w = 0; w < static_cast<int>(words.size()); ++w) {
      if (match(words, w)) return RunWord{.instruction = i, .word = w, .words = std::move(words)};
    }
  }
  return RunWord{};
}

// "make <target>" in the stage's RUN instructions.
RunWord FindMake(const Stage& stage, absl::string_view target) {
  return FindInRuns(stage, [&](const std::vector<std::string>& words, int w) {
    return words[w] == "make" && w + 1 < static_cast<int>(words.size()) && words[w + 1] == target;
  });
}

std::string WithoutTrailingSlash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// ---- .dockerignore, read simply ----

// Docker's rules, simplified: one pattern per line matched (fnmatch) against a path relative to
// the context root and each of its parent directories; "**/" at the start matches at any depth;
// "!" re-includes; the last rule that matches wins.
class IgnoreRules {
 public:
  explicit IgnoreRules(absl::string_view text) {
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      line = absl::StripAsciiWhitespace(line);
      if (line.empty() || absl::StartsWith(line, "#")) continue;
      Rule rule;
      rule.negated = absl::ConsumePrefix(&line, "!");
      absl::ConsumePrefix(&line, "/");
      rule.pattern = WithoutTrailingSlash(std::string(line));
      rules_.push_back(std::move(rule));
    }
  }

  bool Excluded(absl::string_view path) const {
    std::vector<std::string> prefixes;
    std::string prefix;
    for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
      prefix = prefix.empty() ? std::string(part) : absl::StrCat(prefix, "/", part);
      prefixes.push_back(prefix);
    }
    bool excluded = false;
    for (const Rule& rule : rules_) {
      for (const std::string& p : prefixes) {
        if (Matches(rule.pattern, p)) excluded = !rule.negated;
      }
    }
    return excluded;
  }

 private:
  struct Rule {
    std::string pattern;
    bool negated = false;
  };

  static bool Matches(const std::string& pattern, const std::string& path) {
    if (!absl::StartsWith(pattern, "**/")) {
      return fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0;
    }
    const std::string rest = pattern.substr(3);
    for (size_t start = 0; start != std::string::npos;) {
      if (fnmatch(rest.c_str(), path.c_str() + start, FNM_PATHNAME) == 0) return true;
      const size_t slash = path.find('/', start);
      start = slash == std::string::npos ? slash : slash + 1;
    }
    return false;
  }

  std::vector<Rule> rules_;
};

// The directories the top-level CMakeLists.txt adds outside `if(ESGW_BUILD_TESTS)`: what the
// image's build (ESGW_BUILD_TESTS=OFF) compiles.
std::vector<std::string> ProgramSubdirectories(const std::string& cmake) {
  std::vector<std::string> dirs;
  int depth = 0;
  int tests_depth = 0;  // the depth of the if(ESGW_BUILD_TESTS) block we are in; 0: none
  for (absl::string_view line : absl::StrSplit(cmake, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(line, "if(") || absl::StartsWith(line, "if (")) {
      ++depth;
      if (tests_depth == 0 && absl::StrContains(line, "ESGW_BUILD_TESTS")) tests_depth = depth;
    } else if (absl::StartsWith(line, "endif")) {
      if (depth == tests_depth) tests_depth = 0;
      --depth;
    } else if (absl::ConsumePrefix(&line, "add_subdirectory(") && tests_depth == 0) {
      dirs.emplace_back(absl::StripAsciiWhitespace(line.substr(0, line.find(')'))));
    }
  }
  return dirs;
}

// ---- talking to a server ----

absl::Status SearchProducts(const std::shared_ptr<grpc::Channel>& channel,
                            esgw::v1::SearchResponse* response) {
  auto gateway = esgw::v1::Gateway::NewStub(channel);
  esgw::v1::SearchRequest request;
  request.add_indices("products");
  request.set_body_json(R"({"query":{"match_all":{}},"size":3})");
  const grpc::Status status =
      gateway->Search(testing::CallContext(absl::Seconds(15)).get(), request, response);
  if (status.ok()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("Search: code ", status.error_code(), ": ", status.error_message()));
}

::testing::AssertionResult WaitUntilServing(const std::shared_ptr<grpc::Channel>& channel) {
  auto health = grpc::health::v1::Health::NewStub(channel);
  return WaitFor(
      [&] {
        grpc::health::v1::HealthCheckRequest request;
        grpc::health::v1::HealthCheckResponse response;
        return health->Check(testing::CallContext(absl::Seconds(2)).get(), request, &response)
                   .ok() &&
               response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
      },
      absl::Seconds(20), "grpc.health.v1.Health/Check to say SERVING");
}

// GET /metrics: the exposition, checked to be Prometheus text.
absl::StatusOr<testing::PromExposition> Scrape(int metrics_port) {
  ESGW_ASSIGN_OR_RETURN(
      devcluster::BlockingHttpClient::Response response,
      devcluster::HttpRequestOnce(absl::StrCat("127.0.0.1:", metrics_port), "GET", "/metrics"));
  if (response.status != 200) {
    return absl::InternalError(absl::StrCat("GET /metrics: HTTP ", response.status));
  }
  const std::string* type = response.Header("Content-Type");
  if (type == nullptr || !absl::StartsWith(*type, "text/plain; version=0.0.4")) {
    return absl::InternalError(
        absl::StrCat("GET /metrics: Content-Type ", type == nullptr ? "(none)" : *type));
  }
  return testing::ParsePrometheusText(response.body);
}

// ---- esgw-server run from inside a tree ----

// esgw-server started from inside a root filesystem the way a container runtime starts it:
// chroot into the tree, uid and gid 10001, an empty environment (`env -i`), and, when this
// process may create namespaces, PID 1 of a new PID namespace with /proc mounted (unshare).
// Nothing of the host's filesystem is reachable from it. Owns the process; one test thread.
class ContainedServer {
 public:
  // True when chroot works here (needs root and CAP_SYS_CHROOT).
  static bool CanChroot(const Rootfs& rootfs, std::string* why) {
    const std::string chroot = FindSystemProgram("chroot");
    if (chroot.empty()) {
      *why = "no chroot program";
      return false;
    }
    absl::StatusOr<LddResult> ldd = Ldd(testing::BinDir() + "/esgw-server");
    if (!ldd.ok()) {
      *why = std::string(ldd.status().message());
      return false;
    }
    absl::StatusOr<CommandResult> run =
        RunCommand({chroot, rootfs.dir, ldd->interpreter, "--version"});
    if (!run.ok() || run->exit_code != 0) {
      *why = absl::StrCat("chroot fails: ", run.ok() ? run->output : run.status().ToString());
      return false;
    }
    return true;
  }

  // Starts the server with --listen and --metrics_listen on 127.0.0.1:0, its port file in the
  // tree's /tmp, and `flags`. UNAVAILABLE with its output when it does not start.
  static absl::StatusOr<std::unique_ptr<ContainedServer>> Start(const Rootfs& rootfs,
                                                                std::vector<std::string> flags) {
    auto server = std::unique_ptr<ContainedServer>(new ContainedServer());
    const std::string unshare = FindSystemProgram("unshare");
    // The runtime creates /proc in the container; the script leaves it out of the image.
    fs::create_directories(rootfs.Host("/proc"));
    std::vector<std::string> namespaces = {unshare, "--pid", "--fork",
                                           "--mount-proc=" + rootfs.Host("/proc")};
    if (!unshare.empty()) {
      std::vector<std::string> probe = namespaces;
      probe.push_back(FindSystemProgram("true"));
      absl::StatusOr<CommandResult> run = RunCommand(probe);
      server->pid_namespace_ = run.ok() && run->exit_code == 0;
    }
    std::vector<std::string> argv = {"env", "-i"};
    if (server->pid_namespace_) argv.insert(argv.end(), namespaces.begin(), namespaces.end());
    const std::string port_file = "/tmp/esgw.ports";
    argv.insert(argv.end(), {FindSystemProgram("chroot"),
                             absl::StrCat("--userspec=", kImageUid, ":", kImageGid), rootfs.dir,
                             kImageBinary, "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
                             "--port_file=" + port_file});
    for (std::string& flag : flags) argv.push_back(std::move(flag));
    ESGW_ASSIGN_OR_RETURN(server->process_, testing::Subprocess::Start(argv));

    absl::StatusOr<std::string> ports =
        testing::ReadPortFile(rootfs.Host(port_file), absl::Seconds(20), server->process_.get());
    if (!ports.ok()) {
      return absl::UnavailableError(absl::StrCat("esgw-server did not start inside ", rootfs.dir,
                                                 ": ", ports.status().message(), "\n",
                                                 server->process_->Log()));
    }
    std::vector<std::string> lines = absl::StrSplit(*ports, '\n', absl::SkipEmpty());
    if (lines.size() != 2 || !absl::SimpleAtoi(lines[0], &server->port_) ||
        !absl::SimpleAtoi(lines[1], &server->metrics_port_)) {
      return absl::InternalError(absl::StrCat("port file: want two ports, got: ", *ports));
    }
    // With a PID namespace the server is unshare's child; the test sees it by its host pid.
    server->server_pid_ = server->process_->pid();
    if (server->pid_namespace_) {
      const std::string children = absl::StrCat("/proc/", server->process_->pid(), "/task/",
                                                server->process_->pid(), "/children");
      if (!WaitFor(
              [&] {
                absl::StatusOr<std::string> text = ReadFile(children);
                return text.ok() &&
                       absl::SimpleAtoi(text->substr(0, text->find(' ')), &server->server_pid_);
              },
              absl::Seconds(5), "the server's pid")) {
        return absl::InternalError(absl::StrCat("no child in ", children));
      }
    }
    server->channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port_),
                                           grpc::InsecureChannelCredentials());
    return server;
  }

  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  // The server's pid as this test sees it.
  pid_t server_pid() const { return server_pid_; }
  bool pid_namespace() const { return pid_namespace_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  testing::Subprocess& process() { return *process_; }

 private:
  ContainedServer() = default;

  std::unique_ptr<testing::Subprocess> process_;
  bool pid_namespace_ = false;
  pid_t server_pid_ = 0;
  int port_ = 0;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// A line of /proc/<pid>/status ("Uid:\t10001\t10001\t10001\t10001"), or "".
std::string ProcStatusLine(pid_t pid, absl::string_view key) {
  absl::StatusOr<std::string> status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!status.ok()) return "";
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (absl::ConsumePrefix(&line, absl::StrCat(key, ":"))) {
      return std::string(absl::StripAsciiWhitespace(line));
    }
  }
  return "";
}

// ============================================================================================
// The tree and the Dockerfile, built and read once for the suite.
// ============================================================================================

class ImageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<Rootfs> rootfs = MakeRootfs();
    ASSERT_TRUE(rootfs.ok()) << rootfs.status();
    rootfs_ = new Rootfs(*std::move(rootfs));
    absl::StatusOr<std::string> text = ReadFile(SourcePath("deploy/Dockerfile"));
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<Dockerfile> dockerfile = ParseDockerfile(*text);
    ASSERT_TRUE(dockerfile.ok()) << "deploy/Dockerfile: " << dockerfile.status();
    dockerfile_ = new Dockerfile(*std::move(dockerfile));
  }
  static void TearDownTestSuite() {
    if (rootfs_ != nullptr) fs::remove_all(fs::path(rootfs_->dir).parent_path());
    delete rootfs_;
    delete dockerfile_;
    rootfs_ = nullptr;
    dockerfile_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(rootfs_, nullptr) << "the suite's rootfs was not built";
    ASSERT_NE(dockerfile_, nullptr) << "deploy/Dockerfile was not read";
    ASSERT_GE(dockerfile_->stages.size(), 2u) << "deploy/Dockerfile: a build and a runtime stage";
  }

  // The stage `docker build` ends with: the image.
  static const Stage& Runtime() { return dockerfile_->stages.back(); }
  // The runtime stage's one COPY, as words ("--from=build", "/rootfs/", "/").
  static std::vector<std::string> RuntimeCopy() {
    const std::vector<const Instruction*> copies = Runtime().All("COPY");
    return copies.size() == 1 ? ShellWords(copies[0]->args) : std::vector<std::string>{};
  }
  // The stage the runtime stage copies from, or null.
  static const Stage* BuildStage() {
    for (const std::string& word : RuntimeCopy()) {
      absl::string_view from = word;
      if (!absl::ConsumePrefix(&from, "--from=")) continue;
      for (const Stage& stage : dockerfile_->stages) {
        if (stage.name == absl::AsciiStrToLower(from)) return &stage;
      }
    }
    return nullptr;
  }
  // The JSON array of an exec-form instruction of the runtime stage (the last one counts).
  static absl::StatusOr<std::vector<std::string>> ExecForm(absl::string_view keyword) {
    const std::vector<const Instruction*> all = Runtime().All(keyword);
    if (all.empty()) return absl::NotFoundError(absl::StrCat("no ", keyword));
    std::optional<devcluster::Json> json = devcluster::ParseJson(all.back()->args);
    if (!json.has_value() || !json->is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(
          keyword, " is not in exec form (a JSON array); there is no shell in the image: ",
          all.back()->args));
    }
    std::vector<std::string> words;
    for (const devcluster::Json& word : *json) {
      if (!word.is_string())
        return absl::InvalidArgumentError(absl::StrCat(keyword, ": not all strings"));
      words.push_back(word.get<std::string>());
    }
    return words;
  }

  static Rootfs* rootfs_;
  static Dockerfile* dockerfile_;
};

Rootfs* ImageTest::rootfs_ = nullptr;
Dockerfile* ImageTest::dockerfile_ = nullptr;

// ---- the tree ----

TEST_F(ImageTest, TreeHoldsTheBinaryItsInterpreterAndEveryLibraryLddListsByteForByte) {
  const std::string binary = testing::BinDir() + "/esgw-server";
  EXPECT_TRUE(SameContent(binary, rootfs_->Host(kImageBinary)));
  EXPECT_EQ(access(rootfs_->Host(kImageBinary).c_str(), X_OK), 0) << "not executable";

  // The kernel starts the loader named in the ELF header; it must be in the image at that path.
  absl::StatusOr<std::string> interpreter = ElfInterpreter(binary);
  ASSERT_TRUE(interpreter.ok()) << interpreter.status();
  EXPECT_TRUE(rootfs_->files.contains(*interpreter)) << *interpreter;
  EXPECT_TRUE(SameContent(*interpreter, rootfs_->Host(*interpreter)));

  absl::StatusOr<LddResult> ldd = Ldd(binary);
  ASSERT_TRUE(ldd.ok()) << ldd.status();
  EXPECT_EQ(ldd->interpreter, *interpreter);
  ASSERT_GT(ldd->libraries.size(), 10u) << "esgw-server links gRPC, protobuf, curl, abseil ...";
  for (const std::string& library : ldd->libraries) {
    EXPECT_TRUE(rootfs_->files.contains(library)) << library << " is not in the script's list";
    EXPECT_TRUE(SameContent(library, rootfs_->Host(library)));
    // Under the name the loader looks up (the soname), as a file: no symlink to follow.
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(rootfs_->Host(library)))) << library;
  }
  EXPECT_THAT(rootfs_->output, HasSubstr("runtime-rootfs: "))
      << "the script says what it did on stderr";
}

TEST_F(ImageTest, TreeHoldsExactlyTheFilesTheScriptListsAndNoSymlinks) {
  std::set<std::string> found;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(rootfs_->dir)) {
    const std::string image_path = entry.path().string().substr(rootfs_->dir.size());
    EXPECT_FALSE(entry.is_symlink()) << image_path << ": a symlink; copies are dereferenced";
    if (entry.is_regular_file()) found.insert(image_path);
  }
  EXPECT_EQ(found, rootfs_->files);
  for (const char* expected : {"/etc/passwd", "/etc/group", "/etc/nsswitch.conf", kImageBinary}) {
    EXPECT_TRUE(found.contains(expected)) << expected;
  }
}

TEST_F(ImageTest, TreeHasTheCaBundleLibcurlIsBuiltToReadTheEsgwUserAndAWritableTmp) {
  // The bundle path compiled into the libcurl esgw links: the one it reads when --es_ca_file is
  // empty.
  absl::StatusOr<CommandResult> curl_config = RunCommand({"curl-config", "--ca"});
  ASSERT_TRUE(curl_config.ok()) << curl_config.status();
  ASSERT_EQ(curl_config->exit_code, 0) << curl_config->output;
  const std::string bundle(absl::StripAsciiWhitespace(curl_config->output));
  ASSERT_TRUE(absl::StartsWith(bundle, "/")) << "curl-config --ca: " << bundle;
  EXPECT_TRUE(rootfs_->files.contains(bundle)) << bundle;
  EXPECT_TRUE(SameContent(bundle, rootfs_->Host(bundle)));
  absl::StatusOr<std::string> pem = ReadFile(rootfs_->Host(bundle));
  ASSERT_TRUE(pem.ok()) << pem.status();
  const std::vector<absl::string_view> certificates =
      absl::StrSplit(*pem, "-----BEGIN CERTIFICATE-----");
  EXPECT_GT(certificates.size(), 10u) << "a CA bundle holds many certificates";

  absl::StatusOr<std::string> passwd = ReadFile(rootfs_->Host("/etc/passwd"));
  ASSERT_TRUE(passwd.ok()) << passwd.status();
  EXPECT_THAT(*passwd, HasSubstr(absl::StrCat("\nesgw:x:", kImageUid, ":", kImageGid, ":")));
  absl::StatusOr<std::string> group = ReadFile(rootfs_->Host("/etc/group"));
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_THAT(*group, HasSubstr(absl::StrCat("\nesgw:x:", kImageGid, ":")));
  absl::StatusOr<std::string> nsswitch = ReadFile(rootfs_->Host("/etc/nsswitch.conf"));
  ASSERT_TRUE(nsswitch.ok()) << nsswitch.status();
  EXPECT_THAT(*nsswitch, ::testing::ContainsRegex("(^|\n)hosts:[ \t]+files dns\n"));

  const fs::file_status tmp = fs::symlink_status(rootfs_->Host("/tmp"));
  EXPECT_TRUE(fs::is_directory(tmp));
  EXPECT_EQ(absl::StrFormat("%04o", static_cast<int>(tmp.permissions())), "1777")
      << "uid " << kImageUid << " writes its port file and temporary files there";
  EXPECT_TRUE(fs::is_empty(rootfs_->Host("/tmp")));
  EXPECT_EQ(fs::status(rootfs_->dir).permissions() & fs::perms::others_exec, fs::perms::others_exec)
      << "uid " << kImageUid << " must be able to enter /";
}

TEST_F(ImageTest, ScriptFailsNamingALibraryTheLoaderCannotFind) {
  // An ldd that reports a missing library, first in PATH, stands for a build machine that lacks
  // a runtime package.
  absl::StatusOr<std::string> dir = testing::MakeTempDir("esgw-image-ldd");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string fake_ldd = *dir + "/ldd";
  ASSERT_TRUE(WriteFile(fake_ldd,
                        "#!/bin/sh\n"
                        "printf '\\tlibesgw_image_test_missing.so.7 => not found\\n'\n")
                  .ok());
  ASSERT_EQ(chmod(fake_ldd.c_str(), 0755), 0);
  const char* path = std::getenv("PATH");
  absl::StatusOr<CommandResult> run =
      RunCommand({SourcePath("scripts/runtime-rootfs.sh"), testing::BinDir() + "/esgw-server",
                  *dir + "/rootfs"},
                 {{"PATH", absl::StrCat(*dir, ":", path != nullptr ? path : "/usr/bin:/bin")}});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_NE(run->exit_code, 0) << run->output;
  EXPECT_THAT(run->output, HasSubstr("libesgw_image_test_missing.so.7"));
  EXPECT_THAT(run->output, HasSubstr("cannot find"));
  EXPECT_FALSE(fs::exists(*dir + "/rootfs" + kImageBinary)) << "nothing is written on failure";
  fs::remove_all(*dir);
}

TEST_F(ImageTest, ScriptRefusesAnOutputDirectoryThatIsNotEmpty) {
  // A stale file from an earlier run would end up in the image.
  absl::StatusOr<CommandResult> run = RunCommand(
      {SourcePath("scripts/runtime-rootfs.sh"), testing::BinDir() + "/esgw-server", rootfs_->dir});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_NE(run->exit_code, 0);
  EXPECT_THAT(run->output, HasSubstr("not empty"));
}

TEST_F(ImageTest, EveryFileTheServerMapsWhileServingOnTheHostIsInTheTree) {
  // ldd sees only what is linked; a library opened later with dlopen (an NSS module, a gconv
  // module, an OpenSSL provider) would be missing from the image and fail, or silently fall
  // back, only at run time. After a Search and a scrape the server has mapped what it loaded.
  auto cluster = testing::DevCluster::Start({.nodes = 3, .sample_data = true});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto server =
      testing::EsgwProcess::Start((*cluster)->SeedsFlag(), {"--metrics_listen=127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.status();
  esgw::v1::SearchResponse response;
  ASSERT_TRUE(SearchProducts((*server)->channel(), &response).ok());
  ASSERT_TRUE(Scrape((*server)->metrics_port()).ok());

  std::set<std::string> in_tree;  // host paths, canonical (the host's /lib may be a symlink)
  for (const std::string& file : rootfs_->files) {
    std::error_code error;
    const fs::path canonical = fs::canonical(file, error);
    if (!error) in_tree.insert(canonical.string());
  }
  in_tree.insert(fs::canonical(testing::BinDir() + "/esgw-server").string());

  absl::StatusOr<std::string> maps =
      ReadFile(absl::StrCat("/proc/", (*server)->process().pid(), "/maps"));
  ASSERT_TRUE(maps.ok()) << maps.status();
  int mapped_files = 0;
  for (absl::string_view line : absl::StrSplit(*maps, '\n', absl::SkipEmpty())) {
    // address perms offset dev inode [path]
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::MaxSplits(' ', 5), absl::SkipEmpty());
    if (fields.size() < 6) continue;
    const absl::string_view file = absl::StripAsciiWhitespace(fields[5]);
    if (!absl::StartsWith(file, "/") || absl::StartsWith(file, "/dev/") ||
        absl::StartsWith(file, "/memfd:") || absl::EndsWith(file, " (deleted)")) {
      continue;
    }
    ++mapped_files;
    EXPECT_TRUE(in_tree.contains(fs::canonical(std::string(file)).string()))
        << file << " is mapped by esgw-server but is not in the image";
  }
  EXPECT_GT(mapped_files, 10);
}

// ---- deploy/Dockerfile ----

TEST_F(ImageTest, RuntimeStageIsScratchWithOnlyTheTreeTheBuildStageWrites) {
  EXPECT_EQ(Runtime().from, "scratch") << "deploy/Dockerfile:" << Runtime().line;
  EXPECT_TRUE(Runtime().All("RUN").empty()) << "a scratch image has no shell to RUN anything";
  EXPECT_TRUE(Runtime().All("ADD").empty());
  const std::vector<std::string> copy = RuntimeCopy();
  ASSERT_EQ(copy.size(), 3u) << "one COPY --from=<build stage> <tree> / in the runtime stage";
  const Stage* build = BuildStage();
  ASSERT_NE(build, nullptr) << "COPY " << copy[0] << " names no stage";
  EXPECT_EQ(copy[2], "/");

  // The build stage runs the script, on what `make build` built, into the directory copied.
  const RunWord script = FindInRuns(*build, [](const std::vector<std::string>& words, int w) {
    return absl::EndsWith(words[w], "scripts/runtime-rootfs.sh");
  });
  ASSERT_GE(script.instruction, 0) << "the build stage does not run scripts/runtime-rootfs.sh";
  ASSERT_LT(script.word + 2, static_cast<int>(script.words.size()))
      << "scripts/runtime-rootfs.sh <binary> <outdir>";
  EXPECT_EQ(WithoutTrailingSlash(copy[1]), WithoutTrailingSlash(script.words[script.word + 2]))
      << "the runtime stage copies another directory than the script writes";

  const RunWord make_build = FindMake(*build, "build");
  ASSERT_GE(make_build.instruction, 0) << "the build stage does not run `make build`";
  EXPECT_TRUE(make_build.instruction < script.instruction ||
              (make_build.instruction == script.instruction && make_build.word < script.word))
      << "the script must run after `make build`";
  std::string build_dir = "build";
  for (const std::string& word : make_build.words) {
    absl::string_view value = word;
    if (absl::ConsumePrefix(&value, "BUILD_DIR=")) build_dir = std::string(value);
  }
  EXPECT_EQ(script.words[script.word + 1], build_dir + "/bin/esgw-server")
      << "the script must get the binary `make build` wrote";
  EXPECT_THAT(make_build.words, ::testing::Contains("BUILD_TYPE=Release"));
  EXPECT_THAT(make_build.words, ::testing::Contains("ESGW_BUILD_TESTS=OFF"));
}

TEST_F(ImageTest, BuildStageIsDebianBookwormFromAnArgAndInstallsDepsBeforeTheSource) {
  const Stage* build = BuildStage();
  ASSERT_NE(build, nullptr);
  EXPECT_TRUE(absl::StartsWith(build->from, "debian:bookworm"))
      << "deploy/Dockerfile:" << build->line << ": " << build->raw_from << " is " << build->from;
  EXPECT_TRUE(absl::StrContains(build->raw_from, "$"))
      << "the base image is an ARG, so a build can pin a digest";

  // The slow layer (apt) depends only on what `make deps` reads: Makefile and scripts/deps.sh.
  const RunWord deps = FindMake(*build, "deps");
  ASSERT_GE(deps.instruction, 0) << "the build stage does not run `make deps`";
  for (int i = 0; i < deps.instruction; ++i) {
    const Instruction& instruction = build->instructions[i];
    if (instruction.keyword != "COPY" && instruction.keyword != "ADD") continue;
    std::vector<std::string> words = ShellWords(instruction.args);
    ASSERT_GE(words.size(), 2u) << "deploy/Dockerfile:" << instruction.line;
    for (size_t w = 0; w + 1 < words.size(); ++w) {
      if (absl::StartsWith(words[w], "--")) continue;
      EXPECT_THAT(words[w], ::testing::AnyOf("Makefile", "scripts/deps.sh"))
          << "deploy/Dockerfile:" << instruction.line
          << ": copied before `make deps`, so every edit of it reinstalls the packages";
    }
  }
  bool source_copied = false;
  for (size_t i = deps.instruction + 1; i < build->instructions.size(); ++i) {
    const Instruction& instruction = build->instructions[i];
    if (instruction.keyword == "COPY" && absl::StartsWith(instruction.args, ". ")) {
      source_copied = true;
    }
  }
  EXPECT_TRUE(source_copied) << "COPY . <dir> after `make deps`";
}

TEST_F(ImageTest, UserIsTheTreesNonRootUserByNumber) {
  const std::vector<const Instruction*> users = Runtime().All("USER");
  ASSERT_FALSE(users.empty()) << "no USER: the image would run as root";
  // A number: Kubernetes' runAsNonRoot cannot check a name.
  std::vector<std::string> ids = absl::StrSplit(users.back()->args, ':');
  int uid = -1;
  int gid = -1;
  ASSERT_TRUE(ids.size() == 2 && absl::SimpleAtoi(ids[0], &uid) && absl::SimpleAtoi(ids[1], &gid))
      << "USER " << users.back()->args << ": want numeric <uid>:<gid>";
  EXPECT_NE(uid, 0);
  EXPECT_EQ(uid, kImageUid);
  EXPECT_EQ(gid, kImageGid);
  absl::StatusOr<std::string> passwd = ReadFile(rootfs_->Host("/etc/passwd"));
  ASSERT_TRUE(passwd.ok()) << passwd.status();
  EXPECT_THAT(*passwd, HasSubstr(absl::StrCat(":x:", uid, ":", gid, ":")))
      << "USER has no entry in the image's /etc/passwd";
}

TEST_F(ImageTest, EntrypointRunsTheServerAndExposeMatchesTheListenFlagsInCmd) {
  absl::StatusOr<std::vector<std::string>> entrypoint = ExecForm("ENTRYPOINT");
  ASSERT_TRUE(entrypoint.ok()) << entrypoint.status();
  ASSERT_EQ(entrypoint->size(), 1u);
  EXPECT_EQ((*entrypoint)[0], kImageBinary);
  EXPECT_TRUE(rootfs_->files.contains((*entrypoint)[0]));

  absl::StatusOr<std::vector<std::string>> cmd = ExecForm("CMD");
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  std::map<std::string, std::string> listen;  // flag -> host:port
  for (const std::string& word : *cmd) {
    for (const char* flag : {"--listen=", "--metrics_listen="}) {
      if (absl::StartsWith(word, flag)) listen[flag] = word.substr(strlen(flag));
    }
  }
  ASSERT_EQ(listen.size(), 2u) << "CMD sets --listen and --metrics_listen: "
                               << absl::StrJoin(*cmd, " ");
  std::set<int> cmd_ports;
  for (const auto& [flag, address] : listen) {
    const size_t colon = address.rfind(':');
    int port = 0;
    ASSERT_TRUE(colon != std::string::npos && absl::SimpleAtoi(address.substr(colon + 1), &port))
        << flag << address;
    EXPECT_THAT(address.substr(0, colon), ::testing::AnyOf("0.0.0.0", "[::]"))
        << flag << ": a loopback address is unreachable from outside the container";
    cmd_ports.insert(port);
  }
  std::set<int> exposed;
  for (const Instruction* expose : Runtime().All("EXPOSE")) {
    for (const std::string& word : ShellWords(expose->args)) {
      int port = 0;
      EXPECT_TRUE(absl::SimpleAtoi(word.substr(0, word.find('/')), &port)) << "EXPOSE " << word;
      exposed.insert(port);
    }
  }
  EXPECT_EQ(exposed, cmd_ports);

  // The binary accepts the default command (unknown flags are fatal): the image would not start.
  std::vector<std::string> argv = {testing::BinDir() + "/esgw-server"};
  argv.insert(argv.end(), cmd->begin(), cmd->end());
  argv.push_back("--print_config");
  absl::StatusOr<CommandResult> run = RunCommand(argv);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 0) << run->output;
  for (const auto& [flag, address] : listen) {
    EXPECT_THAT(run->output,
                HasSubstr(absl::StrCat(flag.substr(2, flag.size() - 3), ": \"", address, "\"")));
  }
}

TEST_F(ImageTest, LabelsDescribeTheImage) {
  std::map<std::string, std::string> labels;
  for (const Instruction* label : Runtime().All("LABEL")) {
    for (const std::string& word : ShellWords(label->args)) {
      std::vector<std::string> kv = absl::StrSplit(word, absl::MaxSplits('=', 1));
      if (kv.size() == 2) labels[kv[0]] = kv[1];
    }
  }
  std::set<std::string> args;  // ARGs the runtime stage declares
  for (const Instruction* arg : Runtime().All("ARG")) {
    args.insert(std::string(arg->args.substr(0, arg->args.find('='))));
  }
  EXPECT_EQ(labels["org.opencontainers.image.title"], "esgw-server");
  for (const char* key : {"org.opencontainers.image.description", "org.opencontainers.image.source",
                          "org.opencontainers.image.licenses"}) {
    EXPECT_FALSE(labels[key].empty()) << key;
  }
  // Set per build: --build-arg VERSION=... and so on.
  for (const auto& [key, arg] :
       std::map<std::string, std::string>{{"org.opencontainers.image.version", "VERSION"},
                                          {"org.opencontainers.image.revision", "REVISION"},
                                          {"org.opencontainers.image.created", "CREATED"}}) {
    EXPECT_EQ(labels[key], absl::StrCat("${", arg, "}")) << key;
    EXPECT_TRUE(args.contains(arg)) << "ARG " << arg << " in the runtime stage";
  }
}

TEST_F(ImageTest, DockerignoreKeepsBuildTreesOutAndEverySourceTheBuildReadsIn) {
  absl::StatusOr<std::string> text = ReadFile(SourcePath(".dockerignore"));
  ASSERT_TRUE(text.ok()) << text.status();
  const IgnoreRules rules(*text);
  for (const char* out : {".git", "build", "build-asan", "build/bin/esgw-server",
                          "tests/e2e/node/node_modules/x.js"}) {
    EXPECT_TRUE(rules.Excluded(out)) << out << " would be sent to the builder";
  }

  absl::StatusOr<std::string> cmake = ReadFile(SourcePath("CMakeLists.txt"));
  ASSERT_TRUE(cmake.ok()) << cmake.status();
  const std::vector<std::string> dirs = ProgramSubdirectories(*cmake);
  ASSERT_THAT(dirs, ::testing::IsSupersetOf({"proto", "pool", "server", "tests/devcluster"}));
  std::vector<std::string> needed = {"CMakeLists.txt", "Makefile", "scripts/deps.sh",
                                     "scripts/runtime-rootfs.sh"};
  for (const std::string& dir : dirs) {
    const fs::path root = SourcePath(dir);
    for (auto it = fs::recursive_directory_iterator(root); it != fs::end(it); ++it) {
      if (it->is_directory() && it->path().filename() == "node_modules") {
        it.disable_recursion_pending();
      } else if (it->is_regular_file()) {
        needed.push_back(dir + "/" + fs::relative(it->path(), root).string());
      }
    }
  }
  ASSERT_GT(needed.size(), 20u);
  for (const std::string& path : needed) {
    EXPECT_FALSE(rules.Excluded(path)) << path << " is read by the build but left out of context";
  }
}

// ============================================================================================
// esgw-server run from inside the tree, as root.
// ============================================================================================

class ImageRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "running esgw-server inside the image's tree needs root (chroot); the "
                      "tree and Dockerfile checks ran";
    }
    absl::StatusOr<Rootfs> rootfs = MakeRootfs();
    ASSERT_TRUE(rootfs.ok()) << rootfs.status();
    rootfs_ = *std::move(rootfs);
    std::string why;
    if (!ContainedServer::CanChroot(rootfs_, &why)) GTEST_SKIP() << why;
    auto cluster = testing::DevCluster::Start({.nodes = 3, .sample_data = true});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    // What the container runtime mounts over /etc/hosts, with a name for the cluster.
    ASSERT_TRUE(WriteFile(rootfs_.Host("/etc/hosts"),
                          absl::StrCat("127.0.0.1\tlocalhost\n127.0.0.1\t", kEsHostName, "\n"))
                    .ok());
  }
  void TearDown() override {
    if (!rootfs_.dir.empty()) fs::remove_all(fs::path(rootfs_.dir).parent_path());
  }

  // Seeds for --es_nodes that reach the dev cluster's data nodes through kEsHostName.
  std::string NamedSeeds() const {
    std::vector<std::string> seeds;
    for (int i = 0; i < 3; ++i) {
      const std::string& address = cluster_->node_addresses()[i];
      seeds.push_back(absl::StrCat("http://", kEsHostName, address.substr(address.rfind(':'))));
    }
    return absl::StrJoin(seeds, ",");
  }

  // SIGTERM, then a clean exit 0 with the shutdown logged.
  void StopAndExpectExitZero(ContainedServer& server) {
    ASSERT_TRUE(server.process().Signal(SIGTERM).ok());
    absl::StatusOr<int> code = server.process().Wait(absl::Seconds(20));
    ASSERT_TRUE(code.ok()) << code.status() << "\n" << server.process().Log();
    EXPECT_EQ(*code, 0) << server.process().Log();
    EXPECT_THAT(server.process().Log(), HasSubstr("stopped"));
  }

  Rootfs rootfs_;
  std::unique_ptr<testing::DevCluster> cluster_;
};

TEST_F(ImageRunTest, ServerRunsInsideTheTreeAsUid10001AndServesSearchAndMetricsThenStops) {
  auto server = ContainedServer::Start(rootfs_, {"--es_nodes=" + NamedSeeds()});
  ASSERT_TRUE(server.ok()) << server.status();
  RecordProperty("pid_namespace", (*server)->pid_namespace() ? "yes" : "no: plain chroot");
  const pid_t pid = (*server)->server_pid();

  // It is confined the way the image runs it.
  EXPECT_EQ(ProcStatusLine(pid, "Uid"),
            absl::StrCat(kImageUid, "\t", kImageUid, "\t", kImageUid, "\t", kImageUid));
  EXPECT_EQ(ProcStatusLine(pid, "Gid"),
            absl::StrCat(kImageGid, "\t", kImageGid, "\t", kImageGid, "\t", kImageGid));
  std::error_code error;
  EXPECT_EQ(fs::read_symlink(absl::StrCat("/proc/", pid, "/root"), error),
            fs::canonical(rootfs_.dir));
  absl::StatusOr<std::string> environment = ReadFile(absl::StrCat("/proc/", pid, "/environ"));
  ASSERT_TRUE(environment.ok()) << environment.status();
  EXPECT_EQ(*environment, "") << "the server must not see the host's environment";
  if ((*server)->pid_namespace()) {
    EXPECT_TRUE(absl::EndsWith(ProcStatusLine(pid, "NSpid"), "\t1"))
        << "PID 1 of its namespace, as in a container: " << ProcStatusLine(pid, "NSpid");
  }

  ASSERT_TRUE(WaitUntilServing((*server)->channel())) << (*server)->process().Log();
  esgw::v1::SearchResponse response;
  const absl::Status search = SearchProducts((*server)->channel(), &response);
  ASSERT_TRUE(search.ok()) << search << "\n" << (*server)->process().Log();
  ASSERT_EQ(response.hits_size(), 3);
  EXPECT_GT(response.total().value(), 3);
  for (const auto& hit : response.hits()) {
    EXPECT_EQ(hit.index(), "products");
    EXPECT_TRUE(absl::StartsWith(hit.source_json(), "{")) << hit.source_json();
  }
  EXPECT_FALSE(response.served_by().empty());

  absl::StatusOr<testing::PromExposition> metrics = Scrape((*server)->metrics_port());
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_GE(
      metrics->Sum("grpc_server_handled_total", {{"grpc_method", "Search"}, {"grpc_code", "OK"}}),
      1);
  EXPECT_GE(metrics->Count("esgw_node_state"), 1);
  if ((*server)->pid_namespace()) {
    // With /proc mounted, as in any container, the process metrics are there.
    EXPECT_GT(metrics->Sum("process_resident_memory_bytes"), 0);
  }

  // SIGTERM, as `docker stop` and the kubelet send it; as PID 1 a signal without a handler would
  // be dropped, so this also proves the server stops when it is a container's init.
  StopAndExpectExitZero(**server);
}

// An HTTPS front for one dev cluster node on 127.0.0.1:<free port>: every request is passed to
// the node over plain HTTP and its answer sent back. Its handlers run on httplib's threads.
class HttpsFront {
 public:
  HttpsFront(const std::string& cert, const std::string& key, const std::string& node)
      : server_(cert.c_str(), key.c_str()), node_(node) {
    // Handlers per method, not a pre-routing handler: httplib reads the body only for these.
    const auto forward = [this](const httplib::Request& request, httplib::Response& response) {
      Forward(request, response);
    };
    server_.Get(".*", forward);
    server_.Post(".*", forward);
    server_.Put(".*", forward);
    server_.Delete(".*", forward);
    if (!server_.is_valid()) return;
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    running_ = WaitFor([this] { return server_.is_running(); }, absl::Seconds(5), "HTTPS front");
  }
  ~HttpsFront() {
    if (running_) server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  bool ok() const { return running_; }
  int port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  void Forward(const httplib::Request& request, httplib::Response& response) {
    ++requests_;
    const size_t colon = node_.rfind(':');
    httplib::Client upstream(node_.substr(0, colon), std::stoi(node_.substr(colon + 1)));
    httplib::Request forwarded;
    forwarded.method = request.method;
    forwarded.path = request.target;  // path and query as the client sent them
    forwarded.body = request.body;    // already gunzipped by httplib when it was compressed
    if (request.has_header("Content-Type")) {
      forwarded.set_header("Content-Type", request.get_header_value("Content-Type"));
    }
    httplib::Result result = upstream.send(forwarded);
    if (!result) {
      response.status = 502;
      return;
    }
    response.status = result->status;
    response.set_content(result->body, result->get_header_value("Content-Type").c_str());
  }

  httplib::SSLServer server_;
  std::string node_;
  int port_ = 0;
  bool running_ = false;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

TEST_F(ImageRunTest, ServerInsideTheTreeVerifiesHttpsNodesWithTheImagesCaBundle) {
  // A node whose certificate chains to a CA that only the image's bundle holds: without
  // --es_ca_file the Search can only succeed if libcurl reads that bundle inside the image.
  // A CA and a leaf for kEsHostName, next to the tree, not in it; TearDown removes both.
  absl::StatusOr<testing::TestCertificates> pki = testing::TestCertificates::Create(
      fs::path(rootfs_.dir).parent_path().string() + "/pki", "esgw image test CA");
  ASSERT_TRUE(pki.ok()) << pki.status();
  const absl::Status made =
      pki->AddLeaf("node", {.common_name = kEsHostName, .dns_names = {kEsHostName}});
  ASSERT_TRUE(made.ok()) << made;
  absl::StatusOr<CommandResult> curl_config = RunCommand({"curl-config", "--ca"});
  ASSERT_TRUE(curl_config.ok() && curl_config->exit_code == 0);
  const std::string bundle(absl::StripAsciiWhitespace(curl_config->output));
  absl::StatusOr<std::string> ca = ReadFile(pki->CertPath("ca"));
  ASSERT_TRUE(ca.ok()) << ca.status();
  ASSERT_TRUE(WriteFile(rootfs_.Host(bundle), *ca, std::ios::app).ok());

  HttpsFront front(pki->CertPath("node"), pki->KeyPath("node"), cluster_->node_addresses()[0]);
  ASSERT_TRUE(front.ok()) << "the HTTPS front did not start";
  const std::string seed = absl::StrCat(kEsHostName, ":", front.port());
  // The seed only: sniffing would add the dev cluster's plain-HTTP addresses.
  auto server = ContainedServer::Start(
      rootfs_, {absl::StrCat("--es_nodes=https://", seed), "--pool_mode=static"});
  ASSERT_TRUE(server.ok()) << server.status();

  ASSERT_TRUE(WaitUntilServing((*server)->channel())) << (*server)->process().Log();
  esgw::v1::SearchResponse response;
  const absl::Status search = SearchProducts((*server)->channel(), &response);
  ASSERT_TRUE(search.ok()) << search << "\n" << (*server)->process().Log();
  EXPECT_EQ(response.hits_size(), 3);
  EXPECT_EQ(response.served_by(), seed);
  EXPECT_GE(front.requests(), 1);

  StopAndExpectExitZero(**server);
}

}  // namespace
}  // namespace esgw
