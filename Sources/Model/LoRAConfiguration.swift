import Kernels

/// LoRA hyper-parameters, as PEFT's `LoraConfig`, for any backbone: the sites are the backbone's
/// own (`LinearSiteTable`), so one configuration type, one initialisation and one
/// `adapter_config.json` serve the encoder's and the decoder's LoRA.
public struct LoRAConfiguration: Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    public var dropout: Float
    public var targets: [LinearSite]

    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0, targets: [LinearSite]) throws(AdapterConfigurationError) {
        guard rank >= 1 else { throw AdapterConfigurationError("lora rank must be at least 1 (got \(rank))") }
        guard alpha > 0 else { throw AdapterConfigurationError("lora alpha must be positive (got \(alpha))") }
        guard dropout >= 0, dropout < 1 else { throw AdapterConfigurationError("lora dropout must be in [0, 1) (got \(dropout))") }
        guard !targets.isEmpty else { throw AdapterConfigurationError("lora target_modules must name at least one module") }
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
    }

    /// PEFT's scaling: alpha / r.
    public var scale: Float { alpha / Float(rank) }

    /// A's starting values for one site, `rank · in` floats into `a`: PEFT's Kaiming-uniform with
    /// a = √5, i.e. U(±1/√in). B starts at zero, so a fresh adapter is the base model exactly.
    /// Sites draw from one generator in (layer, target) order.
    public func initializeA(_ a: UnsafeMutablePointer<Float>, inFeatures: Int, generator: inout SeededGenerator) {
        let bound = 1 / Float(inFeatures).squareRoot()
        for i in 0..<(rank * inFeatures) { a[i] = bound * (2 * generator.nextUniform() - 1) }
    }

    /// PEFT 0.21's `adapter_config.json` for these adapters (no bias, plain alpha/r scaling) over
    /// the base at `baseModel`; a head to save is the caller's to add.
    public func peftConfig(taskType: String, baseModel: String) -> [String: Any] {
        ["peft_type": "LORA", "task_type": taskType, "base_model_name_or_path": baseModel, "r": rank, "lora_alpha": Double(alpha), "lora_dropout": Double(dropout),
         "target_modules": targets.map(\.name), "bias": "none", "fan_in_fan_out": false, "inference_mode": true,
         "init_lora_weights": true, "use_rslora": false, "use_dora": false]
    }
}
