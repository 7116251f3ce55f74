#pragma once
// One error type for everything the engine reports to a user. The message always names the thing at
// fault (a file, a tensor, a config key, an option) and the problem, so the CLI and GUI can show it as is.
#include <stdexcept>
#include <string>

namespace awq {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
    // "<where>: <problem>", e.g. "model.safetensors: tensor 'x' data range [0, 64) runs past end of file (48 bytes)"
    Error(const std::string& where, const std::string& problem) : std::runtime_error(where + ": " + problem) {}
};

// Thrown when a long operation notices its cancel flag; callers must leave nothing half written.
class Cancelled : public Error {
public:
    Cancelled() : Error("cancelled") {}
};

}  // namespace awq
