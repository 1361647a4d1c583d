// FlagSet: the flags of one esgw-cli command, parsed from that command's arguments, and the
// help text listing them. A small parser of our own rather than absl flags, because absl flags
// are process-wide (every command's flags would be accepted by every other command and listed in
// one help), while each esgw-cli command has its own set, its own --help and its own errors.
//
// Accepted forms: --name=value, --name value, --flag / --noflag for booleans (or
// --flag=true|false), "--" to end flags, "-" as a positional argument (stdin), -h / --help.
// Errors name the flag and the rule: "--size: must be a whole number from 0 to 10000, got
// \"ten\"", "unknown flag --indx (did you mean --index?)".
// Thread-compatible: build and parse on one thread. Targets are not owned and must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace esgw::cli {

class FlagSet {
 public:
  // Flags are listed in help under the heading of the group they were added in.
  void StartGroup(std::string heading) { group_ = std::move(heading); }

  void AddString(std::string name, std::string* target, std::string value_name, std::string help);
  // One of choices.
  void AddChoice(std::string name, std::string* target, std::vector<std::string> choices,
                 std::string help);
  void AddBool(std::string name, bool* target, std::string help);
  // A whole number in [min, max].
  void AddInt(std::string name, int64_t* target, int64_t min, int64_t max, std::string value_name,
              std::string help);
  // An absl duration ("500ms", "30s", "2m") in [min, max].
  void AddDuration(std::string name, absl::Duration* target, absl::Duration min, absl::Duration max,
                   std::string help);
  // Repeatable; each value may also be a comma-separated list.
  void AddList(std::string name, std::vector<std::string>* target, std::string value_name,
               std::string help);

  // Parses args. Positional arguments are appended to positional; with stop_at_positional, the
  // first one and everything after it are left unparsed and appended as they are (for the
  // flags that come before a command name). INVALID_ARGUMENT as above. --help sets help().
  absl::Status Parse(const std::vector<std::string>& args, std::vector<std::string>* positional,
                     bool stop_at_positional = false);
  bool help() const { return help_; }
  // True when the flag appeared in the arguments.
  bool IsSet(const std::string& name) const;

  // The flag list for --help: per group, "  --name=VALUE   help (default: x)", the help column
  // wrapped to width.
  std::string Help(int width = 80) const;

 private:
  enum class Kind { kString, kChoice, kBool, kInt, kDuration, kList };
  struct Flag {
    std::string name;
    Kind kind;
    void* target;
    std::string value_name;
    std::string help;
    std::string group;
    std::string default_text;
    std::vector<std::string> choices = {};
    int64_t min = 0;
    int64_t max = 0;
    absl::Duration min_duration = absl::ZeroDuration();
    absl::Duration max_duration = absl::ZeroDuration();
    bool set = false;
  };

  Flag& Add(std::string name, Kind kind, void* target, std::string value_name, std::string help);
  Flag* Find(const std::string& name);
  absl::Status Assign(Flag& flag, const std::string& value);
  std::string Suggest(const std::string& name) const;

  std::vector<Flag> flags_;
  std::string group_ = "Flags";
  bool help_ = false;
};

}  // namespace esgw::cli
