#pragma once
// Read-only memory map of a whole file. Checkpoint readers hand out views into it, so tensors are
// paged in by the OS on first touch instead of being read up front.
#include <cstddef>
#include <cstdint>
#include <string>

namespace awq {

class MappedFile {
public:
    explicit MappedFile(const std::string& path);  // throws awq::Error naming the path
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace awq
