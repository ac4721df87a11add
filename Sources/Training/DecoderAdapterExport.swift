import Foundation
import Model

/// Saves a decoder's trained adapter as PEFT saves a `CAUSAL_LM` adapter — `adapter_config.json`
/// and `adapter_model.safetensors` (fp32) — so that
/// `PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(BASE), DIR)` (BASE the fp32 model
/// transformers builds from the GGUF file, or the Llama folder; for QLoRA loaded in 4-bit NF4)
/// scores and generates what evalharness does (`scripts/check_decoder_peft_roundtrip.py`); a LoRA
/// adapter is written a second time as llama.cpp's adapter GGUF (`adapter_model.gguf`,
/// `scripts/check_decoder_llamacpp_lora.py`).
/// Written to a temporary sibling folder, then renamed to `directory`, which must not exist yet.
public enum DecoderAdapterExport {
    /// A LoRA adapter also as llama.cpp loads one (`llama-cli -m MODEL.gguf --lora adapter_model.gguf`).
    public static let llamaCppFile = "adapter_model.gguf"

    public static func save(_ adapter: any LlamaAdapter, config: LlamaConfig, baseModel: String, to directory: URL) throws {
        try AdapterExport.writeStaged(to: directory) { staging in
            try SafeTensorsWriter.write(adapter.peftTensors(config: config), metadata: ["format": "pt"],
                                        to: staging.appendingPathComponent("adapter_model.safetensors"))
            try AdapterExport.writeJSON(adapter.peftConfig(config: config, baseModel: baseModel),
                                        to: staging.appendingPathComponent("adapter_config.json"))
            if let (metadata, tensors) = adapter.llamaCppAdapter(config: config) {
                try GGUFWriter.encode(metadata: metadata, tensors: tensors).write(to: staging.appendingPathComponent(llamaCppFile))
            }
        }
    }
}
