// Table: a plain-text table that fits a given width. Columns take the width of their widest
// cell; when the total is too wide, shrinkable columns give up columns (widest first, down to
// their minimum), and cells that no longer fit end in an ellipsis. Every cell is made printable
// (format.h), so document text cannot inject terminal sequences. Colour is applied after
// padding, so it never changes the layout.
// Thread-compatible: build on one thread, render from any.
#pragma once

#include <string>
#include <vector>

namespace esgw::cli {

class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
    // May be narrowed below its content's width, never below min_width.
    bool shrinkable = false;
    int min_width = 4;
    // Shrinkable columns with a lower order give up their width first.
    int shrink_order = 0;
  };
  struct Cell {
    Cell(std::string t) : text(std::move(t)) {}  // NOLINT: cells are mostly plain strings
    Cell(const char* t) : text(t) {}             // NOLINT
    Cell(std::string t, std::string s) : text(std::move(t)), style(std::move(s)) {}
    std::string text;
    // An SGR parameter (terminal.h, e.g. kRed) used when rendering with colour.
    std::string style = "";
  };
  struct RenderOptions {
    int width = 80;
    bool color = false;
    bool unicode = false;
    // Columns between cells.
    int gap = 2;
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // A row with one cell per column (missing cells are empty, extra ones dropped).
  void AddRow(std::vector<Cell> cells);
  size_t rows() const { return rows_.size(); }

  // Header and rows, each line ending in '\n', none wider than options.width (if even the
  // minimum widths do not fit, lines are cut at the width). Trailing spaces are trimmed.
  std::string Render(const RenderOptions& options) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace esgw::cli
