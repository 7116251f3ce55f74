#include "convert/gguf_to_hf.h"

#include <nlohmann/json.hpp>

#include "convert/gguf_hf_tensors.h"
#include "core/error.h"
#include "core/model_config.h"
#include "io/atomic_write.h"
#include "io/gguf_model_config.h"
#include "io/gguf_reader.h"
#include "io/gguf_vocab_reader.h"
#include "io/safetensors_writer.h"
#include "tokenizer/tokenizer_json_export.h"

namespace awq {

namespace {

std::string dump_json(const nlohmann::json& j, const std::string& what, const std::string& where) {
    try {
        return j.dump(2) + "\n";
    } catch (const nlohmann::json::exception& e) {
        throw Error(where, "cannot write " + what + ": " + e.what());
    }
}

}  // namespace

void convert_gguf_to_hf(const std::string& gguf_path, const std::string& out_dir, const std::string& dtype,
                        const Progress& progress) {
    const DType st_dtype = safetensors_dtype_from_torch(dtype, "dtype");
    progress.report("read " + gguf_path, 0, 1);
    GgufReader g(gguf_path);
    ModelConfig cfg = model_config_from_gguf(g);
    cfg.torch_dtype = dtype;
    const GgufVocab vocab = read_gguf_vocab(g);
    const std::vector<GgufHfTensor> tensors = plan_gguf_hf_tensors(g, cfg);
    progress.check_cancel();

    AtomicDirectory dir(out_dir);
    SafetensorsWriter writer(dir.file("model.safetensors"));
    for (const GgufHfTensor& t : tensors)
        writer.add_lazy(t.hf_name, st_dtype, t.gguf->shape,
                        [&g, t](float* out, size_t n) { read_gguf_hf_tensor(g, t, out, n); });
    writer.write(progress);

    nlohmann::json gen = {{"_from_model_config", true}};
    if (cfg.bos_token_id) gen["bos_token_id"] = *cfg.bos_token_id;
    if (cfg.eos_token_ids.size() == 1) gen["eos_token_id"] = cfg.eos_token_ids[0];
    else if (!cfg.eos_token_ids.empty()) gen["eos_token_id"] = cfg.eos_token_ids;
    if (cfg.pad_token_id) gen["pad_token_id"] = *cfg.pad_token_id;

    write_file_atomically(dir.file("config.json"), dump_json(cfg.to_json(), "config.json", out_dir));
    write_file_atomically(dir.file("generation_config.json"), dump_json(gen, "generation_config.json", out_dir));
    write_file_atomically(dir.file("tokenizer.json"),
                          dump_json(tokenizer_json_from_gguf_vocab(vocab), "tokenizer.json", gguf_path));
    write_file_atomically(dir.file("tokenizer_config.json"),
                          dump_json(tokenizer_config_from_gguf_vocab(vocab), "tokenizer_config.json", gguf_path));
    progress.check_cancel();
    dir.commit();
    progress.report("convert " + gguf_path, 1, 1);
}

}  // namespace awq
