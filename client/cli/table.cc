#include "client/cli/table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/cli/format.h"
#include "client/cli/terminal.h"

namespace esgw::cli {
namespace {

// line cut to width display columns (it holds no escape sequences at this point).
void CutToWidth(std::string& line, int width) {
  int seen = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) {
      if (seen == width) {
        line.resize(i);
        return;
      }
      ++seen;
    }
  }
}

}  // namespace

void Table::AddRow(std::vector<Cell> cells) {
  cells.resize(columns_.size(), Cell(""));
  for (Cell& cell : cells) cell.text = Printable(cell.text);
  rows_.push_back(std::move(cells));
}

std::string Table::Render(const RenderOptions& options) const {
  const size_t n = columns_.size();
  if (n == 0) return "";
  std::vector<int> widths(n);
  for (size_t c = 0; c < n; ++c) {
    widths[c] = DisplayWidth(columns_[c].header);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], DisplayWidth(row[c].text));
  }
  const auto total = [&] {
    int sum = options.gap * static_cast<int>(n - 1);
    for (int w : widths) sum += w;
    return sum;
  };
  // Narrow a column at a time until the table fits: the lowest shrink order first, the widest
  // among equals.
  while (total() > options.width) {
    int best = -1;
    for (size_t c = 0; c < n; ++c) {
      const int floor = std::max(columns_[c].min_width, 1);
      if (!columns_[c].shrinkable || widths[c] <= floor) continue;
      if (best < 0) {
        best = static_cast<int>(c);
        continue;
      }
      const Column& other = columns_[static_cast<size_t>(best)];
      if (columns_[c].shrink_order < other.shrink_order ||
          (columns_[c].shrink_order == other.shrink_order &&
           widths[c] > widths[static_cast<size_t>(best)])) {
        best = static_cast<int>(c);
      }
    }
    if (best < 0) break;
    --widths[static_cast<size_t>(best)];
  }

  std::string out;
  const auto render_line = [&](const std::vector<Cell>& cells, bool header) {
    std::string plain;
    std::vector<std::pair<size_t, size_t>> spans(n);  // byte span of each padded cell
    for (size_t c = 0; c < n; ++c) {
      if (c > 0) plain.append(static_cast<size_t>(options.gap), ' ');
      const std::string text = Ellipsize(cells[c].text, widths[c], options.unicode);
      const size_t pad = static_cast<size_t>(widths[c] - DisplayWidth(text));
      const size_t start = plain.size();
      if (columns_[c].align == Align::kRight) plain.append(pad, ' ');
      plain.append(text);
      if (columns_[c].align == Align::kLeft) plain.append(pad, ' ');
      spans[c] = {start, plain.size()};
    }
    // The line must fit even when the minimum widths do not.
    if (DisplayWidth(plain) > options.width) CutToWidth(plain, options.width);
    if (!options.color) {
      while (!plain.empty() && plain.back() == ' ') plain.pop_back();
      absl::StrAppend(&out, plain, "\n");
      return;
    }
    std::string styled;
    size_t at = 0;
    for (size_t c = 0; c < n; ++c) {
      const std::string& style = header ? std::string(kBold) : cells[c].style;
      const size_t start = std::min(spans[c].first, plain.size());
      const size_t end = std::min(spans[c].second, plain.size());
      styled.append(plain, at, start - at);
      if (!style.empty() && end > start) {
        absl::StrAppend(&styled, "\x1b[", style, "m", plain.substr(start, end - start), "\x1b[0m");
      } else {
        styled.append(plain, start, end - start);
      }
      at = end;
    }
    styled.append(plain, at, std::string::npos);
    while (!styled.empty() && styled.back() == ' ') styled.pop_back();
    absl::StrAppend(&out, styled, "\n");
  };
  std::vector<Cell> header;
  for (const Column& column : columns_) header.emplace_back(column.header);
  render_line(header, true);
  for (const auto& row : rows_) render_line(row, false);
  return out;
}

}  // namespace esgw::cli
