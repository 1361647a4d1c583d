#include "client/cli/flag_set.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace esgw::cli {
namespace {

absl::Status Invalid(const std::string& name, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", rule));
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Splits text into lines of at most width columns at spaces.
std::vector<std::string> Wrap(absl::string_view text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(std::move(line));
      line.clear();
    }
    if (!line.empty()) line.push_back(' ');
    line.append(word.data(), word.size());
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

}  // namespace

FlagSet::Flag& FlagSet::Add(std::string name, Kind kind, void* target, std::string value_name,
                            std::string help) {
  flags_.push_back(Flag{.name = std::move(name),
                        .kind = kind,
                        .target = target,
                        .value_name = std::move(value_name),
                        .help = std::move(help),
                        .group = group_,
                        .default_text = ""});
  return flags_.back();
}

void FlagSet::AddString(std::string name, std::string* target, std::string value_name,
                        std::string help) {
  Flag& flag = Add(std::move(name), Kind::kString, target, std::move(value_name), std::move(help));
  flag.default_text = *target;
}

void FlagSet::AddChoice(std::string name, std::string* target, std::vector<std::string> choices,
                        std::string help) {
  Flag& flag =
      Add(std::move(name), Kind::kChoice, target, absl::StrJoin(choices, "|"), std::move(help));
  flag.choices = std::move(choices);
  flag.default_text = *target;
}

void FlagSet::AddBool(std::string name, bool* target, std::string help) {
  Flag& flag = Add(std::move(name), Kind::kBool, target, "", std::move(help));
  flag.default_text = *target ? "true" : "";
}

void FlagSet::AddInt(std::string name, int64_t* target, int64_t min, int64_t max,
                     std::string value_name, std::string help) {
  Flag& flag = Add(std::move(name), Kind::kInt, target, std::move(value_name), std::move(help));
  flag.min = min;
  flag.max = max;
  flag.default_text = absl::StrCat(*target);
}

void FlagSet::AddDuration(std::string name, absl::Duration* target, absl::Duration min,
                          absl::Duration max, std::string help) {
  Flag& flag = Add(std::move(name), Kind::kDuration, target, "DURATION", std::move(help));
  flag.min_duration = min;
  flag.max_duration = max;
  flag.default_text = *target == absl::ZeroDuration() ? "" : absl::FormatDuration(*target);
}

void FlagSet::AddList(std::string name, std::vector<std::string>* target, std::string value_name,
                      std::string help) {
  Flag& flag = Add(std::move(name), Kind::kList, target, std::move(value_name), std::move(help));
  flag.default_text = absl::StrJoin(*target, ",");
}

FlagSet::Flag* FlagSet::Find(const std::string& name) {
  for (Flag& flag : flags_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

bool FlagSet::IsSet(const std::string& name) const {
  for (const Flag& flag : flags_) {
    if (flag.name == name) return flag.set;
  }
  return false;
}

std::string FlagSet::Suggest(const std::string& name) const {
  const Flag* best = nullptr;
  size_t best_distance = 0;
  for (const Flag& flag : flags_) {
    const size_t distance = EditDistance(name, flag.name);
    if (best == nullptr || distance < best_distance) {
      best = &flag;
      best_distance = distance;
    }
  }
  if (best == nullptr || best_distance > std::max<size_t>(2, name.size() / 3)) return "";
  return absl::StrCat(" (did you mean --", best->name, "?)");
}

absl::Status FlagSet::Assign(Flag& flag, const std::string& value) {
  flag.set = true;
  switch (flag.kind) {
    case Kind::kString:
      *static_cast<std::string*>(flag.target) = value;
      return absl::OkStatus();
    case Kind::kChoice:
      if (std::find(flag.choices.begin(), flag.choices.end(), value) == flag.choices.end()) {
        return Invalid(flag.name, absl::StrCat("must be one of ", absl::StrJoin(flag.choices, ", "),
                                               "; got \"", value, "\""));
      }
      *static_cast<std::string*>(flag.target) = value;
      return absl::OkStatus();
    case Kind::kBool: {
      const std::string lower = absl::AsciiStrToLower(value);
      bool parsed;
      if (lower == "true" || lower == "1" || lower == "yes") {
        parsed = true;
      } else if (lower == "false" || lower == "0" || lower == "no") {
        parsed = false;
      } else {
        return Invalid(flag.name, absl::StrCat("must be true or false; got \"", value, "\""));
      }
      *static_cast<bool*>(flag.target) = parsed;
      return absl::OkStatus();
    }
    case Kind::kInt: {
      int64_t parsed = 0;
      std::string digits = value;
      digits.erase(std::remove(digits.begin(), digits.end(), '_'), digits.end());
      if (!absl::SimpleAtoi(digits, &parsed) || parsed < flag.min || parsed > flag.max) {
        return Invalid(flag.name, absl::StrCat("must be a whole number from ", flag.min, " to ",
                                               flag.max, "; got \"", value, "\""));
      }
      *static_cast<int64_t*>(flag.target) = parsed;
      return absl::OkStatus();
    }
    case Kind::kDuration: {
      absl::Duration parsed;
      if (!absl::ParseDuration(value, &parsed)) {
        return Invalid(
            flag.name,
            absl::StrCat("must be a duration such as 500ms, 30s or 2m; got \"", value, "\""));
      }
      if (parsed < flag.min_duration || parsed > flag.max_duration) {
        return Invalid(
            flag.name,
            absl::StrCat("must be from ", absl::FormatDuration(flag.min_duration), " to ",
                         absl::FormatDuration(flag.max_duration), "; got ", value));
      }
      *static_cast<absl::Duration*>(flag.target) = parsed;
      return absl::OkStatus();
    }
    case Kind::kList: {
      auto* list = static_cast<std::vector<std::string>*>(flag.target);
      for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
        list->emplace_back(absl::StripAsciiWhitespace(part));
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args,
                            std::vector<std::string>* positional, bool stop_at_positional) {
  // A list flag's default is replaced, not extended, by the first value given.
  std::vector<std::string> lists_given;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional->insert(positional->end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                         args.end());
      return absl::OkStatus();
    }
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      help_ = true;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      if (stop_at_positional) {
        positional->insert(positional->end(), args.begin() + static_cast<std::ptrdiff_t>(i),
                           args.end());
        return absl::OkStatus();
      }
      positional->push_back(arg);
      continue;
    }
    // -name and --name are the same; a single dash is what absl flags accept too.
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string name = body;
    std::optional<std::string> value;
    if (const size_t eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
    }
    Flag* flag = Find(name);
    if (flag == nullptr && !value.has_value() && absl::StartsWith(name, "no")) {
      Flag* negated = Find(name.substr(2));
      if (negated != nullptr && negated->kind == Kind::kBool) {
        negated->set = true;
        *static_cast<bool*>(negated->target) = false;
        continue;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, Suggest(name)));
    }
    if (!value.has_value()) {
      if (flag->kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < args.size() &&
                 (args[i + 1] == "-" || !absl::StartsWith(args[i + 1], "-"))) {
        value = args[++i];
      } else {
        return Invalid(name, absl::StrCat("needs a value: --", name, "=", flag->value_name));
      }
    }
    if (flag->kind == Kind::kList &&
        std::find(lists_given.begin(), lists_given.end(), name) == lists_given.end()) {
      static_cast<std::vector<std::string>*>(flag->target)->clear();
      lists_given.push_back(name);
    }
    if (absl::Status status = Assign(*flag, *value); !status.ok()) return status;
  }
  return absl::OkStatus();
}

std::string FlagSet::Help(int width) const {
  std::vector<std::string> groups;
  for (const Flag& flag : flags_) {
    if (std::find(groups.begin(), groups.end(), flag.group) == groups.end()) {
      groups.push_back(flag.group);
    }
  }
  constexpr size_t kNameColumn = 26;
  const size_t help_width = std::max<size_t>(30, static_cast<size_t>(width) - kNameColumn - 1);
  std::string out;
  for (const std::string& group : groups) {
    absl::StrAppend(&out, out.empty() ? "" : "\n", group, ":\n");
    for (const Flag& flag : flags_) {
      if (flag.group != group) continue;
      std::string name = absl::StrCat("  --", flag.name);
      if (flag.kind != Kind::kBool) absl::StrAppend(&name, "=", flag.value_name);
      std::string help = flag.help;
      // Help that explains its default itself keeps its own words.
      if (!flag.default_text.empty() && !absl::StrContains(help, "(default")) {
        absl::StrAppend(&help, " (default: ", flag.default_text, ")");
      }
      std::vector<std::string> lines = Wrap(help, help_width);
      if (name.size() + 2 > kNameColumn) {
        absl::StrAppend(&out, name, "\n");
        name.clear();
      }
      for (const std::string& line : lines) {
        name.resize(kNameColumn, ' ');
        absl::StrAppend(&out, name, line, "\n");
        name.clear();
      }
    }
  }
  return out;
}

}  // namespace esgw::cli
