// The train tool's OUT/curves.png: the loss and the accuracy per epoch, drawn with cairo from OUT/log.csv
// (so a resumed run's plot holds every epoch, also those of the runs before it). Two panels side by side:
//   left:  training loss and validation loss;
//   right: training top-1, validation top-1 and validation top-5 (percent).
// The file is written under a temporary name and renamed, as every file the tool writes.
#pragma once

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include <vit/vit.hpp>

namespace training_plot {

// One line of log.csv: the columns the plot draws.
struct EpochPoint {
  double epoch = 0, train_loss = 0, train_top1 = 0, val_loss = 0, val_top1 = 0, val_top5 = 0;
};

// Reads log.csv by its header's column names (so added columns never shift what is drawn).
inline std::vector<EpochPoint> read_log(const std::string& path) {
  std::ifstream in(path);
  VIT_CHECK(in, path, ": cannot read the training log");
  std::string line;
  VIT_CHECK(std::getline(in, line), path, ": empty training log");
  std::map<std::string, std::size_t> column;
  {
    std::stringstream header(line);
    std::string name;
    for (std::size_t i = 0; std::getline(header, name, ','); ++i) column[name] = i;
  }
  for (const char* name : {"epoch", "train_loss", "train_top1", "val_loss", "val_top1", "val_top5"})
    VIT_CHECK(column.count(name), path, ": no column '", name, "' in the header");
  std::vector<EpochPoint> points;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> values;
    std::stringstream row(line);
    std::string cell;
    while (std::getline(row, cell, ',')) values.push_back(std::strtod(cell.c_str(), nullptr));
    VIT_CHECK(values.size() >= column.size(), path, ": a line with ", values.size(), " of ", column.size(), " columns");
    points.push_back({values[column["epoch"]], values[column["train_loss"]], values[column["train_top1"]],
                      values[column["val_loss"]], values[column["val_top1"]], values[column["val_top5"]]});
  }
  return points;
}

namespace detail {

struct Rgb {
  double r, g, b;
};
constexpr Rgb kTrainColour{0.12, 0.47, 0.71}, kValColour{1.0, 0.5, 0.05}, kGrid{0.88, 0.88, 0.88}, kInk{0.15, 0.15, 0.15};

// Tick positions 1, 2 or 5 times a power of ten apart, about `count` of them across [low, high].
inline std::vector<double> ticks(double low, double high, int count) {
  const double raw = (high - low) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> result;
  for (double t = std::ceil(low / step - 1e-9) * step; t <= high + 1e-9 * step; t += step) result.push_back(t);
  return result;
}

inline std::string format_tick(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", std::abs(value) < 1e-12 ? 0.0 : value);
  return text;
}

struct Series {
  std::string name;
  std::vector<double> values;
  Rgb colour;
  bool dashed = false;
};

// Text placed by its anchor: `align_x` 0 left, 0.5 centre, 1 right; `align_y` likewise from top to bottom.
inline void draw_text(cairo_t* cr, const std::string& text, double x, double y, double align_x, double align_y) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  cairo_move_to(cr, x - extents.x_bearing - align_x * extents.width, y - extents.y_bearing - align_y * extents.height);
  cairo_show_text(cr, text.c_str());
}

// One panel: axes, grid, tick labels, the series as lines with a dot per epoch, and a legend on a white box
// in the top or bottom right corner (where the curves usually are not: losses fall, accuracies rise).
enum class LegendAt { TopRight, BottomRight };

inline void draw_panel(cairo_t* cr, double left, double top, double width, double height, const std::string& title,
                       const std::vector<double>& epochs, const std::vector<Series>& series, double y_low, double y_high,
                       LegendAt legend_at) {
  const double x_low = std::min(1.0, epochs.front()) - 0.5, x_high = std::max(epochs.back(), x_low + 1.5) + 0.5;
  const auto x_of = [&](double e) { return left + (e - x_low) / (x_high - x_low) * width; };
  const auto y_of = [&](double v) { return top + height - (v - y_low) / (y_high - y_low) * height; };
  cairo_set_font_size(cr, 12);
  cairo_set_line_width(cr, 1);
  for (double t : ticks(y_low, y_high, 6)) {
    cairo_set_source_rgb(cr, kGrid.r, kGrid.g, kGrid.b);
    cairo_move_to(cr, left, y_of(t));
    cairo_line_to(cr, left + width, y_of(t));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, kInk.r, kInk.g, kInk.b);
    draw_text(cr, format_tick(t), left - 6, y_of(t), 1, 0.5);
  }
  for (double t : ticks(std::max(1.0, x_low), x_high, 8)) {
    if (t != std::round(t)) continue;  // whole epochs only
    cairo_set_source_rgb(cr, kInk.r, kInk.g, kInk.b);
    cairo_move_to(cr, x_of(t), top + height);
    cairo_line_to(cr, x_of(t), top + height + 4);
    cairo_stroke(cr);
    draw_text(cr, format_tick(t), x_of(t), top + height + 7, 0.5, 0);
  }
  cairo_set_source_rgb(cr, kInk.r, kInk.g, kInk.b);
  cairo_rectangle(cr, left, top, width, height);
  cairo_stroke(cr);
  draw_text(cr, "epoch", left + width / 2, top + height + 24, 0.5, 0);
  cairo_set_font_size(cr, 14);
  draw_text(cr, title, left + width / 2, top - 12, 0.5, 1);

  cairo_save(cr);
  cairo_rectangle(cr, left, top, width, height);
  cairo_clip(cr);
  for (const Series& s : series) {
    cairo_set_source_rgb(cr, s.colour.r, s.colour.g, s.colour.b);
    cairo_set_line_width(cr, 2);
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, s.dashed ? 2 : 0, 0);
    for (std::size_t i = 0; i < epochs.size(); ++i)
      (i == 0 ? cairo_move_to : cairo_line_to)(cr, x_of(epochs[i]), y_of(s.values[i]));
    cairo_stroke(cr);
    cairo_set_dash(cr, dash, 0, 0);
    for (std::size_t i = 0; i < epochs.size(); ++i) {
      cairo_arc(cr, x_of(epochs[i]), y_of(s.values[i]), 2.5, 0, 2 * M_PI);
      cairo_fill(cr);
    }
  }
  cairo_restore(cr);

  cairo_set_font_size(cr, 12);
  const double box_width = 150, box_height = 18.0 * double(series.size()) + 8, x = left + width - box_width - 6;
  const double box_top = legend_at == LegendAt::TopRight ? top + 6 : top + height - box_height - 6;
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_rectangle(cr, x - 6, box_top, box_width, box_height);
  cairo_fill(cr);
  double y = box_top + 13;
  for (const Series& s : series) {
    cairo_set_source_rgb(cr, s.colour.r, s.colour.g, s.colour.b);
    cairo_set_line_width(cr, 2);
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, s.dashed ? 2 : 0, 0);
    cairo_move_to(cr, x, y);
    cairo_line_to(cr, x + 24, y);
    cairo_stroke(cr);
    cairo_set_dash(cr, dash, 0, 0);
    cairo_set_source_rgb(cr, kInk.r, kInk.g, kInk.b);
    draw_text(cr, s.name, x + 30, y, 0, 0.5);
    y += 18;
  }
}

inline cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace detail

// The two panels for `points` (one per epoch, at least one) as PNG bytes; `title` goes above them.
inline std::string render_png(const std::vector<EpochPoint>& points, const std::string& title) {
  using namespace detail;
  VIT_CHECK(!points.empty(), "render_png: no epochs to plot");
  std::vector<double> epochs, train_loss, val_loss, train_top1, val_top1, val_top5;
  for (const EpochPoint& p : points) {
    epochs.push_back(p.epoch);
    train_loss.push_back(p.train_loss);
    val_loss.push_back(p.val_loss);
    train_top1.push_back(100 * p.train_top1);
    val_top1.push_back(100 * p.val_top1);
    val_top5.push_back(100 * p.val_top5);
  }
  const int width = 1100, height = 460;
  const std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height), &cairo_surface_destroy);
  const std::unique_ptr<cairo_t, decltype(&cairo_destroy)> context(cairo_create(surface.get()), &cairo_destroy);
  cairo_t* cr = context.get();
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, kInk.r, kInk.g, kInk.b);
  cairo_set_font_size(cr, 15);
  draw_text(cr, title, width / 2.0, 10, 0.5, 0);

  const auto lowest = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
  const auto highest = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); };
  const double loss_max = std::max(highest(train_loss), highest(val_loss));
  draw_panel(cr, 70, 70, 440, 330, "loss", epochs,
             {{"training", train_loss, kTrainColour}, {"validation", val_loss, kValColour}},
             0, std::max(loss_max * 1.08, 1e-3), LegendAt::TopRight);
  const double accuracy_min = std::min(lowest(train_top1), lowest(val_top1));
  draw_panel(cr, 620, 70, 440, 330, "accuracy (%)", epochs,
             {{"training top-1", train_top1, kTrainColour},
              {"validation top-1", val_top1, kValColour},
              {"validation top-5", val_top5, kValColour, true}},
             std::max(0.0, std::floor(accuracy_min / 10) * 10 - 5), 101, LegendAt::BottomRight);

  cairo_surface_flush(surface.get());
  VIT_CHECK(cairo_status(cr) == CAIRO_STATUS_SUCCESS, "render_png: cairo: ", cairo_status_to_string(cairo_status(cr)));
  std::string png;
  const cairo_status_t written = cairo_surface_write_to_png_stream(surface.get(), append_bytes, &png);
  VIT_CHECK(written == CAIRO_STATUS_SUCCESS, "render_png: cairo: ", cairo_status_to_string(written));
  return png;
}

// Redraws `png_path` from the log at `log_path` (atomically: the previous plot stays until the new one is whole).
inline void plot_log(const std::string& log_path, const std::string& png_path, const std::string& title) {
  vit::write_file_atomically(png_path, render_png(read_log(log_path), title));
}

}  // namespace training_plot
