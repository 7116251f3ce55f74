#pragma once
// Write-then-rename, so that readers (and a crash, a cancel, a full disk) only ever see the old state or
// the complete new file/folder, never a half-written one. Temporaries live next to the target (same
// file system, so rename is atomic) and are removed when the object dies uncommitted.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace awq {

class AtomicFile {
public:
    explicit AtomicFile(const std::string& path);  // creates "<path>.tmp-XXXXXX"
    ~AtomicFile();                                 // removes the temporary unless committed
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    void write(const void* data, size_t n);
    void write(std::string_view s) { write(s.data(), s.size()); }
    uint64_t bytes_written() const { return written_; }
    // fsync, rename over `path`, fsync the folder. Errors name the target path.
    void commit();
    const std::string& temp_path() const { return temp_path_; }

private:
    std::string path_, temp_path_;
    int fd_ = -1;
    uint64_t written_ = 0;
    bool committed_ = false;
};

void write_file_atomically(const std::string& path, std::string_view content);

// A folder built under "<path>.tmp-XXXXXX" and renamed to `path` by commit(). `path` must not exist or
// be an empty folder; the constructor checks that up front so callers fail before doing expensive work.
// rm -rf with POSIX calls (nftw). Not std::filesystem::remove_all: in binaries linked with the PyPI
// LibTorch that symbol resolves to the copy libtorch.so exports, which crashes on a non-empty folder.
// Returns false when something could not be removed.
bool remove_tree(const std::string& path);

class AtomicDirectory {
public:
    explicit AtomicDirectory(const std::string& path);
    ~AtomicDirectory();  // removes the temporary folder and everything in it unless committed
    AtomicDirectory(const AtomicDirectory&) = delete;
    AtomicDirectory& operator=(const AtomicDirectory&) = delete;

    const std::string& temp_path() const { return temp_path_; }
    std::string file(const std::string& name) const { return temp_path_ + "/" + name; }
    void commit();

private:
    std::string path_, temp_path_;
    bool committed_ = false;
};

}  // namespace awq
