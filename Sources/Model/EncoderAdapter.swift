/// The places an adapter plugs into the shared encoder. Full fine-tuning needs none (the base
/// weights are trainable); LoRA adds to linear outputs; QLoRA also supplies the base weights
/// (dequantised from NF4); prompt tuning supplies virtual-token vectors.
///
/// Linear sites are addressed by the base weight tensor and, for the fused query/key/value
/// weight, by the rows of it an adapter touches.
public protocol EncoderAdapter: AnyObject {
    /// Number of virtual tokens placed before [CLS] (0 for none).
    var promptLength: Int { get }
    /// (P, C) virtual-token vectors, or nil when `promptLength` is 0.
    var promptEmbeddings: UnsafePointer<Float>? { get }
    /// (P, C) gradient of `promptEmbeddings` (accumulated), or nil.
    var promptGradients: UnsafeMutablePointer<Float>? { get }

    /// The base weight of a linear layer, (out, in). Adapters that store the base in another form
    /// (NF4) materialise it here; others return `base`.
    func linearWeight(_ tensor: EncoderParameterLayout.Tensor, layer: Int, base: UnsafePointer<Float>) -> UnsafePointer<Float>

    /// Called after the base linear layer wrote `output` (rows, out): adds the adapter's term.
    /// `training` turns the adapter's own dropout on; `seed` makes it reproducible.
    func linearForward(_ tensor: EncoderParameterLayout.Tensor, layer: Int,
                       input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, rows: Int,
                       training: Bool, seed: UInt64)

    /// Backward of `linearForward`: accumulates the adapter's parameter gradients and adds its
    /// contribution to `dInput` (rows, in).
    func linearBackward(_ tensor: EncoderParameterLayout.Tensor, layer: Int,
                        input: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>,
                        dOutput: UnsafePointer<Float>, rows: Int)
}

extension EncoderAdapter {
    public var promptLength: Int { 0 }
    public var promptEmbeddings: UnsafePointer<Float>? { nil }
    public var promptGradients: UnsafeMutablePointer<Float>? { nil }
    public func linearWeight(_ tensor: EncoderParameterLayout.Tensor, layer: Int, base: UnsafePointer<Float>) -> UnsafePointer<Float> { base }
    public func linearForward(_ tensor: EncoderParameterLayout.Tensor, layer: Int,
                              input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, rows: Int,
                              training: Bool, seed: UInt64) {}
    public func linearBackward(_ tensor: EncoderParameterLayout.Tensor, layer: Int,
                               input: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>,
                               dOutput: UnsafePointer<Float>, rows: Int) {}
}

/// Dropout probabilities for a training forward pass, and the seed of this step's masks.
public struct DropoutSettings: Sendable, Equatable {
    public var hidden: Float
    public var attention: Float
    public var seed: UInt64

    public init(hidden: Float, attention: Float, seed: UInt64) {
        self.hidden = hidden
        self.attention = attention
        self.seed = seed
    }

    public static let off = DropoutSettings(hidden: 0, attention: 0, seed: 0)
}
