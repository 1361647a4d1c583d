#include "client/cli/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace esgw::cli {
namespace {

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  int number = 0;
  if (value != nullptr && absl::SimpleAtoi(value, &number) && number > 0) return number;
  return fallback;
}

bool Utf8Locale() {
  // The first of these that is set decides, as setlocale() would.
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    const std::string lower = absl::AsciiStrToLower(value);
    return absl::StrContains(lower, "utf-8") || absl::StrContains(lower, "utf8");
  }
  return false;
}

}  // namespace

TerminalInfo ProbeTerminal(int fd) {
  TerminalInfo info;
  info.tty = isatty(fd) == 1;
  info.width = EnvInt("COLUMNS", 80);
  info.height = EnvInt("LINES", 24);
  if (info.tty) {
    winsize size{};
    if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
      info.width = size.ws_col;
      if (size.ws_row > 0) info.height = size.ws_row;
    }
    const char* term = std::getenv("TERM");
    const char* no_color = std::getenv("NO_COLOR");
    info.color = (no_color == nullptr || *no_color == '\0') &&
                 (term == nullptr || std::string(term) != "dumb");
  }
  info.unicode = Utf8Locale();
  return info;
}

}  // namespace esgw::cli
