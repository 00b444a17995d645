// Writing files so that a failure never destroys what was there: each file is written under a temporary
// name in its own directory, flushed to disk (fsync), and only then renamed over its target. rename() within
// one directory is atomic on POSIX file systems, so the target is at every moment either the old file or the
// complete new one, and a run that fails (a full disk, an exception, a kill) leaves the old file intact.
//
// StagedFiles does this for several files at once (a checkpoint folder): every file is staged first and
// renamed only when all of them were written, so a failure while writing any of them changes none of the
// targets. The renames themselves are separate steps; a crash between two of them (microseconds) can leave
// some targets new and some old, which strict loading then reports instead of silently mixing weights.
//
// POSIX only (open/write/fsync/rename), like the rest of the library's targets.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "vit/core/error.hpp"

namespace vit {

// A borrowed run of bytes; a file is written as a sequence of them (a header, then each tensor's data),
// so large tensors are written from where they are instead of being copied into one buffer first.
struct ByteSpan {
  const void* data = nullptr;
  std::size_t size = 0;
};

namespace detail {

// A name no other writer in this or another process uses at the same time: ".NAME.tmp-PID-COUNTER".
// The leading dot keeps it out of globs such as *.safetensors if it is ever left behind by a crash.
inline std::filesystem::path temporary_sibling(const std::filesystem::path& target) {
  static std::atomic<std::uint64_t> counter{0};
  return target.parent_path() / concat(".", target.filename().string(), ".tmp-", ::getpid(), "-", counter++);
}

// Writes `chunks` to a new file at `path` (which must not exist) and fsyncs it. On failure the partial
// file is removed and vit::Error says which file and why.
inline void write_new_file(const std::filesystem::path& path, const std::vector<ByteSpan>& chunks,
                           const std::string& target) {
  // 0666 minus the umask, as an ordinary file; O_EXCL: never write through someone else's file or link.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  VIT_CHECK(fd >= 0, target, ": cannot create the temporary file ", path.string(), " (", std::strerror(errno), ")");
  const auto fail_and_remove = [&](const char* what, int error) {
    ::close(fd);
    ::unlink(path.c_str());
    fail(target, ": ", what, " failed (", std::strerror(error), "); the previous file, if any, is unchanged");
  };
  for (const ByteSpan& chunk : chunks) {
    const char* cursor = static_cast<const char*>(chunk.data);
    std::size_t left = chunk.size;
    while (left > 0) {
      const ssize_t written = ::write(fd, cursor, left);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) fail_and_remove("writing", written < 0 ? errno : ENOSPC);
      cursor += written;
      left -= std::size_t(written);
    }
  }
  if (::fsync(fd) != 0) fail_and_remove("flushing to disk", errno);
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(path.c_str());
    fail(target, ": closing failed (", std::strerror(error), "); the previous file, if any, is unchanged");
  }
}

// Makes the renames in `directory` durable (best effort: some file systems refuse to fsync a directory).
inline void sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace detail

// Several files written all-or-nothing (see the top of this file). Stage each file, then commit(); a
// StagedFiles destroyed without commit() (an exception on the way) removes its temporary files.
class StagedFiles {
 public:
  StagedFiles() = default;
  StagedFiles(const StagedFiles&) = delete;
  StagedFiles& operator=(const StagedFiles&) = delete;
  ~StagedFiles() {
    for (const Staged& file : staged_) ::unlink(file.temporary.c_str());
  }

  // Writes the bytes under a temporary name beside `target`; the target itself is not touched yet.
  void stage(const std::string& target, const std::vector<ByteSpan>& chunks) {
    const std::filesystem::path path(target);
    VIT_CHECK(!path.filename().empty(), target, ": not a file name");
    std::error_code error;
    VIT_CHECK(!std::filesystem::is_directory(path, error), target, ": is a directory");
    const std::filesystem::path temporary = detail::temporary_sibling(path);
    detail::write_new_file(temporary, chunks, target);
    staged_.push_back({temporary, path});
  }

  void stage(const std::string& target, const std::string& text) { stage(target, {{text.data(), text.size()}}); }

  // Renames every staged file over its target, in staging order.
  void commit() {
    for (std::size_t i = 0; i < staged_.size(); ++i) {
      const Staged& file = staged_[i];
      if (::rename(file.temporary.c_str(), file.target.c_str()) != 0) {
        const int error = errno;
        staged_.erase(staged_.begin(), staged_.begin() + std::ptrdiff_t(i));  // those are in place now
        detail::fail(file.target.string(), ": cannot rename the new file into place (", std::strerror(error), ")");
      }
    }
    std::vector<std::filesystem::path> directories;
    for (const Staged& file : staged_) directories.push_back(file.target.parent_path());
    staged_.clear();
    std::sort(directories.begin(), directories.end());
    directories.erase(std::unique(directories.begin(), directories.end()), directories.end());
    for (const auto& directory : directories) detail::sync_directory(directory);
  }

 private:
  struct Staged {
    std::filesystem::path temporary, target;
  };
  std::vector<Staged> staged_;
};

// One file written atomically: the target is replaced only once the new contents are complete on disk.
inline void write_file_atomically(const std::string& path, const std::vector<ByteSpan>& chunks) {
  StagedFiles files;
  files.stage(path, chunks);
  files.commit();
}

inline void write_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, {{text.data(), text.size()}});
}

}  // namespace vit
