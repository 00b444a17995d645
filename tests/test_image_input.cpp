// Image input that never silently drops or over-allocates: CMYK/YCCK JPEGs and EXIF orientation against
// PIL (tests/data/decode, written by tools/make_decode_fixtures.py), headers that claim more pixels than
// their file holds (with the peak memory measured), and directory searches that report what they cannot read.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <vit/io.hpp>

#include "support.hpp"
#include "temp_files.hpp"

namespace fs = std::filesystem;

namespace {

std::string decode_path(const std::string& name) { return vit::test::data_path("decode/" + name); }

int max_difference(const vit::Image& a, const vit::Image& b) {
  REQUIRE(a.width == b.width);
  REQUIRE(a.height == b.height);
  int largest = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) largest = std::max(largest, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
  return largest;
}

nlohmann::json manifest() {
  std::ifstream stream(decode_path("manifest.json"));
  REQUIRE(stream);
  return nlohmann::json::parse(stream);
}

std::vector<std::uint8_t> read_bytes(const std::string& path) { return vit::detail::read_file(path); }

// A value from /proc/self/status, in kB; -1 when absent.
long status_kb(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key + ":", 0) == 0) return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
  return -1;
}

// How far this process's peak resident memory rose while `work` ran, in MB; a negative value where Linux's
// /proc/self/clear_refs cannot reset the peak first (then the caller skips the check).
double peak_growth_mb(const std::function<void()>& work) {
  {
    std::ofstream reset("/proc/self/clear_refs");
    if (!(reset << "5" << std::flush)) return -1;
  }
  const long before = status_kb("VmHWM");
  if (before < 0) return -1;
  work();
  return double(status_kb("VmHWM") - before) / 1024.0;
}

// Decoding `bytes` must fail with a message containing `expected`, and cost less than 16 MB of memory.
void require_refused_cheaply(const std::vector<std::uint8_t>& bytes, const std::string& expected) {
  std::string message;
  const double grown = peak_growth_mb([&] {
    try {
      (void)vit::decode_image(bytes.data(), bytes.size(), "liar");
    } catch (const vit::Error& error) {
      message = error.what();
    }
  });
  INFO("message: " << message);
  CHECK(message.find(expected) != std::string::npos);
  if (grown < 0) {
    WARN("SKIPPED the peak-memory check: /proc/self/clear_refs cannot reset the peak here");
    return;
  }
  INFO("peak resident memory grew by " << grown << " MB");
  CHECK(grown < 16.0);
}

}  // namespace

TEST_CASE("images: CMYK and YCCK JPEGs decode as PIL converts them to RGB", "[image][parity]") {
  const nlohmann::json fixtures = manifest();
  int cases = 0;
  for (const auto& entry : fixtures.at("cases")) {
    const std::string kind = entry.at("kind");
    if (kind != "cmyk" && kind != "ycck") continue;
    const std::string file = entry.at("file");
    const vit::Image ours = vit::load_image(decode_path(file));
    const vit::Image pil = vit::load_image(decode_path(entry.at("expected")));
    INFO(file);
    // Same libjpeg CMYK bytes and PIL's integer formula: identical, though the issue allows one step.
    CHECK(max_difference(ours, pil) == 0);
    ++cases;
  }
  CHECK(cases == 3);
  // The formula itself, on its extremes: no ink and no black is white; full black is black whatever the ink.
  CHECK(vit::detail::cmyk_channel_like_pil(255, 255) == 255);
  CHECK(vit::detail::cmyk_channel_like_pil(0, 255) == 0);
  CHECK(vit::detail::cmyk_channel_like_pil(255, 0) == 0);
  CHECK(vit::detail::cmyk_channel_like_pil(128, 255) == 128);
}

TEST_CASE("images: EXIF orientations 1-8 applied as PIL's ImageOps.exif_transpose, only when asked", "[image][parity]") {
  const nlohmann::json fixtures = manifest();
  int cases = 0;
  for (const auto& entry : fixtures.at("cases")) {
    if (entry.at("kind") != "exif") continue;
    const std::string file = entry.at("file");
    INFO(file << " (orientation " << entry.at("orientation") << ")");
    vit::DecodeOptions upright;
    upright.exif_orientation = true;
    const vit::Image turned = vit::load_image(decode_path(file), upright);
    const vit::Image expected = vit::load_image(decode_path(entry.at("expected")));
    CHECK(turned.width == entry.at("expected_size")[0].get<int>());
    CHECK(turned.height == entry.at("expected_size")[1].get<int>());
    CHECK(max_difference(turned, expected) == 0);
    // Off by default: the pixels as stored, as PIL's Image.open and timm see them.
    CHECK(max_difference(vit::load_image(decode_path(file)), vit::load_image(decode_path(entry.at("plain")))) == 0);
    ++cases;
  }
  CHECK(cases == 11);  // 1-9 (9 is invalid: unchanged), a little-endian EXIF, a PNG eXIf chunk
}

TEST_CASE("images: apply_exif_orientation moves a pixel where each orientation says", "[image]") {
  // A 3×2 image whose pixel (x, y) holds the value 10·y + x in every channel.
  vit::Image image{3, 2, std::vector<std::uint8_t>(18)};
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) std::fill_n(image.row(y) + 3 * x, 3, std::uint8_t(10 * y + x));
  const auto at = [](const vit::Image& out, int x, int y) { return int(out.row(y)[3 * x]); };
  // Where the top-left pixel (value 0) and the top-right one (value 2) end up.
  struct Expected {
    int orientation, width, height, top_left_x, top_left_y, top_right_x, top_right_y;
  };
  for (const Expected& e : {Expected{1, 3, 2, 0, 0, 2, 0}, Expected{2, 3, 2, 2, 0, 0, 0}, Expected{3, 3, 2, 2, 1, 0, 1},
                            Expected{4, 3, 2, 0, 1, 2, 1}, Expected{5, 2, 3, 0, 0, 0, 2}, Expected{6, 2, 3, 1, 0, 1, 2},
                            Expected{7, 2, 3, 1, 2, 1, 0}, Expected{8, 2, 3, 0, 2, 0, 0}}) {
    INFO("orientation " << e.orientation);
    const vit::Image out = vit::apply_exif_orientation(image, e.orientation);
    REQUIRE(out.width == e.width);
    REQUIRE(out.height == e.height);
    CHECK(at(out, e.top_left_x, e.top_left_y) == 0);
    CHECK(at(out, e.top_right_x, e.top_right_y) == 2);
  }
}

TEST_CASE("images: a header claiming more pixels than its file holds is refused before allocating", "[image][errors]") {
  // A PNG of 69 bytes whose IHDR claims 13000×13000 RGB: it would cost ~500 MB to find out otherwise.
  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (std::uint32_t side : {13000u, 13000u})
    for (int shift = 24; shift >= 0; shift -= 8) png.push_back(std::uint8_t(side >> shift));
  for (int byte : {8, 2, 0, 0, 0, 0, 0, 0, 0}) png.push_back(std::uint8_t(byte));
  png.resize(69, 0);
  require_refused_cheaply(png, "a PNG of 13000x13000 pixels needs at least 491");

  // A real JPEG whose frame header is rewritten to claim 13000×13000.
  std::vector<std::uint8_t> jpeg = read_bytes(vit::test::data_path("images/baseline_120x90.jpg"));
  std::size_t sof = 2;
  while (sof + 9 < jpeg.size() && !(jpeg[sof] == 0xff && jpeg[sof + 1] == 0xc0)) sof += 2 + (jpeg[sof + 2] << 8 | jpeg[sof + 3]);
  REQUIRE(sof + 9 < jpeg.size());
  for (std::size_t at : {sof + 5, sof + 7}) {
    jpeg[at] = std::uint8_t(13000 >> 8);
    jpeg[at + 1] = std::uint8_t(13000 & 0xff);
  }
  require_refused_cheaply(jpeg, "a JPEG of 13000x13000 pixels needs at least 330");

  // A GIF whose logical screen claims 10000×10000 (stb would clear 9 bytes per pixel before decoding).
  std::vector<std::uint8_t> gif = read_bytes(vit::test::data_path("images/gif_20x20.gif"));
  for (std::size_t at : {6, 8}) {
    gif[at] = std::uint8_t(10000 & 0xff);
    gif[at + 1] = std::uint8_t(10000 >> 8);
  }
  require_refused_cheaply(gif, "10000x10000 pixels needs at least");

  // Legitimate extremes still decode: a flat 1500×1500 PNG compresses about 150-fold (stb_image_write), well inside the bound.
  vit::Image flat{1500, 1500, std::vector<std::uint8_t>(1500 * 1500 * 3, 7)};
  const std::vector<std::uint8_t> flat_png = vit::encode_png(flat);
  const bool same = vit::decode_image(flat_png.data(), flat_png.size(), "flat.png").pixels == flat.pixels;
  CHECK(same);  // a bool: Catch would print 6.75 million bytes otherwise
}

TEST_CASE("find_images: every entry that cannot be examined is reported, none is skipped silently", "[image][files]") {
  const vit::test::TempDir temp;
  const fs::path root = fs::path(temp.str()) / "photos";
  fs::create_directories(root / "sub");
  fs::create_directories(root / "other");
  for (const fs::path& path : {root / "a.JPG", root / "sub" / "b.png", root / "other" / "c.png", root / "notes.txt"})
    std::ofstream(path) << "x";
  fs::create_symlink(root / "gone.png", root / "dangling.png");  // its target does not exist
  fs::create_symlink(root / "loop.png", root / "loop.png");      // points at itself
  fs::create_directory_symlink(root, root / "sub" / "up");       // a cycle back to the root: ends there
  fs::create_directory_symlink(root / "other", root / "also");   // a second way into "other": found once

  vit::ImageSearch found = vit::find_images(root.string());
  const std::vector<std::string> images{(root / "a.JPG").string(), (root / "also" / "c.png").string(),
                                        (root / "sub" / "b.png").string()};
  CHECK(found.images == images);
  std::vector<std::string> problems;
  for (const vit::SearchProblem& problem : found.problems) {
    CHECK(problem.message.rfind(problem.path + ": ", 0) == 0);  // each message starts with the path it names
    problems.push_back(problem.path);
  }
  std::sort(problems.begin(), problems.end());
  CHECK(problems == std::vector<std::string>{(root / "dangling.png").string(), (root / "loop.png").string()});
  for (const vit::SearchProblem& problem : found.problems) CHECK(problem.message.find("symbolic link") != std::string::npos);

  // A sub-folder without read permission; root reads it anyway, so this part needs another user.
  if (geteuid() == 0) {
    WARN("SKIPPED the unreadable-folder case: running as root, who can read any folder");
    return;
  }
  fs::create_directory(root / "locked");
  std::ofstream(root / "locked" / "d.png") << "x";
  fs::permissions(root / "locked", fs::perms::none);
  found = vit::find_images(root.string());
  fs::permissions(root / "locked", fs::perms::owner_all);  // so that the temporary folder can be removed
  REQUIRE(found.problems.size() == 3);
  bool reported = false;
  for (const vit::SearchProblem& problem : found.problems)
    reported = reported || (problem.path == (root / "locked").string() &&
                            problem.message.find("cannot list the directory") != std::string::npos);
  CHECK(reported);
}
