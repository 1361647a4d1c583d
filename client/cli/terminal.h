// What esgw-cli needs to know about where its output goes: a terminal or not, its size, whether
// colour and Unicode are welcome; and the few ANSI sequences it writes to terminals.
// Thread-safe: functions of the file descriptor and the environment only.
#pragma once

namespace esgw::cli {

struct TerminalInfo {
  // The descriptor is a terminal: redraw in place, colour, progress bars.
  bool tty = false;
  // Columns and rows (TIOCGWINSZ; else $COLUMNS / $LINES; else 80 x 24).
  int width = 80;
  int height = 24;
  // Colour on: a terminal, NO_COLOR unset, TERM not "dumb".
  bool color = false;
  // The locale is UTF-8, so "…" may stand for truncated text.
  bool unicode = false;
};

TerminalInfo ProbeTerminal(int fd);

// ANSI sequences (ECMA-48).
inline constexpr char kClearToEndOfLine[] = "\x1b[K";
inline constexpr char kClearToEndOfScreen[] = "\x1b[J";
inline constexpr char kCursorHome[] = "\x1b[H";
inline constexpr char kClearScreen[] = "\x1b[2J";
inline constexpr char kHideCursor[] = "\x1b[?25l";
inline constexpr char kShowCursor[] = "\x1b[?25h";
inline constexpr char kBold[] = "1";
inline constexpr char kDim[] = "2";
inline constexpr char kRed[] = "31";
inline constexpr char kGreen[] = "32";
inline constexpr char kYellow[] = "33";

}  // namespace esgw::cli
