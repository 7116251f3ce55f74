#include "io/atomic_write.h"

#include <ftw.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "core/error.h"

namespace awq {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int e) { return std::strerror(e); }

std::string parent_of(const std::string& path) {
    fs::path p = fs::path(path).parent_path();
    return p.empty() ? "." : p.string();
}

// A rename is only durable once the folder holding the new name is flushed.
void fsync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // best effort: the rename itself already happened
    ::fsync(fd);
    ::close(fd);
}

void fsync_path(const std::string& path, const std::string& where) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(where, "cannot open " + path + " to flush it: " + errno_text(errno));
    const int rc = ::fsync(fd);
    const int e = errno;
    ::close(fd);
    if (rc != 0) throw Error(where, "cannot flush " + path + ": " + errno_text(e));
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
    std::vector<char> tmpl(path.begin(), path.end());
    const std::string suffix = ".tmp-XXXXXX";
    tmpl.insert(tmpl.end(), suffix.begin(), suffix.end());
    tmpl.push_back('\0');
    fd_ = ::mkstemp(tmpl.data());
    if (fd_ < 0) throw Error(path, "cannot create a temporary file next to it: " + errno_text(errno));
    temp_path_ = tmpl.data();
    ::fchmod(fd_, 0644);  // mkstemp makes 0600; a model file is meant to be shared like any other
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd_, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw Error(path_, "cannot write: " + errno_text(errno));
        }
        p += w;
        n -= static_cast<size_t>(w);
        written_ += static_cast<uint64_t>(w);
    }
}

void AtomicFile::commit() {
    if (::fsync(fd_) != 0) throw Error(path_, "cannot flush to disk: " + errno_text(errno));
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) throw Error(path_, "cannot close: " + errno_text(errno));
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) throw Error(path_, "cannot rename the temporary file into place: " + errno_text(errno));
    committed_ = true;
    fsync_dir(parent_of(path_));
}

void write_file_atomically(const std::string& path, std::string_view content) {
    AtomicFile f(path);
    f.write(content);
    f.commit();
}

AtomicDirectory::AtomicDirectory(const std::string& path) : path_(path) {
    while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(path_, ec);
    if (fs::exists(st)) {
        if (!fs::is_directory(st)) throw Error(path_, "already exists and is not a folder");
        if (!fs::is_empty(path_, ec)) throw Error(path_, "output folder already exists and is not empty");
    }
    const std::string parent = parent_of(path_);
    if (!fs::is_directory(parent, ec)) throw Error(path_, "parent folder " + parent + " does not exist");
    std::vector<char> tmpl(path_.begin(), path_.end());
    const std::string suffix = ".tmp-XXXXXX";
    tmpl.insert(tmpl.end(), suffix.begin(), suffix.end());
    tmpl.push_back('\0');
    if (!::mkdtemp(tmpl.data())) throw Error(path_, "cannot create a temporary folder next to it: " + errno_text(errno));
    temp_path_ = tmpl.data();
    ::chmod(temp_path_.c_str(), 0755);
}

bool remove_tree(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT;
    const int rc = ::nftw(
        path.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p) == 0 ? 0 : -1; }, 16,
        FTW_DEPTH | FTW_PHYS);
    return rc == 0;
}

AtomicDirectory::~AtomicDirectory() {
    if (!committed_ && !temp_path_.empty()) remove_tree(temp_path_);
}

void AtomicDirectory::commit() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(temp_path_, ec))
        if (e.is_regular_file()) fsync_path(e.path().string(), path_);
    fsync_dir(temp_path_);
    // rename(2) replaces an empty folder and fails on a non-empty one, so a folder that appeared
    // meanwhile is never clobbered.
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        const int e = errno;
        if (e == ENOTEMPTY || e == EEXIST) throw Error(path_, "output folder already exists and is not empty");
        throw Error(path_, "cannot rename the temporary folder into place: " + errno_text(e));
    }
    committed_ = true;
    fsync_dir(parent_of(path_));
}

}  // namespace awq
