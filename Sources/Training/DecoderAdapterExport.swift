import Foundation
import Model

/// Saves a decoder's trained adapter as PEFT saves a `CAUSAL_LM` adapter — `adapter_config.json`
/// and `adapter_model.safetensors` (fp32) — so that
/// `PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(BASE), DIR)` (BASE the fp32 model
/// transformers builds from the GGUF file, or the Llama folder; for QLoRA loaded in 4-bit NF4)
/// scores and generates what evalharness does (`scripts/check_decoder_peft_roundtrip.py`).
/// Written to a temporary sibling folder, then renamed to `directory`, which must not exist yet.
public enum DecoderAdapterExport {
    /// `extraConfig` adds or overrides fields of the adapter's own config (how a prompt started).
    public static func save(_ adapter: any LlamaAdapter, config: LlamaConfig, baseModel: String,
                            extraConfig: [String: Any] = [:], to directory: URL) throws {
        try AdapterExport.writeStaged(to: directory) { staging in
            try SafeTensorsWriter.write(adapter.peftTensors(config: config), metadata: ["format": "pt"],
                                        to: staging.appendingPathComponent("adapter_model.safetensors"))
            var peftConfig = adapter.peftConfig(config: config)
            peftConfig["base_model_name_or_path"] = baseModel
            peftConfig.merge(extraConfig) { _, new in new }
            try AdapterExport.writeJSON(peftConfig, to: staging.appendingPathComponent("adapter_config.json"))
        }
    }
}
